"""`python -m ganaug.cli.tune`: choose GAN and mixing settings on the validation split, never the test split.

    python -m ganaug.cli.tune --data-root ../shared/data/mnist-t10k --ratios 100 --seeds 2 \\
        imbalance.target.fill_fraction=0.1,0.3,1.0 gan.gate.enabled=false,true
    python -m ganaug.cli.tune --from multirun/tune-DATE    # choose from a sweep that already ran

Runs the tuned strategy (default gan+classical) over every combination of the swept overrides (Hydra
sweep syntax: key=a,b,c) and seeds 0..N-1, and the reference classical strategies once per seed with the
overrides that concern them. Then ranks the combinations by mean validation balanced accuracy (the
validation split is carved from the training pool; test metrics are not read), prints one table per
dataset and imbalance, and writes OUT/tuning.md and OUT/tuning.json with the chosen overrides. Pass those
overrides to `python -m ganaug.cli.benchmark` (or make them a config's defaults) to measure the choice
on the test split.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ganaug.classify.parts import CLASSICAL_STRATEGIES, GAN_STRATEGIES
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
from ganaug.fileio import atomic_path, write_json
from ganaug.report.runs import load_jobs
from ganaug.report.selection import Selection, select_settings, selection_table

_OWNED = {
    "seed": "--seeds N",
    "imbalance.ratio": "--ratios R1,R2",
    "hydra.sweep.dir": "--out DIR",
    "augment": "--strategy NAME",
    "augment.strategies": "--strategy NAME and --reference NAMES",
}
# Settings that only the generated samples depend on: the classical reference runs leave them out.
_SYNTHETIC_ONLY = (
    "gan",
    "imbalance.target",
    "imbalance.minority",
    "quality",
    "augment.synthetic_weight",
    "augment.synthetic_share",
    "augment.auto",
)


@dataclass
class TunePlan:
    """The multiruns to launch (each an argv) and the folder they write to."""

    sweeps: list[list[str]]
    out: Path


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in CLASSICAL_STRATEGIES]
    if not names or unknown:
        raise GanaugError(
            f"--reference {text}: give classical strategies among {', '.join(CLASSICAL_STRATEGIES)}, comma-separated"
        )
    return names


def plan(
    overrides: Sequence[str],
    *,
    out: Path,
    data_root: str | None = None,
    seeds: int = 2,
    ratios: Sequence[str] | None = ("100",),
    strategy: str = "gan+classical",
    reference: Sequence[str] = ("classical",),
    python: str = sys.executable,
) -> TunePlan:
    """The candidate multirun (the tuned strategy over the swept overrides) and the reference multirun."""
    if strategy not in GAN_STRATEGIES:
        raise GanaugError(f"--strategy {strategy}: tune one of {', '.join(GAN_STRATEGIES)}")
    check_overrides(overrides, _OWNED)
    if ratios is not None and "imbalance=none" in overrides:
        raise GanaugError("imbalance=none conflicts with --ratios; use --ratios none to keep the data as it is")
    keys = {override_key(o) for o in overrides}
    common = [
        *multirun(python),
        *data_root_overrides(data_root, keys),
        "imbalance=none" if ratios is None else f"imbalance.ratio={','.join(ratios)}",
        seed_list(seeds),
    ]
    out = out.expanduser().resolve()
    sweeps = [
        [
            *common,
            f"augment.strategies=[{strategy}]",
            *overrides,
            f"hydra.sweep.dir={hydra_value(str(out / 'candidates'))}",
        ]
    ]
    if reference:
        shared = [o for o in overrides if not override_key(o).startswith(_SYNTHETIC_ONLY)]
        sweeps.append(
            [
                *common,
                f"augment.strategies=[{','.join(reference)}]",
                *shared,
                f"hydra.sweep.dir={hydra_value(str(out / 'reference'))}",
            ]
        )
    return TunePlan(sweeps=sweeps, out=out)


def write_selection(selections: Sequence[Selection], out: Path) -> str:
    """Write tuning.md and tuning.json into `out` (atomically); return the Markdown."""
    parts = ["# Settings chosen on the validation split", ""]
    for s in selections:
        chosen = " ".join(s.best.settings) or "(the configuration as given)"
        parts += [f"## {s.label}", "", selection_table(s), "", f"Chosen: `{chosen}`", ""]
    text = "\n".join(parts)
    with atomic_path(out / "tuning.md") as tmp:
        tmp.write_text(text)
    write_json(out / "tuning.json", [s.to_json() for s in selections])
    return text


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = sweep_parser("python -m ganaug.cli.tune", __doc__, seeds=2, ratios="100", out="the sweeps and tuning.md")
    parser.add_argument("--strategy", default="gan+classical", help="the strategy whose settings are chosen")
    parser.add_argument(
        "--reference",
        default="classical",
        help="classical strategies run once per seed for the gain column (default classical)",
    )
    parser.add_argument("--no-reference", action="store_true", help="skip the reference runs")
    parser.add_argument("--from", dest="from_dir", help="choose from this finished sweep folder; run nothing")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sweeps (unless --from), choose, write; bad input is one line on stderr and exit code 2."""
    args = _arguments(argv)
    with one_line_errors():
        strategy = args.strategy
        if args.from_dir:
            if args.overrides:
                raise GanaugError("--from reads a finished sweep; drop the overrides (they were the sweep's)")
            out = Path(args.from_dir)
        else:
            reference = [] if args.no_reference else _names(args.reference)
            steps = plan(
                args.overrides,
                out=Path(args.out) if args.out else default_out("tune"),
                data_root=args.data_root,
                seeds=args.seeds,
                ratios=parse_ratios(args.ratios),
                strategy=strategy,
                reference=reference,
            )
            if args.dry_run:
                for sweep in steps.sweeps:
                    print(shlex.join(sweep))
                return 0
            check_fresh(steps.out)
            run_sweeps(steps.sweeps, "tune")
            out = steps.out
        text = write_selection(select_settings(load_jobs(out), strategy), out)
    print(text)
    print(f"written to {out / 'tuning.md'} and {out / 'tuning.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
