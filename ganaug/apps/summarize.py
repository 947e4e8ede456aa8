"""`python -m ganaug.apps.summarize DIR`: mean and standard deviation per strategy over a multirun."""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from ganaug.errors import GanaugError
from ganaug.fileio import read_json

METRICS = ("balanced_accuracy", "macro_f1", "accuracy", "rarest_class_recall")


def collect(sweep_dir: str | Path) -> list[dict]:
    """Every metrics row of every run under `sweep_dir` (a Hydra multirun or run folder)."""
    root = Path(sweep_dir)
    if not root.is_dir():
        raise GanaugError(f"{root}: folder not found; pass the multirun folder (hydra.sweep.dir)")
    rows = [row for path in sorted(root.rglob("metrics.json")) for row in read_json(path)]
    if not rows:
        raise GanaugError(f"{root}: no metrics.json below it; run `python -m ganaug -m ...` into it first")
    return rows


def summarize(rows: Sequence[dict]) -> list[dict]:
    """Per strategy: the number of seeds and each metric's mean and standard deviation."""
    by_strategy: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_strategy[row["strategy"]].append(row)
    out = []
    for strategy, group in by_strategy.items():
        entry: dict = {"strategy": strategy, "runs": len(group), "seeds": sorted({r["seed"] for r in group})}
        for metric in METRICS:
            values = [float(r[metric]) for r in group]
            entry[metric] = statistics.fmean(values)
            entry[f"{metric}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        out.append(entry)
    return out


def summary_table(summary: Sequence[dict]) -> str:
    """A Markdown table of mean ± standard deviation per strategy."""
    lines = [
        "| strategy | runs | " + " | ".join(METRICS) + " |",
        "|" + " --- |" * (len(METRICS) + 2),
    ]
    for s in summary:
        cells = [f"{s[m]:.4f} ± {s[f'{m}_std']:.4f}" for m in METRICS]
        lines.append(f"| {s['strategy']} | {s['runs']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the summary table of a sweep folder."""
    parser = argparse.ArgumentParser(prog="python -m ganaug.apps.summarize", description=__doc__)
    parser.add_argument("sweep_dir", help="a Hydra multirun folder (or any folder holding metrics.json files)")
    args = parser.parse_args(argv)
    try:
        print(summary_table(summarize(collect(args.sweep_dir))))
    except GanaugError as exc:
        print(f"ganaug: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
