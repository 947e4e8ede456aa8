"""The ceiling of a GAN strategy on its data: the same strategy with real images in place of generated ones.

    python benchmarks/real_bank.py --data-root ../shared/data/mnist-t10k --strategy gan+ldam+drw+classical \
        --seeds 0,1,2,3,4,5,6,7,8,9
    python benchmarks/real_bank.py --seeds 0,1 experiment=quick          # on the bundled digits

The imbalance profile keeps a seeded subset of the source's training split; the images it leaves out are real
images of the same classes that no split holds. They become the bank, and --strategy (default
gan+classical) trains with the run's amounts (`imbalance.target`) and synthetic share as it does with the
GAN's bank, for each classifier seed, beside the strategy without its `gan` part. So the figure is what a
generator whose images cannot be told from the data would give: the room left above the GAN's figure is what
better generated images can still win, and the gain over the reference is the most that adding this many
images at this share can give. Prints a table and writes real_bank.json to --out: validation and test balanced
accuracy per seed (a reference measurement, like the balanced upper bound; nothing here is chosen). Other
arguments are Hydra overrides of the composed config (`--data-root DIR` as in gan_length.py).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from gan_length import (
    compose_config,
    parse_counts,
    reference_of,
    run_to_json,
    scoring_parser,
    strategy_row,
    summary,
    validated_flow,
)
from omegaconf import DictConfig

from ganaug.cli.sweeps import default_out
from ganaug.errors import GanaugError
from ganaug.flow.context import Flow
from ganaug.synth.bank import SyntheticBank

METRICS = ("val_balanced_accuracy", "balanced_accuracy")


def metrics(flow: Flow, strategy: str, seed: int, bank: SyntheticBank | None) -> dict[str, float]:
    """Validation and test balanced accuracy of the configured classifier trained with `strategy` and `seed`."""
    row = strategy_row(flow, strategy, seed, bank)
    return {m: float(row[m]) for m in METRICS}


def left_out_bank(flow: Flow, overrides: Sequence[str], data_root: str | None, directory: Path) -> SyntheticBank:
    """The real training images of the minority classes that the imbalance profile left out, as a bank."""
    prepared = flow.prepared
    whole = Flow(compose_config([*overrides, "imbalance=none"], data_root, None)).prepared.splits.train
    kept = {image.tobytes() for image in prepared.splits.train.images.numpy()}
    images, labels = whole.images.numpy(), whole.labels.numpy()
    left = [i for i, image in enumerate(images) if labels[i] in prepared.targets and image.tobytes() not in kept]
    short = {c: n for c, n in prepared.targets.items() if int((labels[left] == c).sum()) < n}
    if short:
        raise GanaugError(f"the profile left out fewer real images than the targets ask of classes {short}; "
                          "lower imbalance.target.fill_fraction or its counts")  # fmt: skip
    return SyntheticBank.from_arrays(images[left], labels[left], whole.class_names, directory)


def score(cfg: DictConfig, overrides: Sequence[str], data_root: str | None, strategy: str, seeds: list[int]) -> dict:
    """`strategy` with the left-out real images as its bank (in a temporary folder), and its reference without
    `gan`, per seed."""
    flow = validated_flow(cfg)
    reference = reference_of(strategy)
    with tempfile.TemporaryDirectory() as tmp:
        bank = left_out_bank(flow, overrides, data_root, Path(tmp) / "bank")
        rows = {name: [metrics(flow, name, s, bank if name == strategy else None) for s in seeds]
                for name in (strategy, reference)}  # fmt: skip
        bank_size = int(len(bank.labels))
    gains = {m: [a[m] - b[m] for a, b in zip(rows[strategy], rows[reference], strict=True)] for m in METRICS}
    return {
        "strategy": strategy,
        "seeds": seeds,
        "synthetic_counts": {str(c): n for c, n in flow.prepared.targets.items()},
        "synthetic_share": cfg.augment.synthetic_share,
        "bank_size": bank_size,
        **{name: {"rows": r, **{m: summary([x[m] for x in r]) for m in METRICS}} for name, r in rows.items()},
        "reference": reference,
        "gain": {m: summary(g) for m, g in gains.items()},
    }


def table(result: dict) -> str:
    """The Markdown table: the strategy with real images, its reference, and the paired gain."""
    ref, name = result["reference"], result["strategy"]

    def cells(stats: dict, sign: str = "") -> str:
        return " | ".join(f"{stats[m]['mean']:{sign}.4f} ± {stats[m]['std']:.4f}" for m in METRICS)

    return "\n".join([
        "| strategy | validation | test |",
        "| --- | --- | --- |",
        f"| {name}, real images as its bank | {cells(result[name])} |",
        f"| {ref} (reference) | {cells(result[ref])} |",
        f"| paired gain | {cells(result['gain'], '+')} |",
    ])  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Score the strategy with real images, print the table, write real_bank.json; bad input is one line, exit 2."""
    parser = scoring_parser(__doc__, "real_bank.json")
    args = parser.parse_intermixed_args(argv)

    def compute() -> dict:
        seeds = parse_counts(args.seeds, "--seeds")
        reference_of(args.strategy, "--strategy")
        cfg = compose_config(args.overrides, args.data_root, None)
        return score(cfg, args.overrides, args.data_root, args.strategy, seeds)

    return run_to_json(Path(args.out) if args.out else default_out("real-bank"), "real_bank.json", compute, table)


if __name__ == "__main__":
    sys.exit(main())
