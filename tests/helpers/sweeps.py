"""Writing synthetic Hydra sweep folders with known numbers, for the report's tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganaug.data.dataset import DatasetSplits, ImageDataset
from ganaug.synth.bank import SyntheticBank

CLASSES = 4


def row(
    strategy: str,
    seed: int,
    bacc: float,
    recall: Sequence[float | None] | None = None,
    rarest_recall: float | None = 0.5,
) -> dict:
    """A metrics row as `python -m ganaug` writes it (4 classes, class 3 the rarest)."""
    return {
        "strategy": strategy,
        "seed": seed,
        "accuracy": bacc,
        "balanced_accuracy": bacc,
        "macro_f1": bacc,
        "per_class_recall": list(recall) if recall is not None else [bacc] * CLASSES,
        "rarest_class": CLASSES - 1,
        "rarest_class_recall": rarest_recall,
    }


def write_job(
    folder: Path,
    rows: list[dict],
    *,
    profile: str = "exponential",
    ratio: float = 100.0,
    overrides: Sequence[str] = (),
    artifacts: dict | None = None,
    quality: dict | None = None,
) -> Path:
    """A job folder: metrics.json, .hydra/config.yaml and overrides.yaml, optional artifacts/quality."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(rows))
    (folder / ".hydra" / "config.yaml").write_text(
        "data:\n  _target_: ganaug.data.sources.load_digits\n  val_fraction: 0.15\n"
        f"imbalance:\n  profile: {profile}\n  ratio: {ratio}\nseed: {rows[0]['seed']}\n"
        "cache_dir: ${oc.env:SOME_UNSET_VARIABLE_FOR_TEST}\n"
    )
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if artifacts is not None:
        (folder / "artifacts.json").write_text(json.dumps(artifacts))
    if quality is not None:
        (folder / "quality.json").write_text(json.dumps(quality))
    return folder


CLASSICAL_100 = [0.90, 0.91, 0.92, 0.93, 0.94]  # mean 0.92, std 0.015811
GAN_100 = [0.95, 0.96, 0.96, 0.96, 0.97]  # mean 0.96, std 0.007071
GAN_10 = [0.92, 0.93, 0.93, 0.93, 0.94]  # mean 0.93: within two std of classical
UPPER = [0.98] * 5


def write_sweep(root: Path, artifacts: dict | None = None, quality: dict | None = None) -> Path:
    """Ratio 100 (gan+classical beats classical), ratio 10 (it does not) and the balanced upper bound."""
    for i, seed in enumerate(range(5)):
        weak = [0.8] * CLASSES
        for ratio, gan in ((100, GAN_100), (10, GAN_10)):
            rows = [
                row("none", seed, 0.80, weak),
                row("oversample", seed, 0.85),
                row("classical", seed, CLASSICAL_100[i]),
                row("gan+classical", seed, gan[i]),
            ]
            write_job(
                root / "long_tail" / f"{ratio}-{seed}",
                rows,
                ratio=ratio,
                overrides=[f"imbalance.ratio={ratio}", f"seed={seed}"],
                artifacts=artifacts,
                quality=quality,
            )
        write_job(
            root / "upper_bound" / str(seed),
            [row("none", seed, UPPER[i])],
            profile="none",
            overrides=["imbalance=none", "augment=none", f"seed={seed}"],
        )
    return root


def write_artifacts(root: Path, with_bank: bool = True, with_log: bool = True) -> dict:
    """A prepared data folder, a GAN folder (samples/final.png, logs/.../metrics.csv) and a bank."""
    gen = torch.Generator().manual_seed(0)
    counts = [12, 8, 5, 2]
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])
    images = torch.randint(0, 256, (len(labels), 1, 8, 8), generator=gen, dtype=torch.uint8)
    names = ["zero", "one", "two", "three"]
    train = ImageDataset(images, labels, names)
    DatasetSplits(train, train, train).save(root / "data")
    gan = root / "gan"
    (gan / "samples").mkdir(parents=True)
    Image.fromarray(np.full((20, 80, 3), 200, dtype=np.uint8)).save(gan / "samples" / "final.png")
    (gan / "generator").mkdir()
    (gan / "generator" / "generator.json").write_text(json.dumps({"trained_classes": [2, 3]}))
    if with_log:
        log = gan / "logs" / "version_0"
        log.mkdir(parents=True)
        (log / "metrics.csv").write_text("d_loss,epoch,g_loss,step\n1.5,0,,0\n,0,0.7,0\n1.2,0,0.9,10\nnan,0,,20\n")
    out = {"data_dir": str(root / "data"), "gan_dir": str(gan)}
    if with_bank:
        bank_labels = np.array([2] * 6 + [3] * 9, dtype=np.int64)
        bank_images = np.random.default_rng(0).integers(0, 256, (15, 1, 8, 8), dtype=np.uint8)
        SyntheticBank.from_arrays(bank_images, bank_labels, names, root / "bank")
        out["bank_dir"] = str(root / "bank")
    return out
