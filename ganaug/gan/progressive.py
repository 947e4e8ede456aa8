"""Progressive growing (Karras et al. 2018): the GAN learns the coarse resolutions first and fades in each finer one.

The run's generator steps are split evenly between the generator's resolutions (levels). The first level trains
alone; each later one starts with a fade-in over `fade` of its share of the steps, its image weighed by alpha
rising linearly from 0 to 1, then trains at alpha 1. The generator keeps its output at the full size (the
coarser image upsampled); the real images the discriminator sees are brought to the same resolution the same
way, blended between the two levels with the same alpha, so both sides differ only in content. The last level
at alpha 1 is the full generator: the one exported.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganaug.errors import GanaugError


@dataclass(frozen=True)
class GrowthSchedule:
    """Which level and fade-in weight the run is at, generator step by generator step."""

    levels: int
    steps: int
    fade: float = 0.5

    def __post_init__(self) -> None:
        if self.levels < 1 or self.steps < 1:
            raise GanaugError(f"a growth schedule needs levels >= 1 and steps >= 1, got {self.levels}, {self.steps}")
        if not 0.0 <= self.fade <= 1.0:
            raise GanaugError(f"progressive_fade={self.fade}: the share of a level's steps to fade in over, in [0, 1]")

    def at(self, step: int) -> tuple[int, float]:
        """(level, alpha) at generator step `step` (0-based; steps past the run stay at the full generator)."""
        share = self.steps / self.levels
        level = min(int(step // share), self.levels - 1)
        if level == 0 or self.fade == 0.0:
            return level, 1.0
        into = (step - level * share) / (self.fade * share)
        return level, float(min(1.0, max(0.0, into)))


def at_resolution(images: torch.Tensor, level: int, levels: int) -> torch.Tensor:
    """Float images (N, C, H, W) brought to level `level`'s resolution (average-pooled 2**(levels-1-level) times
    smaller) and back to their size (nearest), as the generator's output is at that level."""
    factor = 2 ** (levels - 1 - level)
    if factor == 1:
        return images
    height, width = images.shape[2:]
    low = F.avg_pool2d(images, kernel_size=factor, stride=factor, ceil_mode=True, count_include_pad=False)
    return F.interpolate(low, scale_factor=float(factor), mode="nearest")[:, :, :height, :width]


def grown_reals(images: torch.Tensor, level: int, alpha: float, levels: int) -> torch.Tensor:
    """Real images as the discriminator sees them at (`level`, `alpha`): the level's resolution, blended with
    the previous level's by 1 - alpha during its fade-in."""
    current = at_resolution(images, level, levels)
    if alpha >= 1.0 or level == 0:
        return current
    return torch.lerp(at_resolution(images, level - 1, levels), current, alpha)
