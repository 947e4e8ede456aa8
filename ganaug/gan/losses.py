"""Adversarial losses on discriminator logits, and their registry.

Each loss is a small object with `d_loss(real_logits, fake_logits)` and `g_loss(fake_logits)`,
so a new one (e.g. Wasserstein) is one class and one registry entry.
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F

from ganaug.errors import GanaugError


class GANLoss(Protocol):
    """What the GAN module needs from a loss."""

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor: ...

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor: ...


class HingeLoss:
    """Hinge loss (SAGAN, BigGAN): D pushes real logits above +1 and fake ones below -1."""

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """Discriminator loss: mean relu(1 - real) + mean relu(1 + fake)."""
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """Generator loss: -mean fake logit."""
        return -fake_logits.mean()


class NonSaturatingLoss:
    """The original GAN loss with the non-saturating generator objective (Goodfellow et al. 2014)."""

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """Discriminator loss: binary cross-entropy, real -> 1 and fake -> 0."""
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """Generator loss: -log sigmoid(fake logit)."""
        return F.softplus(-fake_logits).mean()


LOSSES: dict[str, type[GANLoss]] = {"hinge": HingeLoss, "non_saturating": NonSaturatingLoss}


def build_loss(name: str) -> GANLoss:
    """Build the loss registered as `name`."""
    if name not in LOSSES:
        raise GanaugError(f"unknown GAN loss '{name}'; known losses: {', '.join(sorted(LOSSES))}")
    return LOSSES[name]()
