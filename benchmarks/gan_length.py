"""How long to train the GAN, chosen on the validation split (docs/benchmark.md: never on the test split).

    python benchmarks/gan_length.py --data-root ../shared/data/mnist-t10k          # the experiment's snapshots
    python benchmarks/gan_length.py --data-root ../shared/data/mnist-t10k --steps 2500,5000,7500,10000,15000
    python benchmarks/gan_length.py --data-root DIR --strategy gan+ldam+drw+classical --seeds 0,1,2,3,4
    python benchmarks/gan_length.py --steps 300,600,1200 experiment=quick      # on the bundled digits

Trains the configured GAN once, through the run's cache (the main job's and the benchmark's run of the same
config is reused), with a snapshot of its sampling (EMA) generator at every length: the config's
`gan.snapshots`, or --steps (the run trains to the largest; a run of S steps is the first S steps of the
longer run: the same seed, the same batches, constant learning rates). Each snapshot's bank (the run's
amounts) feeds --strategy (default gan+classical, the run's synthetic share), which is scored on the
validation split for each seed beside the strategy without its `gan` part, the reference. Prints a table and
writes gan_length.json to --out; test metrics are never read. Other arguments are Hydra overrides of the
composed config (`--data-root DIR` stands for experiment=mnist_lt data=mnist data.root=DIR).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from ganaug.classify.parts import GAN_STRATEGY, is_synthetic, parse_strategy
from ganaug.classify.results import MetricsRow
from ganaug.classify.training import train_and_evaluate
from ganaug.cli.config import config_dir
from ganaug.cli.config.validate import validate
from ganaug.cli.runner import VERSION_BASE, print_error
from ganaug.cli.sweeps import data_root_overrides, default_out, override_key
from ganaug.errors import GanaugError
from ganaug.fileio import write_json
from ganaug.flow.context import Flow
from ganaug.flow.settings import classifier_recipe
from ganaug.flow.stages import GanStage
from ganaug.synth.bank import SyntheticBank


def reference_of(strategy: str, what: str = "strategy") -> str:
    """The strategy without its `gan` part ('gan+la+classical' -> 'la+classical'; 'gan' -> 'none'); `what`
    names the option that gave it in the error a strategy without a `gan` part raises."""
    if not is_synthetic(strategy):
        raise GanaugError(f"{what} {strategy}: not a GAN strategy; give one with a gan part (gan+...)")
    parse_strategy(strategy)
    rest = [p for p in strategy.split("+") if p != "gan"]
    return "+".join(rest) or "none"


def parse_counts(text: str, what: str) -> list[int]:
    """'2500,5000' -> [2500, 5000]: positive whole numbers (steps) or whole numbers >= 0 (seeds)."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    least = 1 if what == "--steps" else 0
    if not values or any(v < least for v in values) or len(set(values)) != len(values):
        raise GanaugError(f"{what} {text}: give distinct comma-separated whole numbers of at least {least}")
    return sorted(values)


def compose_config(overrides: Sequence[str], data_root: str | None, steps: int | None) -> DictConfig:
    """The validated config of the main job with `overrides`, the GAN trained for `steps` updates (None: the
    configured number). Its fits keep no curves unless a `logger` is chosen: composed outside a Hydra run,
    the loggers would write into the working directory."""
    if steps is not None and any(override_key(o) == "gan.steps" for o in overrides):
        raise GanaugError("gan.steps is set by --steps; give the step counts to score there")
    keys = {override_key(o) for o in overrides}
    base = [*data_root_overrides(data_root, keys), *([] if "logger" in keys else ["logger=none"])]
    length = [] if steps is None else [f"gan.steps={steps}"]
    with initialize_config_dir(str(config_dir()), version_base=VERSION_BASE):
        cfg = compose("config", overrides=[*base, *overrides, *length])
    validate(cfg)
    return cfg


def length_config(overrides: Sequence[str], data_root: str | None, steps: list[int] | None) -> DictConfig:
    """The composed config whose GAN run has a snapshot at each of `steps` (trained to the largest), or (None)
    the configured run and its `gan.snapshots`."""
    if steps is None:
        return compose_config(overrides, data_root, None)
    if any(override_key(o) == "gan.snapshots" for o in overrides):
        raise GanaugError("gan.snapshots is set by --steps; give the step counts to score there")
    fractions = ",".join(repr(s / steps[-1]) for s in steps)
    return compose_config([*overrides, f"gan.snapshots=[{fractions}]"], data_root, steps[-1])


def validated_flow(cfg: DictConfig) -> Flow:
    """The run context of `cfg`, refused when its data has no validation split to score on."""
    flow = Flow(cfg)
    if len(flow.prepared.splits.val) == 0:
        raise GanaugError("the data has no validation split; set data.val_fraction above 0 to choose on it")
    return flow


def strategy_row(flow: Flow, strategy: str, seed: int, bank: SyntheticBank | None) -> MetricsRow:
    """The metrics row (validation and test) of the configured classifier trained with `strategy` and `seed`,
    with `bank` at the run's synthetic targets."""
    prepared = flow.prepared
    settings = {**classifier_recipe(flow.cfg, prepared.splits.train.image_shape).kwargs(), "seed": seed}
    return train_and_evaluate(
        strategy,
        prepared.splits,
        bank=bank,
        synthetic_counts=prepared.targets if bank is not None else None,
        **settings,
    )


def val_score(flow: Flow, strategy: str, seed: int, bank: SyntheticBank | None) -> float:
    """Validation balanced accuracy of the configured classifier trained with `strategy` and `seed`."""
    return float(strategy_row(flow, strategy, seed, bank)["val_balanced_accuracy"])


def summary(scores: list[float]) -> dict:
    """Mean and standard deviation (0 for a single score) of validation scores."""
    return {"mean": statistics.fmean(scores), "std": statistics.stdev(scores) if len(scores) > 1 else 0.0}


def score_lengths(cfg: DictConfig, strategy: str, seeds: list[int]) -> dict:
    """Train the GAN run once (or read it from the cache), then score `strategy` with each snapshot's bank and
    its reference without the GAN, per seed, on validation."""
    flow = validated_flow(cfg)
    prepared = flow.prepared
    start = time.perf_counter()
    gan_dir = flow.output(GanStage)
    gan_seconds = time.perf_counter() - start
    reference = reference_of(strategy)
    reference_scores = [val_score(flow, reference, s, None) for s in seeds]
    rows = []
    for step, bank in flow.snapshot_banks().items():
        scores = [val_score(flow, strategy, s, bank) for s in seeds]
        gains = [a - b for a, b in zip(scores, reference_scores, strict=True)]
        rows.append({"steps": step, "scores": scores, **summary(scores), "gain": summary(gains)})
    return {
        "strategy": strategy,
        "seeds": seeds,
        "gan_dir": str(gan_dir),
        "gan_seconds": round(gan_seconds, 1),
        "synthetic_counts": {str(c): n for c, n in prepared.targets.items()},
        "synthetic_share": cfg.augment.synthetic_share,
        "reference": {"strategy": reference, "scores": reference_scores, **summary(reference_scores)},
        "lengths": rows,
    }


def table(result: dict) -> str:
    """The Markdown table of validation balanced accuracy per GAN length, the reference last."""
    ref = result["reference"]
    lines = [
        f"| GAN steps | {result['strategy']} (validation) | paired gain over {ref['strategy']} |",
        "| --- | --- | --- |",
        *(
            f"| {r['steps']} | {r['mean']:.4f} ± {r['std']:.4f} | {r['gain']['mean']:+.4f} ± {r['gain']['std']:.4f} |"
            for r in result["lengths"]
        ),
        f"| {ref['strategy']} (reference) | {ref['mean']:.4f} ± {ref['std']:.4f} | |",
    ]
    return "\n".join(lines)


def scoring_parser(doc: str | None, filename: str) -> argparse.ArgumentParser:
    """The arguments a script that scores a GAN strategy on the composed config takes."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", help="MNIST IDX folder: experiment=mnist_lt data=mnist data.root=DIR")
    parser.add_argument("--strategy", default=GAN_STRATEGY, help=f"the GAN strategy scored (default {GAN_STRATEGY})")
    parser.add_argument("--seeds", default="0,1", help="classifier seeds (default 0,1)")
    parser.add_argument("--out", help=f"folder for {filename}")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of the composed config")
    return parser


def run_to_json(out: Path, filename: str, compute: Callable[[], dict], render: Callable[[dict], str]) -> int:
    """A scoring script's run: refuse a non-empty `out`, `compute` the result, write it to OUT/filename and print
    `render(result)`; bad input is one line and exit code 2, with nothing written."""
    try:
        if out.exists() and any(out.iterdir()):
            raise GanaugError(f"--out {out}: not empty; pass a new folder")
        result = compute()
    except (GanaugError, HydraException, OmegaConfBaseException) as exc:
        print_error(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return 2
    write_json(out / filename, result)
    print(render(result))
    print(f"written to {out / filename}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Score the lengths, print the table, write gan_length.json; bad input is one line and exit code 2."""
    parser = scoring_parser(__doc__, "gan_length.json")
    parser.add_argument("--steps", help="GAN step counts to score, comma-separated (default: gan.snapshots)")
    args = parser.parse_intermixed_args(argv)

    def compute() -> dict:
        steps = parse_counts(args.steps, "--steps") if args.steps is not None else None
        seeds = parse_counts(args.seeds, "--seeds")
        reference_of(args.strategy, "--strategy")
        return score_lengths(length_config(args.overrides, args.data_root, steps), args.strategy, seeds)

    return run_to_json(Path(args.out) if args.out else default_out("gan-length"), "gan_length.json", compute, table)


if __name__ == "__main__":
    sys.exit(main())
