"""The typed rows a classifier run produces: its test metrics and the run's facts, as `metrics.json` holds them.

They are TypedDicts: plain JSON-ready dicts (what `metrics.json` stores and the report reads back), with
their layout written here once.
"""

from __future__ import annotations

from typing import Any, TypedDict

# The headline metrics of a run, in the order tables show them.
METRICS = ("balanced_accuracy", "macro_f1", "accuracy", "rarest_class_recall")
# The same metrics on the validation split: what sweeps and every choice are made on, never the test split's.
VALIDATION_METRICS = tuple(f"val_{m}" for m in METRICS)


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
    classifier: str
    accuracy: float
    balanced_accuracy: float
    macro_f1: float
    per_class_recall: list[float | None]
    rarest_class: int
    rarest_class_recall: float | None
    val_balanced_accuracy: float | None
    val_macro_f1: float | None
    val_accuracy: float | None
    val_rarest_class_recall: float | None
    train_size: int
    synthetic_size: int
    fit_seconds: float


class MetricsRow(_MetricsRow, total=False):
    """One strategy's run: the classifier's class (`module.Name`), its test metrics (ClassificationMetrics'
    keys), the same on the validation split (VALIDATION_METRICS, None without one), the sizes of the training
    set and of its synthetic part, the fit's wall-clock seconds; `auto` adds its choice."""

    auto: dict[str, Any]
