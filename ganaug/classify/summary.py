"""Statistics of metrics over runs: mean and standard deviation per strategy, over seeds.

A metric a run could not measure (None: a class with no test images) is left out of that metric's mean
instead of counting as zero. This is the one home of the mean ± std that the run table, `summarize`, the
benchmark report, the settings search and `auto` all use.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TypedDict

from ganaug.classify.results import METRICS, VALIDATION_METRICS, MetricsRow
from ganaug.errors import GanaugError, checked, one_of


def mean_std(values: Iterable[float | None]) -> tuple[float | None, float | None, int]:
    """Mean, sample standard deviation (0 for one value) and count of the values that are not None."""
    present = [float(v) for v in values if v is not None]
    if not present:
        return None, None, 0
    std = statistics.stdev(present) if len(present) > 1 else 0.0
    return statistics.fmean(present), std, len(present)


class StrategySummary(TypedDict, total=False):
    """One strategy over a group of runs: how many, which seeds, and for each metric in METRICS its
    mean (`metric`), standard deviation (`metric_std`) and count (`metric_n`); per-class recall too."""

    strategy: str
    runs: int
    seeds: list[int]
    per_class_recall: list[float | None]
    per_class_recall_std: list[float | None]


def _per_class(group: Sequence[dict]) -> tuple[list[float | None], list[float | None]]:
    recalls = [r["per_class_recall"] for r in group if isinstance(r.get("per_class_recall"), list)]
    width = max((len(r) for r in recalls), default=0)
    stats = [mean_std([r[c] if c < len(r) else None for r in recalls]) for c in range(width)]
    return [s[0] for s in stats], [s[1] for s in stats]


def summarize(rows: Iterable[dict]) -> list[StrategySummary]:
    """Per strategy (in first-seen order): runs, seeds, each metric's mean, std and count, per-class recall."""
    by_strategy: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_strategy[row["strategy"]].append(row)
    out = []
    for strategy, group in by_strategy.items():
        entry: StrategySummary = {
            "strategy": strategy,
            "runs": len(group),
            "seeds": sorted({r["seed"] for r in group if r.get("seed") is not None}),
        }
        for metric in METRICS:
            mean, std, n = mean_std([r.get(metric) for r in group])
            entry.update({metric: mean, f"{metric}_std": std, f"{metric}_n": n})  # type: ignore[typeddict-item]
        entry["per_class_recall"], entry["per_class_recall_std"] = _per_class(group)
        out.append(entry)
    return out


@checked(metric=one_of(VALIDATION_METRICS, "validation metric"))
def optimized_value(
    rows: Sequence[MetricsRow], metric: str = "val_balanced_accuracy", strategy: str | None = None
) -> float:
    """The validation `metric` of `strategy`'s row (default: the last strategy run), for a sweeper to optimise:
    a validation score, never a test score, so a sweep cannot tune on the test split."""
    chosen = strategy if strategy is not None else rows[-1]["strategy"]
    row = next((r for r in rows if r["strategy"] == chosen), None)
    if row is None:
        raise GanaugError(
            f"optimized_strategy={chosen}: the run has no such strategy; name one of "
            f"{', '.join(r['strategy'] for r in rows)}"
        )
    value = row.get(metric)
    if value is None:
        raise GanaugError(
            f"optimized_metric={metric}: strategy {chosen} has no validation score (the data has no validation "
            "split); set a validation fraction (data.val_fraction) above 0"
        )
    return float(value)
