"""SAGAN-style self-attention over the positions of a feature map (Zhang et al. 2019)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class SelfAttention(nn.Module):
    """x + gamma * attention(x): every position attends to every other one, so distant parts can agree.

    Queries and keys are projected to C/8 channels and values to C/2 (as in BigGAN); `gamma` starts
    at 0, so the block is the identity at initialisation and the network learns how much to use it.
    `spectral` wraps the 1x1 convolutions in spectral norm (for the discriminator).
    """

    def __init__(self, channels: int, spectral: bool = False) -> None:
        super().__init__()
        wrap = spectral_norm if spectral else (lambda m: m)
        inner, value = max(1, channels // 8), max(1, channels // 2)
        self.query = wrap(nn.Conv2d(channels, inner, 1, bias=False))
        self.key = wrap(nn.Conv2d(channels, inner, 1, bias=False))
        self.value = wrap(nn.Conv2d(channels, value, 1, bias=False))
        self.out = wrap(nn.Conv2d(value, channels, 1, bias=False))
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same shape as `x` (N, C, H, W)."""
        n, _, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # (N, HW, C/8)
        k = self.key(x).flatten(2).transpose(1, 2)
        v = self.value(x).flatten(2).transpose(1, 2)  # (N, HW, C/2)
        attended = torch.softmax(q @ k.transpose(1, 2), dim=-1) @ v  # written out: twice differentiable
        return x + self.gamma * self.out(attended.transpose(1, 2).reshape(n, -1, h, w))


def middle_level(steps: int) -> int:
    """Which of the `steps + 1` resolutions (0 = the smallest, the generator's base map) gets attention.

    The middle one, rounding towards the larger map: 8x8 images (4, 8) -> 8; 28x28 (7, 14, 28) -> 14;
    32x32 (4, 8, 16, 32) -> 16.
    """
    return (steps + 1) // 2
