"""The classical augmentation baseline: small random shifts and rotations (albumentations Affine)."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any

import torch

from ganaug.errors import GanaugError, between, checked
from ganaug.synth.transforms import as_transform

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
import albumentations as A  # noqa: E402  (the variable above must be set first: no update check over the network)


class _ClassicalTransform:
    """A seeded albumentations pipeline over uint8 CHW tensors, reseeded once in each DataLoader worker.

    albumentations keeps its own random state, which every worker would otherwise copy unchanged
    (all workers drawing the same shifts); a worker's seed comes from the loader, so it stays reproducible.
    """

    def __init__(self, compose: A.Compose) -> None:
        self._compose = compose
        self._apply = as_transform(compose)
        self._worker: int | None = None

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        info = torch.utils.data.get_worker_info()
        if info is not None and self._worker != info.id:
            self._compose.set_random_seed(info.seed % 2**32)
            self._worker = info.id
        return self._apply(image)

    def __repr__(self) -> str:
        return f"classical_transform({self._compose!r})"

    def _seeded_parts(self) -> list[Any]:
        """The pipeline and each transform in it: albumentations gives every one its own generators."""
        parts, todo = [], [self._compose]
        while todo:
            part = todo.pop(0)
            parts.append(part)
            todo.extend(getattr(part, "transforms", []))
        return [p for p in parts if hasattr(p, "random_generator")]

    def state_dict(self) -> list[dict[str, Any]]:
        """Where each of the pipeline's random generators stands: what a resumed fit sets back."""
        return [{"numpy": p.random_generator.bit_generator.state, "python": p.py_random.getstate()}
                for p in self._seeded_parts()]  # fmt: skip

    def load_state_dict(self, state: list[dict[str, Any]]) -> None:
        """Set the pipeline's random generators back to a `state_dict`."""
        for part, saved in zip(self._seeded_parts(), state, strict=True):
            part.random_generator.bit_generator.state = saved["numpy"]
            part.py_random.setstate(saved["python"])


@checked(max_shift=between(0, 0.5, high_open=True), max_rotation=between(0, 180))
def classical_transform(
    image_shape: tuple[int, int, int],
    max_shift: float = 3 / 28,
    max_rotation: float = 15.0,
    seed: int | None = None,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Random shift up to `max_shift` x image size pixels (3 px at 28x28), rotation up to `max_rotation` deg.

    Maps uint8 CHW tensors to uint8 CHW tensors of the same shape; uncovered pixels are filled with 0.
    `seed` fixes the draws; None takes a seed from torch's global generator, so `pl.seed_everything`
    makes the transform reproducible too (albumentations ignores the global seeds).
    """
    if len(image_shape) != 3 or image_shape[0] not in (1, 3):
        raise GanaugError(f"image_shape must be (C, H, W) with 1 or 3 channels, got {tuple(image_shape)}")
    if seed is None:
        seed = int(torch.randint(0, 2**31 - 1, (), dtype=torch.int64))
    affine = A.Affine(
        translate_percent={"x": (-max_shift, max_shift), "y": (-max_shift, max_shift)},
        rotate=(-max_rotation, max_rotation),
        border_mode=0,
        fill=0,
        p=1.0,
    )
    return _ClassicalTransform(A.Compose([affine], seed=seed))


def seeded(transform: Any, seed: int) -> Any:
    """A copy of `transform` whose random draws are fixed by `seed`, so a run does not depend on earlier ones.

    Works for `classical_transform` results and albumentations transforms (they keep their own random
    state, which global seeding does not reach); any other callable is returned as it is, since it
    draws from the global generators that `pl.seed_everything` already seeds. The input is not changed.
    """
    if isinstance(transform, _ClassicalTransform):
        clone = copy.deepcopy(transform)
        clone._compose.set_random_seed(seed)
        return clone
    if callable(getattr(transform, "set_random_seed", None)):
        clone = copy.deepcopy(transform)
        clone.set_random_seed(seed)
        return clone
    return transform
