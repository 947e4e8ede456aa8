"""Adversarial losses on discriminator logits, the gradient penalty, feature matching, and the registry.

Each loss is a small object with `d_loss(real_logits, fake_logits)`, `g_loss(fake_logits)`, the
weight of the gradient penalty it adds to the discriminator loss (`gp_weight`, 0 for none), and
whether its logits have a decision boundary at 0 (`decision_at_zero`: what "the discriminator is
right" means for the saturation check). A new loss is one class and one registry entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
import torch.nn.functional as F

from ganaug.errors import GanaugError


class GANLoss(Protocol):
    """What the GAN module needs from a loss."""

    gp_weight: float
    decision_at_zero: bool

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor: ...

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor: ...


class HingeLoss:
    """Hinge loss (SAGAN, BigGAN): D pushes real logits above +1 and fake ones below -1."""

    decision_at_zero = True

    def __init__(self, gp_weight: float = 0.0) -> None:
        self.gp_weight = gp_weight

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """Discriminator loss: mean relu(1 - real) + mean relu(1 + fake)."""
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """Generator loss: -mean fake logit."""
        return -fake_logits.mean()


class NonSaturatingLoss:
    """The original GAN loss with the non-saturating generator objective (Goodfellow et al. 2014)."""

    decision_at_zero = True

    def __init__(self, gp_weight: float = 0.0) -> None:
        self.gp_weight = gp_weight

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """Discriminator loss: binary cross-entropy, real -> 1 and fake -> 0."""
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """Generator loss: -log sigmoid(fake logit)."""
        return F.softplus(-fake_logits).mean()


class WassersteinGPLoss:
    """Wasserstein loss with a gradient penalty (Gulrajani et al. 2017).

    The critic maximises mean real - mean fake score; the penalty `gp_weight` * (||grad||_2 - 1)^2 on
    random interpolates of real and fake images keeps it about 1-Lipschitz. Critic scores have no
    fixed decision boundary, so the saturation check does not apply.
    """

    decision_at_zero = False

    def __init__(self, gp_weight: float = 10.0) -> None:
        self.gp_weight = gp_weight

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """Critic loss: mean fake score - mean real score."""
        return fake_logits.mean() - real_logits.mean()

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """Generator loss: -mean fake score."""
        return -fake_logits.mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Mean (||d critic / d x||_2 - 1)^2 at x = eps * real + (1 - eps) * fake, eps ~ U[0, 1) per sample.

    Built with create_graph, so its gradient reaches the critic's weights.
    """
    eps = torch.rand(len(real), 1, 1, 1, generator=generator, device=real.device if generator is None else None)
    eps = eps.to(real.device, real.dtype)
    mixed = (eps * real.detach() + (1.0 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


def feature_matching(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """Mean over feature dimensions of (mean real feature - mean fake feature)^2 (Salimans et al. 2016).

    Real features are treated as constants: only the generator is pulled towards them.
    """
    return ((real_features.detach().mean(dim=0) - fake_features.mean(dim=0)) ** 2).mean()


LOSSES: dict[str, type[GANLoss]] = {
    "hinge": HingeLoss,
    "non_saturating": NonSaturatingLoss,
    "wgan_gp": WassersteinGPLoss,
}


def build_loss(name: str, gp_weight: float | None = None) -> GANLoss:
    """Build the loss registered as `name`; `gp_weight` None keeps its own (10 for wgan_gp, else 0)."""
    if name not in LOSSES:
        raise GanaugError(f"unknown GAN loss '{name}'; known losses: {', '.join(sorted(LOSSES))}")
    if gp_weight is not None and gp_weight < 0:
        raise GanaugError(f"gp_weight must be >= 0, got {gp_weight}")
    return LOSSES[name]() if gp_weight is None else LOSSES[name](gp_weight=gp_weight)
