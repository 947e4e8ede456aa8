"""The report's PNG figures: per-class recall by strategy, generated samples next to real ones, GAN
training curves.

matplotlib is an optional extra (`pip install ganaug[plot]`): it is imported only when a figure is
drawn, through matplotlib's object interface (no pyplot state, no backend switching), and every file
is written atomically.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ganaug.errors import GanaugError
from ganaug.fileio import atomic_path
from ganaug.report.artifacts import Images

MISSING_MATPLOTLIB = (
    "matplotlib is not installed and the report's figures need it; "
    "install it with `pip install ganaug[plot]` (or pass --no-figures)"
)


def require_matplotlib() -> None:
    """Fail with one line naming the install command when matplotlib cannot be imported."""
    _figure_class()


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise GanaugError(MISSING_MATPLOTLIB) from None
    return Figure


def _save(fig: Any, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    return path


def recall_figure(
    path: Path, summary: Sequence[dict], class_labels: Sequence[str], title: str
) -> Path:
    """Grouped bars: mean per-class test recall (± std over seeds) of every strategy, one group per class."""
    fig = _figure_class()(figsize=(max(6.0, 0.9 * len(class_labels) + 2), 3.8))
    ax = fig.subplots()
    x = np.arange(len(class_labels))
    width = 0.8 / max(len(summary), 1)
    for i, entry in enumerate(summary):
        means = [math.nan if m is None else m for m in entry["per_class_recall"]]
        stds = [0.0 if s is None else s for s in entry["per_class_recall_std"]]
        means += [math.nan] * (len(x) - len(means))
        stds += [0.0] * (len(x) - len(stds))
        ax.bar(x + (i - (len(summary) - 1) / 2) * width, means, width, yerr=stds, capsize=1.5,
               error_kw={"elinewidth": 0.6, "alpha": 0.6}, label=entry["strategy"])
    ax.set_xticks(x, list(class_labels), fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("test recall")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, ncols=min(len(summary), 6), loc="upper center", bbox_to_anchor=(0.5, -0.14))
    return _save(fig, path)


def image_grid(images: np.ndarray, labels: np.ndarray, classes: Sequence[int], per_class: int = 8,
               pad: int = 1) -> np.ndarray:
    """One row per class in `classes` with its first `per_class` images, as an (H, W, C) uint8 array.

    Slots a class has no image for stay grey, so a class with few images shows how few.
    """
    c, h, w = images.shape[1:]
    grid = np.full((len(classes) * (h + pad) + pad, per_class * (w + pad) + pad, c), 128, dtype=np.uint8)
    for row, cls in enumerate(classes):
        chosen = np.flatnonzero(labels == cls)[:per_class]
        for col, index in enumerate(chosen):
            top, left = pad + row * (h + pad), pad + col * (w + pad)
            grid[top : top + h, left : left + w] = np.asarray(images[index]).transpose(1, 2, 0)
    return grid


def _png_as_uint8(pixels: np.ndarray) -> np.ndarray:
    """matplotlib's imread output (float in [0, 1] or uint8, gray or RGB(A)) as uint8 (H, W, 3)."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        pixels = (pixels * 255).round().clip(0, 255).astype(np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels[:, :, :3]


def _show(ax: Any, image: np.ndarray, title: str, row_names: Sequence[str]) -> None:
    gray = image.ndim == 3 and image.shape[2] == 1
    ax.imshow(image[:, :, 0] if gray else image, cmap="gray" if gray else None, vmin=0, vmax=255,
              interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    row_height = image.shape[0] / max(len(row_names), 1)
    ax.set_yticks([(i + 0.5) * row_height for i in range(len(row_names))], list(row_names), fontsize=7)


def samples_figure(
    path: Path,
    real: Images,
    classes: Sequence[int],
    generated: Images | Path,
    title: str,
    per_class: int = 8,
) -> Path:
    """Real training images of `classes` (left) next to generated ones (right), one row per class.

    `generated` is the synthetic bank's images, or the GAN's own sample sheet PNG, which already puts real
    images beside generated ones with each row's class name (`ganaug.gan.sheet`): it is shown as it is.
    """
    figure = _figure_class()
    names = [real.class_names[c] for c in classes]
    if isinstance(generated, Path):
        from matplotlib.image import imread

        sheet = _png_as_uint8(imread(generated))
        fig = figure(figsize=(10, 10 * sheet.shape[0] / sheet.shape[1] + 0.6), layout="constrained")
        ax = fig.subplots()
        ax.imshow(sheet, interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(f"GAN sample sheet ({generated.name})", fontsize=9)
        fig.suptitle(title, fontsize=9)
        return _save(fig, path)
    fig = figure(figsize=(8, 0.45 * len(classes) + 1.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    _show(left, image_grid(real.images, real.labels, classes, per_class), "real (training split)", names)
    _show(right, image_grid(generated.images, generated.labels, classes, per_class), "generated (synthetic bank)",
          names)  # fmt: skip
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def curves_figure(path: Path, curves: dict[str, tuple[list[float], list[float]]], title: str) -> Path:
    """Every logged numeric series of the GAN's training log against the step."""
    if not curves:
        raise GanaugError(f"{path.name}: the training log holds no numeric column to plot")
    fig = _figure_class()(figsize=(6.5, 3.5))
    ax = fig.subplots()
    for name, (xs, ys) in sorted(curves.items()):
        ax.plot(xs, ys, label=name, linewidth=1)
    ax.set_xlabel("step")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)
