"""Class-conditional discriminators (spectral-norm projection) and their registry."""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganaug.errors import GanaugError
from ganaug.gan.generators import check_image_shape, num_resolution_steps


class ProjectionDiscriminator(nn.Module):
    """Spectral-norm CNN critic with a class projection (Miyato & Koyama 2018).

    Stride-2 conv blocks with LeakyReLU shrink the image to about 4 pixels a side, global sum
    pooling gives features h, and the logit is linear(h) + <embed(y), h>.
    """

    def __init__(self, image_shape: tuple[int, int, int], num_classes: int, base_channels: int = 64) -> None:
        super().__init__()
        channels, height, width = check_image_shape(image_shape, num_classes)
        if base_channels < 1:
            raise GanaugError(f"base_channels must be positive, got {base_channels}")
        steps = num_resolution_steps(height, width)
        widths = [base_channels * min(2**i, 8) for i in range(steps + 1)]
        layers: list[nn.Module] = [
            spectral_norm(nn.Conv2d(channels, widths[0], 3, padding=1)),
            nn.LeakyReLU(0.2),
        ]
        for w_in, w_out in pairwise(widths):
            layers += [
                spectral_norm(nn.Conv2d(w_in, w_out, 4, stride=2, padding=1)),
                nn.LeakyReLU(0.2),
                spectral_norm(nn.Conv2d(w_out, w_out, 3, padding=1)),
                nn.LeakyReLU(0.2),
            ]
        self.features = nn.Sequential(*layers)
        self.head = spectral_norm(nn.Linear(widths[-1], 1))
        self.embed = spectral_norm(nn.Embedding(num_classes, widths[-1]))

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Realness logits (N,) for float images in [-1, 1] and their class labels."""
        h = self.features(images).sum(dim=(2, 3))
        return self.head(h).squeeze(1) + (self.embed(labels) * h).sum(dim=1)


DISCRIMINATORS: dict[str, type[nn.Module]] = {"projection": ProjectionDiscriminator}


def build_discriminator(name: str, **kwargs) -> nn.Module:
    """Build the discriminator registered as `name` with its constructor `kwargs`."""
    if name not in DISCRIMINATORS:
        raise GanaugError(f"unknown discriminator '{name}'; known discriminators: {', '.join(sorted(DISCRIMINATORS))}")
    return DISCRIMINATORS[name](**kwargs)
