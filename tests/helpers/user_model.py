"""A user's own classifier, as a Lightning project has one: `import lightning as L`, its own forward and
optimiser, no knowledge of ganaug."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn


class TinyNet(L.LightningModule):
    """A two-layer convolutional classifier taking `num_classes`, `in_channels` and a width of its own."""

    def __init__(self, num_classes: int, in_channels: int = 1, hidden: int = 8, lr: float = 1e-2) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(hidden, num_classes),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
