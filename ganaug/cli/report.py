"""`python -m ganaug.cli.report SWEEP_DIR [--out DIR]`: the benchmark report of a Hydra multirun.

Reads every job folder below SWEEP_DIR (metrics.json, .hydra/config.yaml, .hydra/overrides.yaml,
artifacts.json, quality.json), groups the runs by configuration and writes report.md with PNG figures.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ganaug.cli.runner import one_line_errors
from ganaug.report.build import build_report


def main(argv: Sequence[str] | None = None) -> int:
    """Write the report; a bad folder or a missing extra is one line on stderr and exit code 2."""
    parser = argparse.ArgumentParser(prog="python -m ganaug.cli.report", description=__doc__)
    parser.add_argument("sweep_dir", help="a Hydra multirun folder (hydra.sweep.dir), or a folder of them")
    parser.add_argument("--out", help="folder for report.md and the figures (default: SWEEP_DIR/report)")
    parser.add_argument("--no-figures", action="store_true", help="write report.md only (no matplotlib needed)")
    args = parser.parse_args(argv)
    with one_line_errors():
        path = build_report(args.sweep_dir, args.out, with_figures=not args.no_figures)
    print(f"report written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
