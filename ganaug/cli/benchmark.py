"""`python -m ganaug.cli.benchmark`: the MNIST-LT protocol of docs/benchmark.md (or the same on your data)
as Hydra multiruns, then its report.

    python -m ganaug.cli.benchmark --data-root ../shared/data/mnist-t10k      # MNIST-LT, 5 seeds
    python -m ganaug.cli.benchmark data=npz data.path=my.npz --ratios none      # your imbalanced data
    python -m ganaug.cli.benchmark --seeds 2 --ratios 10 experiment=quick      # a smoke run on digits

Runs every strategy (with `--with-auto`, `auto` too) for each imbalance ratio and seed (one multirun;
each distinct GAN is trained once), then the upper bound (strategy none on the training split left
balanced, `imbalance=none`) on the same seeds, then writes OUT/report/report.md. Extra arguments are
Hydra overrides given to every job.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ganaug.cli.runner import one_line_errors
from ganaug.cli.sweeps import (
    check_fresh,
    check_overrides,
    data_root_overrides,
    default_out,
    hydra_value,
    multirun,
    override_key,
    parse_ratios,
    run_sweeps,
    seed_list,
    sweep_parser,
)
from ganaug.errors import GanaugError
from ganaug.report.build import build_report

# Overrides the command sets itself from its options, and the option to use instead.
_OWNED = {"seed": "--seeds N", "imbalance.ratio": "--ratios R1,R2", "hydra.sweep.dir": "--out DIR"}
DEFAULT_RATIOS = ("100", "10")


@dataclass
class Plan:
    """The multiruns to launch (each an argv) and where the sweep and the report go."""

    sweeps: list[list[str]]
    out: Path
    report_dir: Path


def plan(
    overrides: Sequence[str],
    *,
    data_root: str | None = None,
    seeds: int = 5,
    ratios: Sequence[str] | None = DEFAULT_RATIOS,
    out: Path,
    upper_bound: bool = True,
    with_auto: bool = False,
    python: str = sys.executable,
) -> Plan:
    """The multirun command lines of the protocol, for the given data and extra overrides."""
    check_overrides(overrides, _OWNED)
    if ratios is not None and "imbalance=none" in overrides:
        raise GanaugError("imbalance=none conflicts with --ratios; use --ratios none to keep the data as it is")
    keys = {override_key(o) for o in overrides}
    base = data_root_overrides(data_root, keys)
    seeds_override = seed_list(seeds)
    if keys & {"augment", "augment.strategies"}:
        if with_auto:
            raise GanaugError("--with-auto adds auto to augment=all; drop your augment override or add auto to it")
        strategies = []
    else:
        strategies = ["augment=all+auto" if with_auto else "augment=all"]
    command = multirun(python)
    out = out.expanduser().resolve()
    if ratios is None:
        sweeps = [[*command, *base, "imbalance=none", *strategies, seeds_override, *overrides,
                   f"hydra.sweep.dir={hydra_value(str(out / 'as_given'))}"]]
    else:
        sweeps = [[*command, *base, f"imbalance.ratio={','.join(ratios)}", *strategies, seeds_override, *overrides,
                   f"hydra.sweep.dir={hydra_value(str(out / 'long_tail'))}"]]
        if upper_bound:
            shared = [o for o in overrides if not override_key(o).startswith(("imbalance", "augment"))]
            sweeps.append([*command, *base, "imbalance=none", "augment=none", seeds_override, *shared,
                           f"hydra.sweep.dir={hydra_value(str(out / 'upper_bound'))}"])
    return Plan(sweeps=sweeps, out=out, report_dir=out / "report")


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = sweep_parser("python -m ganaug.cli.benchmark", __doc__, seeds=5, ratios=",".join(DEFAULT_RATIOS),
                          out="the sweeps and the report")
    parser.add_argument("--no-upper-bound", action="store_true", help="skip the balanced upper-bound runs")
    parser.add_argument("--with-auto", action="store_true", help="run the auto strategy too (augment=all+auto)")
    parser.add_argument("--no-figures", action="store_true", help="write report.md only (no matplotlib needed)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sweeps one after the other, then write the report; bad input is one line and exit code 2."""
    args = _arguments(argv)
    out = Path(args.out) if args.out else default_out("benchmark")
    with one_line_errors():
        if not args.no_figures and not args.dry_run:
            from ganaug.report.figures import require_matplotlib

            require_matplotlib()
        steps = plan(args.overrides, data_root=args.data_root, seeds=args.seeds, ratios=parse_ratios(args.ratios),
                     out=out, upper_bound=not args.no_upper_bound, with_auto=args.with_auto)
        report = ["python", "-m", "ganaug.cli.report", str(steps.out), "--out", str(steps.report_dir)]
        if args.dry_run:
            for argv_ in [*steps.sweeps, report + (["--no-figures"] if args.no_figures else [])]:
                print(shlex.join(argv_))
            return 0
        check_fresh(steps.out)
        run_sweeps(steps.sweeps, "benchmark")
        path = build_report(steps.out, steps.report_dir, with_figures=not args.no_figures)
    print(f"report written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
