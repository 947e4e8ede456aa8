"""The typed rows a classifier run produces: its test metrics and the run's facts, as `metrics.json` holds them.

They are TypedDicts: plain JSON-ready dicts (what `metrics.json` stores and the report reads back), with
their layout written here once.
"""

from __future__ import annotations

from typing import Any, TypedDict


class ClassificationMetrics(TypedDict):
    """Scores of predictions against labels (see `classification_metrics`)."""

    accuracy: float
    balanced_accuracy: float
    macro_f1: float
    per_class_recall: list[float | None]
    rarest_class: int
    rarest_class_recall: float | None


class _MetricsRow(TypedDict):
    strategy: str
    seed: int
    accuracy: float
    balanced_accuracy: float
    macro_f1: float
    per_class_recall: list[float | None]
    rarest_class: int
    rarest_class_recall: float | None
    val_balanced_accuracy: float | None
    train_size: int
    synthetic_size: int
    fit_seconds: float


class MetricsRow(_MetricsRow, total=False):
    """One strategy's run: test metrics (ClassificationMetrics' keys), the validation score, the sizes of the
    training set and of its synthetic part, the fit's wall-clock seconds; `auto` adds its choice."""

    auto: dict[str, Any]
