"""The reference classifier: a small CNN and the LightningModule that trains it on uint8 images."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from ganaug.classify.losses import ClassifierLoss, Mixup
from ganaug.classify.metrics import BalancedAccuracy
from ganaug.errors import at_least, checked, one_of, positive


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 images in [0, 255] as the float input in [-1, 1] the reference classifier takes."""
    return (images.float() / 255.0 - 0.5) / 0.5


def as_input(images: torch.Tensor) -> torch.Tensor:
    """The classifier's float input: uint8 images normalised, float images taken as already normalised."""
    return normalise(images) if images.dtype == torch.uint8 else images


class CosineHead(nn.Module):
    """A linear head on unit-length features and unit-length class weights: logits are cosines in [-1, 1]
    (the head LDAM is defined with, its scale applied by the loss)."""

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.in_features = in_features
        self.weight = nn.Parameter(torch.empty(num_classes, in_features))
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Cosine similarity of each feature vector with each class's weight vector."""
        return F.normalize(features, dim=1) @ F.normalize(self.weight, dim=1).t()


HEADS = ("linear", "cosine")


class SmallCNN(nn.Module):
    """Three conv-BN-ReLU blocks (2x downsampling after the first two), global average pooling, a head:
    linear, or cosine (unit-length features and class weights).

    Small enough to train in seconds on 8x8 to 32x32 images, the same network for every strategy.
    """

    @checked(in_channels=at_least(1), num_classes=at_least(2), width=at_least(1), head=one_of(HEADS))
    def __init__(self, in_channels: int, num_classes: int, width: int = 32, head: str = "linear") -> None:
        super().__init__()
        self.features = nn.Sequential(
            _block(in_channels, width),
            nn.MaxPool2d(2),
            _block(width, 2 * width),
            nn.MaxPool2d(2),
            _block(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(4 * width, num_classes) if head == "linear" else CosineHead(4 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Float images (N, C, H, W), H and W at least 4 -> logits (N, num_classes)."""
        return self.head(self.features(x))


class ImageClassifier(pl.LightningModule):
    """SmallCNN trained with a strategy's loss (`ClassifierLoss`), AdamW and a per-step one-cycle LR.

    Batches are `(images, labels)` or `(images, labels, is_synthetic)`; uint8 images are normalised
    inside (so datasets stay uint8), float images are taken as already normalised. `loss` weighs the
    samples (class weights, the weight of synthetic samples; default: plain cross-entropy). Validation
    logs `val_loss` (unweighted, so comparable across strategies) and `val_balanced_accuracy`.
    """

    @checked(width=at_least(1), lr=positive(), weight_decay=at_least(0))
    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        width: int = 32,
        lr: float = 3e-3,
        weight_decay: float = 5e-4,
        loss: ClassifierLoss | None = None,
        batch_transform: Mixup | None = None,
        head: str = "linear",
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["loss", "batch_transform"])
        self.net = SmallCNN(in_channels, num_classes, width, head)
        self.criterion = loss if loss is not None else ClassifierLoss()
        self.batch_transform = batch_transform
        self.criterion.check_classes(num_classes)
        self.val_balanced_accuracy = BalancedAccuracy(num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images (uint8 [0, 255] or normalised float) -> logits."""
        return self.net(as_input(images))

    def on_train_epoch_start(self) -> None:
        self.criterion.start_epoch(self.current_epoch, self.trainer.max_epochs)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        images, labels = batch[0], batch[1]
        is_synthetic = batch[2] if len(batch) > 2 else None
        if self.batch_transform is None:
            loss = self.criterion(self(images), labels, is_synthetic)
        else:
            mixed, terms = self.batch_transform(as_input(images), labels, is_synthetic)
            logits = self(mixed)
            loss = sum(share * self.criterion(logits, y, synthetic) for share, y, synthetic in terms)
        self.log("train_loss", loss, prog_bar=True, batch_size=len(labels))
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        images, labels = batch[0], batch[1]
        logits = self(images)
        self.val_balanced_accuracy.update(logits, labels)
        self.log("val_loss", F.cross_entropy(logits, labels), prog_bar=True, batch_size=len(labels))
        self.log("val_balanced_accuracy", self.val_balanced_accuracy, prog_bar=True, batch_size=len(labels))

    def predict_step(self, batch, batch_idx: int) -> torch.Tensor:
        images = batch[0] if isinstance(batch, list | tuple) else batch
        return self(images)

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=self.hparams.lr,
            total_steps=max(int(self.trainer.estimated_stepping_batches), 1),
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
