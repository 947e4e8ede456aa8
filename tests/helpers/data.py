"""Small synthetic image sets whose class is visible, and where the reference data is."""

from __future__ import annotations

from pathlib import Path

import torch

from ganaug.data.dataset import ImageDataset

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def make_toy_dataset(counts: list[int], shape: tuple[int, int, int] = (1, 8, 8), seed: int = 0) -> ImageDataset:
    """Images whose class is visible (class c brightens row band c), with `counts[c]` images of class c."""
    gen = torch.Generator().manual_seed(seed)
    c, h, w = shape
    images, labels = [], []
    for cls, n in enumerate(counts):
        base = torch.zeros(n, c, h, w)
        band = (cls * h) // max(len(counts), 1)
        base[:, :, band : band + max(h // len(counts), 1), :] = 200.0
        noise = torch.rand(n, c, h, w, generator=gen) * 50.0
        images.append((base + noise).clamp(0, 255).to(torch.uint8))
        labels.append(torch.full((n,), cls, dtype=torch.int64))
    return ImageDataset(torch.cat(images), torch.cat(labels), [f"class{i}" for i in range(len(counts))])
