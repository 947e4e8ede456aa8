"""Small synthetic image sets whose class is visible, and where the reference data is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

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


class NormalisedDigits(Dataset):
    """Toy images kept as torchvision keeps MNIST (`data` uint8 N,H,W, `targets`, `classes`), served as
    normalised float tensors."""

    def __init__(self, counts: list[int], seed: int, size: int) -> None:
        toy = make_toy_dataset(counts, shape=(1, size, size), seed=seed)
        self.data = toy.images[:, 0].numpy()
        self.targets = toy.labels.tolist()
        self.classes = toy.class_names

    def transform(self, image: Image.Image) -> torch.Tensor:
        return (torch.from_numpy(np.asarray(image)).float()[None] / 255 - 0.5) / 0.5

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.data[index])), self.targets[index]
