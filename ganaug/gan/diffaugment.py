"""Differentiable augmentation of the discriminator's inputs (DiffAugment, Zhao et al. 2020).

With few images the discriminator memorises them and its feedback stops helping the generator.
DiffAugment transforms every image the discriminator sees, real and generated alike, in both the
discriminator and the generator update; the transforms are differentiable, so the generator
still gets gradients through them, and it does not learn to produce augmented images because the
same transforms hit the real ones. Random draws come from torch's RNG (seeded by the trainer's
seed) or from an explicit `torch.Generator`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ganaug.errors import GanaugError

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str | Sequence[str] | None) -> tuple[str, ...]:
    """ "color,translation" or ["color", "translation"] -> ("color", "translation"); "" or None -> ()."""
    if policy is None:
        return ()
    parts = policy.split(",") if isinstance(policy, str) else list(policy)
    names = tuple(p.strip() for p in parts if p.strip())
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise GanaugError(
            f"unknown diffaugment policy {unknown}; use a comma-separated subset of {','.join(POLICIES)} or '' for none"
        )
    return tuple(dict.fromkeys(names))


def uniform_like(shape: tuple[int, ...], like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """U[0, 1) draws of `shape` with `like`'s device and dtype, from `generator` when given."""
    if generator is None:
        return torch.rand(shape, device=like.device, dtype=like.dtype)
    return torch.rand(shape, generator=generator, device=generator.device).to(like.device, like.dtype)


def color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random brightness (+[-0.5, 0.5)), saturation (x[0, 2)) and contrast (x[0.5, 1.5)) per image."""
    n = len(x)
    x = x + (uniform_like((n, 1, 1, 1), x, generator) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (uniform_like((n, 1, 1, 1), x, generator) * 2.0) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (uniform_like((n, 1, 1, 1), x, generator) + 0.5) + mean


def _offsets(n: int, limit: int, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """n integer offsets drawn uniformly from [-limit, limit]."""
    return (uniform_like((n,), like, generator) * (2 * limit + 1)).floor().long().clamp(max=2 * limit) - limit


def translation(x: torch.Tensor, ratio: float = 0.125, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image by up to `ratio` of its size in each direction; uncovered pixels become 0."""
    n, _, h, w = x.shape
    dy = _offsets(n, int(h * ratio + 0.5), x, generator)
    dx = _offsets(n, int(w * ratio + 0.5), x, generator)
    rows = torch.arange(h, device=x.device)[None, :] - dy[:, None]  # (n, h): source row of each output row
    cols = torch.arange(w, device=x.device)[None, :] - dx[:, None]
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None]
    moved = x.permute(0, 2, 3, 1)[batch, rows.clamp(0, h - 1)[:, :, None], cols.clamp(0, w - 1)[:, None, :]]
    return moved.permute(0, 3, 1, 2) * inside[:, None].to(x.dtype)


def cutout(x: torch.Tensor, ratio: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero one square of `ratio` times the image size per image, centred anywhere in the image."""
    n, _, h, w = x.shape
    size_h, size_w = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    top = (uniform_like((n,), x, generator) * h).floor().long() - size_h // 2
    left = (uniform_like((n,), x, generator) * w).floor().long() - size_w // 2
    rows = torch.arange(h, device=x.device)[None, :] - top[:, None]
    cols = torch.arange(w, device=x.device)[None, :] - left[:, None]
    hole = ((rows >= 0) & (rows < size_h))[:, :, None] & ((cols >= 0) & (cols < size_w))[:, None, :]
    return x * (~hole)[:, None].to(x.dtype)


class DiffAugment:
    """Apply the policy's transforms, in the order color, translation, cutout, with fresh draws per image.

    An empty policy is the identity (the input tensor itself is returned).
    """

    def __init__(
        self, policy: str | Sequence[str] | None = "", translation_ratio: float = 0.125, cutout_ratio: float = 0.5
    ) -> None:
        self.policy = parse_policy(policy)
        if not 0.0 <= translation_ratio <= 0.5 or not 0.0 < cutout_ratio <= 1.0:
            raise GanaugError(
                f"diffaugment translation_ratio must be in [0, 0.5] and cutout_ratio in (0, 1], "
                f"got {translation_ratio} and {cutout_ratio}"
            )
        self.translation_ratio = translation_ratio
        self.cutout_ratio = cutout_ratio

    def __bool__(self) -> bool:
        return bool(self.policy)

    def apply(self, name: str, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The operation `name` (one of POLICIES) on every image, with this policy's ratios."""
        if name == "color":
            return color(x, generator)
        if name == "translation":
            return translation(x, self.translation_ratio, generator)
        return cutout(x, self.cutout_ratio, generator)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Augmented float images (N, C, H, W); differentiable with respect to `x`."""
        for name in POLICIES:
            if name in self.policy:
                x = self.apply(name, x, generator)
        return x
