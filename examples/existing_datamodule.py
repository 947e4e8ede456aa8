"""Add ganaug to a Lightning datamodule you already have.

Your datamodule and your model stay as they are. ganaug trains a conditional GAN on the training
split's rare classes, samples a bank of synthetic images, and wraps your datamodule so that the
training loader mixes them in; validation and test loaders are untouched.

    python examples/existing_datamodule.py [--gan-steps 1500] [--epochs 15] [--out ganaug-example]

Your training dataset must yield raw images (uint8 CHW tensors or PIL images); put the transform
you apply to them in `GANAugDataModule(transform=...)`, so real and synthetic images get the same one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ganaug import GANAugDataModule, GeneratorArtifact, ImageDataset, SyntheticBank, export_generator, train_gan
from ganaug.classify.metrics import BalancedAccuracy
from ganaug.data.imbalance import make_imbalanced, select_minority, synthetic_targets
from ganaug.gan.training import gan_training_set


class DigitsDataModule(pl.LightningDataModule):
    """Stands for the datamodule you already have: long-tailed 8x8 digits as uint8 tensors."""

    def __init__(self, batch_size: int = 64) -> None:
        super().__init__()
        self.batch_size = batch_size

    def setup(self, stage: str | None = None) -> None:
        digits = load_digits()
        images = torch.from_numpy(np.round(digits.images * 255 / 16).astype(np.uint8)).unsqueeze(1)
        labels = torch.from_numpy(digits.target).long()
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
        test, train = order[:450], order[450:]
        full = ImageDataset(images[train], labels[train], [str(i) for i in range(10)])
        long_tail = make_imbalanced(full, ratio=20, seed=0)
        self.train_set = TensorDataset(long_tail.images, long_tail.labels)
        self.train_set.targets = long_tail.labels  # lets ganaug read the labels without a pass over the data
        self.test_set = TensorDataset(images[test], labels[test])

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=True)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.test_set, batch_size=256)


class YourModel(pl.LightningModule):
    """Stands for your classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
        )
        self.test_bal_acc = BalancedAccuracy(num_classes=10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.float() / 255.0)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        return nn.functional.cross_entropy(self(x), y)

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        self.test_bal_acc.update(self(x).argmax(1), y)
        self.log("test_balanced_accuracy", self.test_bal_acc)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=2e-3)


def train_bank(
    dm: DigitsDataModule, out: Path, gan_steps: int, fill_fraction: float, progress: bool = True
) -> tuple[SyntheticBank, dict[int, int]]:
    """Train the GAN on the datamodule's training split (all classes), export it to `out/generator` and
    sample its rare classes into `out/bank`; return the bank and the samples per class."""
    dm.setup()
    train = ImageDataset(dm.train_set.tensors[0], dm.train_set.tensors[1], [str(i) for i in range(10)])
    counts = train.counts()
    minority = select_minority(counts, train.class_names, threshold=0.5)
    gan_set, trained = gan_training_set(train, minority, condition_on="all")
    gan = train_gan(gan_set, trained, steps=gan_steps, trainer_kwargs={"accelerator": "cpu"})
    artifact = GeneratorArtifact.load(export_generator(gan, out / "generator", train.class_names))
    targets = synthetic_targets(counts, minority, mode="fill", fill_fraction=fill_fraction)
    print(f"train counts {counts}; minority {minority}; synthetic per class {targets}")
    return SyntheticBank.generate(artifact, targets, out / "bank", progress=progress), targets


def main() -> None:
    """Train a GAN on the datamodule's rare classes, then your model with and without its samples."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gan-steps", type=int, default=1500)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path("ganaug-example"))
    args = parser.parse_args()

    bank, _ = train_bank(DigitsDataModule(), args.out, args.gan_steps, fill_fraction=0.5)

    # synthetic_share=0.5: a rare class is drawn from its own real images at least half the time
    mixed = GANAugDataModule(DigitsDataModule(), bank, synthetic_share=0.5)
    for name, datamodule in (("plain", DigitsDataModule()), ("ganaug", mixed)):
        pl.seed_everything(0)
        trainer = pl.Trainer(max_epochs=args.epochs, accelerator="cpu", logger=False, enable_checkpointing=False)
        model = YourModel()
        trainer.fit(model, datamodule=datamodule)
        result = trainer.test(model, datamodule=datamodule, verbose=False)[0]
        print(f"{name}: test balanced accuracy {result['test_balanced_accuracy']:.4f}")


if __name__ == "__main__":
    main()
