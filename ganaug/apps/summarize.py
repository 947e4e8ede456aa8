"""`python -m ganaug.apps.summarize DIR`: mean and standard deviation per strategy over a multirun.

Runs are grouped by configuration (dataset, imbalance, any other setting the sweep varied), one table
per group. A metric a run could not measure (None: a class with no test images) is left out of that
metric's mean instead of counting as zero.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from ganaug.errors import GanaugError, print_error
from ganaug.report.runs import group_jobs, load_jobs

METRICS = ("balanced_accuracy", "macro_f1", "accuracy", "rarest_class_recall")


def collect(sweep_dir: str | Path) -> list[dict]:
    """Every metrics row of every run under `sweep_dir` (a Hydra multirun or run folder)."""
    return [row for job in load_jobs(sweep_dir) for row in job.rows]


def mean_std(values: Sequence[float | None]) -> tuple[float | None, float | None, int]:
    """Mean, sample standard deviation (0 for one value) and count of the values that are not None."""
    present = [float(v) for v in values if v is not None]
    if not present:
        return None, None, 0
    std = statistics.stdev(present) if len(present) > 1 else 0.0
    return statistics.fmean(present), std, len(present)


def _per_class(group: Sequence[dict]) -> tuple[list[float | None], list[float | None]]:
    recalls = [r["per_class_recall"] for r in group if isinstance(r.get("per_class_recall"), list)]
    width = max((len(r) for r in recalls), default=0)
    stats = [mean_std([r[c] if c < len(r) else None for r in recalls]) for c in range(width)]
    return [s[0] for s in stats], [s[1] for s in stats]


def summarize(rows: Sequence[dict]) -> list[dict]:
    """Per strategy (in first-seen order): runs, seeds, each metric's mean, std and count, per-class recall."""
    by_strategy: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_strategy[row["strategy"]].append(row)
    out = []
    for strategy, group in by_strategy.items():
        entry: dict = {
            "strategy": strategy,
            "runs": len(group),
            "seeds": sorted({r["seed"] for r in group if r.get("seed") is not None}),
        }
        for metric in METRICS:
            entry[metric], entry[f"{metric}_std"], entry[f"{metric}_n"] = mean_std([r.get(metric) for r in group])
        entry["per_class_recall"], entry["per_class_recall_std"] = _per_class(group)
        out.append(entry)
    return out


def format_mean_std(mean: float | None, std: float | None, digits: int = 4) -> str:
    """`mean ± std`, or `n/a` when nothing was measured."""
    if mean is None:
        return "n/a"
    return f"{mean:.{digits}f} ± {std or 0.0:.{digits}f}"


def summary_table(summary: Sequence[dict]) -> str:
    """A Markdown table of mean ± standard deviation per strategy."""
    lines = [
        "| strategy | runs | " + " | ".join(METRICS) + " |",
        "|" + " --- |" * (len(METRICS) + 2),
    ]
    for s in summary:
        cells = [format_mean_std(s[m], s[f"{m}_std"]) for m in METRICS]
        lines.append(f"| {s['strategy']} | {s['runs']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print one summary table per configuration of a sweep folder."""
    parser = argparse.ArgumentParser(prog="python -m ganaug.apps.summarize", description=__doc__)
    parser.add_argument("sweep_dir", help="a Hydra multirun folder (or any folder holding metrics.json files)")
    args = parser.parse_args(argv)
    try:
        groups = group_jobs(load_jobs(args.sweep_dir))
    except GanaugError as exc:
        print_error(exc)
        return 2
    for config, jobs in groups.items():
        if len(groups) > 1:
            print(f"\n{config.label}\n")
        print(summary_table(summarize([row for job in jobs for row in job.rows])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
