"""A user's own LightningDataModule, as a Lightning project has one: `import lightning as L`, torchvision-style
datasets that apply ToTensor and Normalize themselves, train and test loaders but no val loader."""

from __future__ import annotations

import lightning as L
from torch.utils.data import DataLoader

from helpers.data import NormalisedDigits


class ToyDataModule(L.LightningDataModule):
    """Six classes, the last ones rare in training, at `size` x `size`."""

    def __init__(self, size: int = 16, batch_size: int = 32) -> None:
        super().__init__()
        self.size, self.batch_size = size, batch_size

    def setup(self, stage: str) -> None:
        if stage == "fit":
            self.train_set = NormalisedDigits([120, 120, 120, 120, 30, 30], seed=0, size=self.size)
        self.test_set = NormalisedDigits([20] * 6, seed=1, size=self.size)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=True)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.test_set, batch_size=self.batch_size)
