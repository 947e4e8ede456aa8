"""The one Markdown table renderer, the metric columns every table shows, and how numbers are written.

The run's comparison table, `summarize`, the benchmark report, the settings search and `auto`'s candidate
table are all built with `markdown_table`, so they share one layout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ganaug.classify.results import METRICS
from ganaug.classify.summary import StrategySummary

TITLES = {
    "balanced_accuracy": "balanced acc",
    "macro_f1": "macro F1",
    "accuracy": "accuracy",
    "rarest_class_recall": "rarest recall",
}


def format_mean_std(mean: float | None, std: float | None, digits: int = 4) -> str:
    """`mean ± std`, or `n/a` when nothing was measured."""
    if mean is None:
        return "n/a"
    return f"{mean:.{digits}f} ± {std or 0.0:.{digits}f}"


def format_number(value: object, digits: int = 4) -> str:
    """A float with `digits` decimals, None as `n/a`, anything else as it prints."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table: the header, the rule, one line per row (cells as `str` gives them)."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def run_table(rows: Sequence[Mapping]) -> str:
    """One line per strategy of a run: its seed, the metrics and the synthetic samples it trained with."""
    header = ["strategy", "seed", *(TITLES[m] for m in METRICS), "synthetic"]
    body = [
        [row.get("strategy", ""), row.get("seed", ""), *(_cell(row, m) for m in METRICS), row.get("synthetic_size", "")]
        for row in rows
    ]
    return markdown_table(header, body)


def _cell(row: Mapping, key: str) -> str:
    return format_number(row[key]) if key in row else ""


def summary_table(summary: Sequence[StrategySummary]) -> str:
    """Mean ± standard deviation of every metric per strategy, over the runs of a group."""
    header = ["strategy", "runs", *(TITLES[m] for m in METRICS)]
    body = [
        [s["strategy"], s["runs"], *(format_mean_std(s[m], s[f"{m}_std"]) for m in METRICS)]  # type: ignore[literal-required]
        for s in summary
    ]
    return markdown_table(header, body)
