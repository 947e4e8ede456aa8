"""Adaptive discriminator augmentation (ADA, Karras et al. 2020) over DiffAugment's differentiable operations.

Each of the policy's operations is applied to each image with probability p, real and generated alike, in both
updates. p follows the discriminator's overfitting signal r = E[sign(D(real))]: near 0 while the discriminator
cannot tell real from fake, towards 1 as it memorises the real images. Every `interval` discriminator updates,
p moves by sign(r - target) * (images seen in them) / `speed` (the images it takes p to go from 0 to 1), and
stays in [0, 1]. So augmentation grows only as far as the discriminator needs it, and shrinks when it does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ganaug.errors import GanaugError
from ganaug.gan.diffaugment import POLICIES, DiffAugment, uniform_like


class AdaptiveAugment(DiffAugment):
    """DiffAugment's operations, each applied per image with the adapted probability `p` (module docstring)."""

    def __init__(
        self,
        policy: str | Sequence[str] | None = "",
        target: float = 0.6,
        speed: int = 100_000,
        interval: int = 4,
        initial: float = 0.0,
    ) -> None:
        super().__init__(policy or POLICIES)
        if not 0.0 < target < 1.0 or speed < 1 or interval < 1 or not 0.0 <= initial <= 1.0:
            raise GanaugError(
                f"ADA target={target}, speed={speed}, interval={interval}, initial={initial}: the target lies in "
                "(0, 1), speed (images for p to go from 0 to 1) and interval (updates) are positive, p in [0, 1]"
            )
        self.target, self.speed, self.interval = target, speed, interval
        self.p = initial
        self._signs: float | torch.Tensor = 0.0
        self._seen, self._updates = 0, 0

    def __bool__(self) -> bool:
        return True

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Each operation applied to each image with probability p (its own random parameters per image)."""
        if self.p <= 0.0:
            return x
        for name in POLICIES:
            if name not in self.policy:
                continue
            augmented = self.apply(name, x, generator)
            chosen = uniform_like((len(x),), x, generator) < self.p
            x = torch.where(chosen[:, None, None, None], augmented, x)
        return x

    def observe(self, real_logits: torch.Tensor) -> None:
        """Count one discriminator update's real logits (summed where they are, so the device is read once per
        `interval` updates, not at each); every `interval` updates, move p (module docstring)."""
        self._signs = self._signs + torch.sign(real_logits.detach().float()).sum()
        self._seen += real_logits.numel()
        self._updates += 1
        if self._updates % self.interval:
            return
        signal = float(self._signs) / max(self._seen, 1)
        step = self._seen / self.speed
        self.p = min(1.0, max(0.0, self.p + (step if signal > self.target else -step)))
        self._signs, self._seen = 0.0, 0

    def state_dict(self) -> dict[str, Any]:
        """p and the counts since it last moved, for a resumed run to adapt as the uninterrupted one."""
        return {"p": self.p, "signs": float(self._signs), "seen": self._seen, "updates": self._updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` saved."""
        self.p, self._signs = float(state["p"]), float(state["signs"])
        self._seen, self._updates = int(state["seen"]), int(state["updates"])
