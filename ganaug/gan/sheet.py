"""Sample sheets a person can judge: per class, its name, real training images, then generated ones, scaled up.

A 28x28 grid written at native size is too small to see anything in. A sheet scales each image by a whole
factor (nearest neighbour, so no detail is invented) until it is about `TILE` pixels, writes each row's class
name at its left, and puts real images of that class beside the generated ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

TILE = 96  # the least size, in pixels, an image is scaled up to
_GAP = 12
_LABEL_WIDTH = 120
_HEADER = 24


def scale_factor(size: int, tile: int = TILE) -> int:
    """The whole factor that brings an image side of `size` pixels to at least `tile` (1 when it already is)."""
    return max(1, -(-tile // max(size, 1)))


def _tiles(images: np.ndarray, factor: int) -> list[Image.Image]:
    """uint8 (N, C, H, W) images as RGB PIL images scaled by `factor`."""
    out = []
    for image in images:
        hwc = np.repeat(image, 3, axis=0) if image.shape[0] == 1 else image
        pil = Image.fromarray(np.ascontiguousarray(hwc.transpose(1, 2, 0)), "RGB")
        out.append(pil.resize((pil.width * factor, pil.height * factor), Image.NEAREST))
    return out


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow before 10.1 has one fixed size
        return ImageFont.load_default()


def sample_sheet(
    generated: np.ndarray,
    class_names: Sequence[str],
    real: np.ndarray | None = None,
    title: str = "",
) -> np.ndarray:
    """A sheet (uint8 H, W, 3) of `generated` images, shape (classes, per_class, C, H, W): one row per class
    named `class_names[i]`, with `real` images of the same shape at its left when given."""
    rows, per_class, _, height, width = generated.shape
    factor = scale_factor(min(height, width))
    tile_w, tile_h = width * factor, height * factor
    blocks = [("real (training split)", real)] if real is not None else []
    blocks.append(("generated", generated))
    block_w = per_class * tile_w
    sheet_w = _LABEL_WIDTH + len(blocks) * block_w + (len(blocks) - 1) * _GAP
    sheet = Image.new("RGB", (sheet_w, _HEADER + rows * tile_h + (_HEADER if title else 0)), "white")
    draw = ImageDraw.Draw(sheet)
    font = _font(14)
    top = 0
    if title:
        draw.text((4, 4), title, fill="black", font=font)
        top = _HEADER
    for b, (heading, images) in enumerate(blocks):
        left = _LABEL_WIDTH + b * (block_w + _GAP)
        draw.text((left, top + 4), heading, fill="black", font=font)
        for r in range(rows):
            for k, tile in enumerate(_tiles(images[r], factor)):
                sheet.paste(tile, (left + k * tile_w, top + _HEADER + r * tile_h))
    for r, name in enumerate(class_names):
        draw.text((4, top + _HEADER + r * tile_h + tile_h // 2 - 8), str(name)[:16], fill="black", font=font)
    return np.asarray(sheet)
