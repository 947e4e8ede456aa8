"""Test doubles for the synth tests: a fake class-conditional sampler and small banks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganaug.synth.bank import SyntheticBank


class FakeSampler:
    """Stands in for GeneratorArtifact: uint8 noise whose first pixel is 50 * label, seeded by `generator`.

    Records the size of every `sample` call; raises after `fail_after` calls when set.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 8, 8),
        class_names: tuple[str, ...] = ("zero", "one", "two"),
        fail_after: int | None = None,
    ) -> None:
        self.image_shape = image_shape
        self.class_names = list(class_names)
        self.fail_after = fail_after
        self.calls: list[int] = []

    def sample(self, labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise RuntimeError("sampler failed mid-way")
        self.calls.append(len(labels))
        out = torch.randint(0, 256, (len(labels), *self.image_shape), generator=generator, dtype=torch.uint8)
        out[:, 0, 0, 0] = (labels * 50).to(torch.uint8)
        return out


def tagged_bank(directory: Path, counts: list[int], shape: tuple[int, int, int] = (1, 8, 8)) -> SyntheticBank:
    """A bank whose image j has pixel (0,0,0) = j and pixel (0,0,1) = 1, so a sample tells where it came from."""
    labels = np.concatenate([np.full(n, c, dtype=np.int64) for c, n in enumerate(counts)])
    images = np.full((len(labels), *shape), 100, dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(len(labels))
    images[:, 0, 0, 1] = 1
    return SyntheticBank.from_arrays(images, labels, [f"class{i}" for i in range(len(counts))], directory)
