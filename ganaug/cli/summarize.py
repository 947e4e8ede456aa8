"""`python -m ganaug.cli.summarize DIR`: mean and standard deviation per strategy over a multirun.

Runs are grouped by configuration (dataset, imbalance, any other setting the sweep varied), one table
per group. A metric a run could not measure (None: a class with no test images) is left out of that
metric's mean instead of counting as zero.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ganaug.classify.summary import summarize
from ganaug.cli.runner import one_line_errors
from ganaug.report.runs import group_jobs, load_jobs
from ganaug.report.table import summary_table


def main(argv: Sequence[str] | None = None) -> int:
    """Print one summary table per configuration of a sweep folder."""
    parser = argparse.ArgumentParser(prog="python -m ganaug.cli.summarize", description=__doc__)
    parser.add_argument("sweep_dir", help="a Hydra multirun folder (or any folder holding metrics.json files)")
    args = parser.parse_args(argv)
    with one_line_errors():
        groups = group_jobs(load_jobs(args.sweep_dir))
    for config, jobs in groups.items():
        if len(groups) > 1:
            print(f"\n{config.label}\n")
        print(summary_table(summarize([row for job in jobs for row in job.rows])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
