"""The comparison table printed at the end of a run."""

from __future__ import annotations

from collections.abc import Sequence

COLUMNS = (
    ("strategy", "strategy", "{}"),
    ("seed", "seed", "{}"),
    ("accuracy", "accuracy", "{:.4f}"),
    ("balanced_accuracy", "balanced acc", "{:.4f}"),
    ("macro_f1", "macro F1", "{:.4f}"),
    ("rarest_class_recall", "rarest recall", "{:.4f}"),
    ("synthetic_size", "synthetic", "{}"),
)


def metrics_table(rows: Sequence[dict]) -> str:
    """A Markdown table with one line per strategy's metrics."""
    header = "| " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    rule = "|" + "|".join(" --- " for _ in COLUMNS) + "|"
    lines = [header, rule]
    for row in rows:
        cells = [fmt.format(row[key]) if key in row else "" for key, _, fmt in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
