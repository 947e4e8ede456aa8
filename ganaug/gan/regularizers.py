"""Regularisers for GANs trained on few and long-tailed images, both off by default (`ConditionalGAN`).

- LeCam (Tseng et al. 2021, "Regularizing generative adversarial networks under limited data"): the
  discriminator's outputs on real images are pulled down towards a moving average of its outputs on generated
  ones, and those on generated images up towards the real ones' average. It keeps the discriminator from
  separating a few training images by ever larger margins.
- Group spectral regularisation, gSR (Rangwani et al. 2022, "Improving GANs for long-tailed data through group
  spectral regularization"): the per-class gains and biases of the generator's conditional batch norms, each
  class's vector folded into a near-square matrix, are penalised by their largest singular value squared, rare
  classes more (effective-number weights). A large singular value in a rare class's parameters goes with that
  class's samples collapsing to a few modes; the penalty keeps them spread.
"""

from __future__ import annotations

from math import isqrt

import torch
import torch.nn.functional as F
from torch import nn

from ganaug.gan.generators import ConditionalBatchNorm2d


class LeCamAnchors(nn.Module):
    """The moving averages of the discriminator's mean output on real and on generated images, and the LeCam
    penalty relu(D(real) - fake anchor)^2 + relu(real anchor - D(fake))^2 around them.

    The first `update` sets the anchors to the batch's means; later ones move them by 1 - `decay`. They are
    buffers, so a checkpoint keeps them, and each update stores them in float32 again: in a module cast to
    bf16 (precision "bf16-true") a move of 1% would be below the anchors' resolution.
    """

    def __init__(self, decay: float = 0.99) -> None:
        super().__init__()
        self.decay = decay
        self.register_buffer("real", torch.zeros(()))
        self.register_buffer("fake", torch.zeros(()))
        self.register_buffer("started", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def update(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> None:
        """Move the anchors towards this batch's mean outputs (without a host sync)."""
        for name, logits in (("real", real_logits), ("fake", fake_logits)):
            anchor, mean = getattr(self, name).float(), logits.detach().float().mean()
            setattr(self, name, torch.where(self.started, anchor * self.decay + mean * (1.0 - self.decay), mean))
        self.started.fill_(True)

    def penalty(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """The LeCam penalty of this batch's outputs against the anchors (0 where an output is on its side)."""
        return F.relu(real_logits - self.fake).pow(2).mean() + F.relu(self.real - fake_logits).pow(2).mean()


def group_shape(channels: int) -> tuple[int, int]:
    """The near-square (rows, columns) a vector of `channels` values is folded into: rows the largest divisor of
    `channels` not above its square root (16 -> 4 x 4, 32 -> 4 x 8)."""
    rows = max(d for d in range(1, isqrt(channels) + 1) if channels % d == 0)
    return rows, channels // rows


def conditional_norms(generator: nn.Module) -> list[ConditionalBatchNorm2d]:
    """The class-conditional batch norms of `generator`, whose per-class parameters gSR regularises."""
    return [m for m in generator.modules() if isinstance(m, ConditionalBatchNorm2d)]


def group_spectral_penalty(norms: list[ConditionalBatchNorm2d], class_weights: torch.Tensor) -> torch.Tensor:
    """gSR: the mean over `norms` of the sum over classes of weight[class] * (sigma_max(gains)^2 +
    sigma_max(biases)^2), each class's vector folded by `group_shape`.

    `class_weights` (one per class id, summing to 1; 0 for a class the GAN does not learn) weigh rare classes more.
    """
    total = class_weights.new_zeros(())
    for norm in norms:
        for table in (norm.gain.weight, norm.bias.weight):
            classes, channels = table.shape
            sigma = torch.linalg.matrix_norm(table.float().reshape(classes, *group_shape(channels)), ord=2)
            total = total + (class_weights * sigma.square()).sum()
    return total / len(norms)
