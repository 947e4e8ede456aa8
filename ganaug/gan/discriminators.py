"""Class-conditional discriminators (spectral norm, projection, multi-scale) and their registry."""

from __future__ import annotations

import math
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganaug.errors import GanaugError
from ganaug.gan.attention import SelfAttention, middle_level
from ganaug.gan.layout import check_image_shape, num_resolution_steps
from ganaug.gan.registry import build_registered


def _plan(image_shape: tuple[int, int, int], num_classes: int, base_channels: int) -> tuple[int, int, list[int]]:
    """Input channels, number of 2x downsamplings and channel widths from the full resolution down."""
    channels, height, width = check_image_shape(image_shape, num_classes)
    if base_channels < 1:
        raise GanaugError(f"base_channels must be positive, got {base_channels}")
    steps = num_resolution_steps(height, width)
    return channels, steps, [base_channels * min(2**i, 8) for i in range(steps + 1)]


def _attention_level(steps: int) -> int:
    """Downsamplings before the attention block: the generator's middle resolution, counted from the top."""
    return steps - middle_level(steps)


class ProjectionCritic(nn.Module):
    """Shared head of ganaug's discriminators: logit = linear(h) + <embed(y), h> (Miyato & Koyama 2018).

    Subclasses build `features(images) -> h (N, width)`, the globally sum-pooled features that the
    projection head reads and that feature matching compares.
    """

    def __init__(self, num_classes: int, width: int) -> None:
        super().__init__()
        self.head = spectral_norm(nn.Linear(width, 1))
        self.embed = spectral_norm(nn.Embedding(num_classes, width))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Pooled features (N, width) of float images in [-1, 1]."""
        raise NotImplementedError

    def logits(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Realness logits (N,) from pooled features and class labels."""
        return self.head(features).squeeze(1) + (self.embed(labels) * features).sum(dim=1)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Realness logits (N,) for float images in [-1, 1] and their class labels."""
        return self.logits(self.features(images), labels)


class ProjectionDiscriminator(ProjectionCritic):
    """Spectral-norm CNN critic with a class projection.

    Stride-2 conv blocks with LeakyReLU shrink the image to about 4 pixels a side, global sum
    pooling gives features h, and the logit is linear(h) + <embed(y), h>. `attention` adds
    self-attention at the middle resolution.
    """

    def __init__(
        self, image_shape: tuple[int, int, int], num_classes: int, base_channels: int = 64, attention: bool = False
    ) -> None:
        channels, steps, widths = _plan(image_shape, num_classes, base_channels)
        super().__init__(num_classes, widths[-1])
        first = spectral_norm(nn.Conv2d(channels, widths[0], 3, padding=1))
        levels: list[list[nn.Module]] = [[first, nn.LeakyReLU(0.2)]]
        for w_in, w_out in pairwise(widths):
            levels.append(
                [
                    spectral_norm(nn.Conv2d(w_in, w_out, 4, stride=2, padding=1)),
                    nn.LeakyReLU(0.2),
                    spectral_norm(nn.Conv2d(w_out, w_out, 3, padding=1)),
                    nn.LeakyReLU(0.2),
                ]
            )
        if attention:
            level = _attention_level(steps)
            levels[level].append(SelfAttention(widths[level], spectral=True))
        self.body = nn.Sequential(*(layer for level in levels for layer in level))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Sum-pooled features (N, width)."""
        return self.body(images).sum(dim=(2, 3))


class _ResidualDownBlock(nn.Module):
    """SNGAN discriminator block: [ReLU]-conv3-ReLU-conv3-[avgpool], plus a conv1(-avgpool) shortcut.

    The first block of the network (`first`) skips the leading ReLU, so the raw image is convolved.
    """

    def __init__(self, in_channels: int, out_channels: int, down: bool, first: bool) -> None:
        super().__init__()
        self.conv1 = spectral_norm(nn.Conv2d(in_channels, out_channels, 3, padding=1))
        self.conv2 = spectral_norm(nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.shortcut = spectral_norm(nn.Conv2d(in_channels, out_channels, 1))
        self.down = down
        self.first = first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Half the resolution of `x` when `down`, `out_channels` channels."""
        h = self.conv2(F.relu(self.conv1(x if self.first else F.relu(x))))
        shortcut = self.shortcut(x)
        if self.down:
            h, shortcut = F.avg_pool2d(h, 2), F.avg_pool2d(shortcut, 2)
        return h + shortcut


class ResNetDiscriminator(ProjectionCritic):
    """Residual spectral-norm discriminator with a class projection (SNGAN, Miyato et al. 2018).

    A first residual block at full resolution, then residual blocks halving the resolution down to
    about 4 pixels, ReLU, global sum pooling and the projection head. `attention` adds
    self-attention at the middle resolution.
    """

    def __init__(
        self, image_shape: tuple[int, int, int], num_classes: int, base_channels: int = 64, attention: bool = False
    ) -> None:
        channels, steps, widths = _plan(image_shape, num_classes, base_channels)
        super().__init__(num_classes, widths[-1])
        layers: list[nn.Module] = [_ResidualDownBlock(channels, widths[0], down=False, first=True)]
        layers += [_ResidualDownBlock(a, b, down=True, first=False) for a, b in pairwise(widths)]
        if attention:
            level = _attention_level(steps)
            layers.insert(level + 1, SelfAttention(widths[level], spectral=True))
        self.body = nn.Sequential(*layers)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Sum-pooled features (N, width) after a final ReLU."""
        return F.relu(self.body(images)).sum(dim=(2, 3))


class MultiScaleDiscriminator(nn.Module):
    """Two or three projection discriminators on the image and its 2x and 4x average-pooled copies (pix2pixHD,
    MSG-GAN style), each conditioned on the class by its own projection head.

    The output is one logit per image and scale (N, scales). ganaug's losses average over every logit, so the
    discriminator's (and the generator's) loss is the mean of the scales' losses: their sum divided by the
    number of scales, on the scale of one discriminator's loss. Each scale is a `critic` ("projection" or
    "resnet") at that scale's size. It has no single pooled feature vector, so no feature matching.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        num_classes: int,
        base_channels: int = 64,
        attention: bool = False,
        scales: int = 2,
        critic: str = "projection",
    ) -> None:
        super().__init__()
        channels, height, width = check_image_shape(image_shape, num_classes)
        if scales not in (2, 3):
            raise GanaugError(f"scales={scales}: a multi-scale discriminator judges 2 or 3 scales")
        if critic not in _SINGLE:
            raise GanaugError(f"critic '{critic}': pick one of {', '.join(_SINGLE)}")
        self.critics = nn.ModuleList(
            _SINGLE[critic]((channels, math.ceil(height / 2**s), math.ceil(width / 2**s)), num_classes,
                            base_channels=base_channels, attention=attention and s == 0)  # fmt: skip
            for s in range(scales)
        )

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Realness logits (N, scales): scale s judges the image average-pooled 2**s times smaller."""
        logits = []
        for s, critic in enumerate(self.critics):
            seen = images if s == 0 else F.avg_pool2d(images, 2**s, ceil_mode=True, count_include_pad=False)
            logits.append(critic(seen, labels))
        return torch.stack(logits, dim=1)


_SINGLE: dict[str, type[ProjectionCritic]] = {"projection": ProjectionDiscriminator, "resnet": ResNetDiscriminator}
DISCRIMINATORS: dict[str, type[nn.Module]] = {**_SINGLE, "multiscale": MultiScaleDiscriminator}


def build_discriminator(name: str, **kwargs) -> nn.Module:
    """Build the discriminator registered as `name` with its constructor `kwargs`."""
    return build_registered("discriminator", DISCRIMINATORS, name, kwargs)
