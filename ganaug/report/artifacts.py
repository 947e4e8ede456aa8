"""Reading what a job's `artifacts.json` points at: the prepared data, the GAN folder, the synthetic bank.

These live in the stage cache and may have been deleted since the sweep ran, so every reader returns
None (or nothing) when its files are absent instead of failing the whole report.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganaug.errors import GanaugError
from ganaug.fileio import read_json
from ganaug.synth.bank import SyntheticBank

CURVE_AXES = ("step", "epoch")


@dataclass
class Images:
    """uint8 images (N, C, H, W), their int labels, and the class names."""

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]


def _folder(artifacts: dict, key: str) -> Path | None:
    value = artifacts.get(key)
    return Path(value) if value and Path(value).is_dir() else None


def real_training_images(artifacts: dict) -> Images | None:
    """The prepared (imbalanced) training split, when `data_dir` still exists."""
    folder = _folder(artifacts, "data_dir")
    if folder is None or not (folder / "train.npz").is_file():
        return None
    names = [str(n) for n in read_json(folder / "classes.json")]
    try:
        with np.load(folder / "train.npz", allow_pickle=False) as f:
            return Images(np.asarray(f["images"]), np.asarray(f["labels"], dtype=np.int64), names)
    except (OSError, KeyError, ValueError) as exc:
        raise GanaugError(f"{folder / 'train.npz'}: not readable ({exc}); delete the folder and re-run") from None


def train_counts(artifacts: dict) -> tuple[list[str], list[int]] | None:
    """(class names, training images per class) of the prepared training split, when it still exists."""
    real = real_training_images(artifacts)
    if real is None:
        return None
    return real.class_names, np.bincount(real.labels, minlength=len(real.class_names)).tolist()


def generated_images(artifacts: dict) -> Images | None:
    """The synthetic bank the gan strategies drew from, when `bank_dir` still exists."""
    folder = _folder(artifacts, "bank_dir")
    if folder is None:
        return None
    bank = SyntheticBank.load(folder)
    return Images(bank.images, bank.labels, bank.class_names)


def final_samples_png(artifacts: dict) -> Path | None:
    """The GAN's last sample sheet (`samples/final.png`: per trained class, real and generated images), when
    it exists."""
    folder = _folder(artifacts, "gan_dir")
    path = folder / "samples" / "final.png" if folder else None
    return path if path is not None and path.is_file() else None


def trained_classes(artifacts: dict) -> list[int] | None:
    """The classes the GAN was conditioned on, from its exported generator.json."""
    folder = _folder(artifacts, "gan_dir")
    meta_path = folder / "generator" / "generator.json" if folder else None
    if meta_path is None or not meta_path.is_file():
        return None
    meta = read_json(meta_path)
    classes = meta.get("trained_classes") if isinstance(meta, dict) else None
    return [int(c) for c in classes] if isinstance(classes, list) else None


def training_logs(artifacts: dict) -> list[Path]:
    """CSV training logs under the GAN folder's `logs/` (Lightning's CSVLogger writes metrics.csv)."""
    folder = _folder(artifacts, "gan_dir")
    return sorted((folder / "logs").rglob("*.csv")) if folder and (folder / "logs").is_dir() else []


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_curves(path: Path) -> dict[str, tuple[list[float], list[float]]]:
    """{column: (x, y)} for every numeric column of a CSV log, x being its `step` column (else the row).

    Lightning's CSV rows leave the columns not logged at that step empty; those cells are skipped.
    """
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise GanaugError(f"{path}: not a readable CSV log ({exc}); delete it or re-train the GAN") from None
    curves: dict[str, tuple[list[float], list[float]]] = {}
    for i, row in enumerate(rows):
        x = _number(row.get("step") or "") if "step" in row else float(i)
        x = float(i) if x is None else x
        for column, cell in row.items():
            if column is None or column in CURVE_AXES:
                continue
            y = _number(cell or "")
            if y is not None:
                xs, ys = curves.setdefault(column, ([], []))
                xs.append(x)
                ys.append(y)
    return curves
