"""Stands for your own Lightning project: a datamodule whose dataset applies its own ToTensor/Normalize, as
most do, and a classifier. Nothing in it knows about ganaug.

The examples import Lightning as Lightning's docs do (`import lightning as L`); set LIGHTNING_PACKAGE=
pytorch_lightning to run them with the other package (ganaug takes and gives objects of either).
"""

from __future__ import annotations

import importlib
import os

import numpy as np
import torch
from PIL import Image
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, Dataset

L = importlib.import_module(os.environ.get("LIGHTNING_PACKAGE", "lightning"))

CLASSES = [str(i) for i in range(10)]


class Digits(Dataset):
    """8x8 digits kept as torchvision keeps MNIST (`data` uint8 N,H,W, `targets`, `classes`), served as
    normalised float tensors."""

    def __init__(self, images: np.ndarray, targets: np.ndarray) -> None:
        self.data, self.targets, self.classes = images, targets.tolist(), CLASSES

    def transform(self, image: Image.Image) -> torch.Tensor:
        return (torch.from_numpy(np.asarray(image, dtype=np.float32))[None] / 255 - 0.5) / 0.5

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.data[index])), self.targets[index]


class DigitsDataModule(L.LightningDataModule):
    """Long-tailed digits: class c keeps about 20**(-c/9) of its training images (1 in 20 for the rarest)."""

    def __init__(self, batch_size: int = 64) -> None:
        super().__init__()
        self.batch_size = batch_size

    def setup(self, stage: str) -> None:
        digits = load_digits()
        images, labels = np.round(digits.images * 255 / 16).astype(np.uint8), digits.target
        order = np.random.default_rng(0).permutation(len(labels))
        test, train = order[:450], order[450:]
        keep = np.concatenate([train[labels[train] == c][: max(2, round(len(train) / 10 * 20 ** (-c / 9)))]
                               for c in range(10)])  # fmt: skip
        self.train_set = Digits(images[keep], labels[keep])
        self.test_set = Digits(images[test], labels[test])

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=True)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.test_set, batch_size=256)


class YourModel(L.LightningModule):
    """Stands for your classifier: it reports its balanced accuracy (mean per-class recall) on the test split."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(64, num_classes),
        )  # fmt: skip
        self.num_classes = num_classes
        self.hits = self.seen = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch[0], batch[1]
        return nn.functional.cross_entropy(self(x), y)

    def on_test_epoch_start(self) -> None:
        self.hits, self.seen = torch.zeros(self.num_classes), torch.zeros(self.num_classes)

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        right = (self(x).argmax(1) == y).float()
        self.hits.index_add_(0, y, right)
        self.seen.index_add_(0, y, torch.ones_like(right))

    def on_test_epoch_end(self) -> None:
        present = self.seen > 0
        self.log("test_balanced_accuracy", (self.hits[present] / self.seen[present]).mean())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=2e-3)
