"""Image transforms for real and synthetic samples alike, and the bank served as a transform.

`as_transform` lets a user bring whichever augmentation library they use (albumentations,
torchvision transforms.v2, or any callable) and get one function over ganaug's uint8 CHW images.
`SyntheticReplace` serves a bank without a new dataset: it swaps a sample for a generated one of
the same class, so it drops into an existing torchvision dataset as `transforms=`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import torch
from PIL import Image

from ganaug.errors import GanaugError
from ganaug.synth.bank import SyntheticBank

ImageT = TypeVar("ImageT", torch.Tensor, Image.Image)

__all__ = ["SyntheticReplace", "as_transform"]


def as_transform(transform: Any) -> Callable[[Any], Any]:
    """One callable over images from None, an albumentations transform/Compose, or any callable.

    None is the identity. An albumentations transform is applied to the HWC numpy form and gives a
    uint8 CHW tensor with the input's channel count (a PIL image for a PIL input). torchvision
    transforms (v1 or v2) and other callables are used as they are.
    """
    if transform is None:
        return _identity
    if _is_albumentations(transform):
        return AlbumentationsTransform(transform)
    if callable(transform):
        return transform
    raise GanaugError(
        f"transform must be None, an albumentations transform or a callable, got {type(transform).__name__}; "
        "pass e.g. torchvision.transforms.v2.RandomAffine(...) or albumentations.Compose([...])"
    )


class AlbumentationsTransform:
    """An albumentations transform made to take uint8 CHW tensors (or PIL images) and give CHW tensors.

    The output keeps the pipeline's dtype: uint8 for augmentations alone, float for a pipeline that ends
    in `Normalize` (ganaug's reference classifier takes float input as already normalised).
    """

    def __init__(self, transform: Any) -> None:
        self.transform = transform

    def __call__(self, image: ImageT) -> ImageT:
        if isinstance(image, Image.Image):
            out = self(pil_to_tensor(image))
            return match_type(out, image) if out.dtype == torch.uint8 else out  # type: ignore[return-value]
        if not isinstance(image, torch.Tensor) or image.ndim != 3:
            raise GanaugError(
                f"albumentations transform got {type(image).__name__} {getattr(image, 'shape', '')}; "
                "it takes uint8 CHW tensors or PIL images"
            )
        channels = image.shape[0]
        out = self.transform(image=np.ascontiguousarray(image.permute(1, 2, 0).numpy()))["image"]
        if isinstance(out, torch.Tensor):  # ToTensorV2 at the end of a Compose already gives CHW
            out = out.unsqueeze(0) if out.ndim == 2 else out
        else:
            out = np.asarray(out)
            out = np.ascontiguousarray(out[..., None] if out.ndim == 2 else out)
            out = torch.from_numpy(out).permute(2, 0, 1)
        if out.ndim != 3 or out.shape[0] != channels:
            raise GanaugError(
                f"albumentations transform turned a {tuple(image.shape)} image into {tuple(out.shape)}; "
                f"keep images with {channels} channel(s), as CHW"
            )
        return out.contiguous()

    def __repr__(self) -> str:
        return f"AlbumentationsTransform({self.transform!r})"


class SyntheticReplace:
    """A label-aware transform: with probability p, replace a sample of a chosen class by a bank sample.

    `__call__(image, label) -> (image, label)`; the replacement has the input's type (uint8 CHW tensor,
    or PIL image). Draws are seeded per DataLoader worker when `seed` is given.
    """

    def __init__(
        self,
        bank: SyntheticBank,
        p: float = 0.5,
        classes: Sequence[int] | None = None,
        seed: int | None = None,
    ) -> None:
        if not 0.0 <= float(p) <= 1.0:
            raise GanaugError(f"p={p}: the replacement probability must lie in [0, 1]")
        held = [c for c, n in enumerate(bank.counts()) if n > 0]
        chosen = held if classes is None else [int(c) for c in classes]
        missing = [c for c in chosen if c not in held]
        if missing:
            raise GanaugError(
                f"classes {missing} have no images in the bank (it holds classes {held}); "
                "choose among those or generate a bank for them"
            )
        self.bank = bank
        self.p = float(p)
        self.classes = chosen
        self.seed = seed
        self._indices = {c: bank.indices(c) for c in chosen}
        self._rng: np.random.Generator | None = None
        self._rng_worker: int | None = None

    def __call__(self, image: ImageT, label: Any) -> tuple[ImageT, Any]:
        cls = int(label)
        if cls not in self._indices:
            return image, label
        rng = self._generator()
        if rng.random() >= self.p:
            return image, label
        check_image_shape(image, self.bank)
        j = int(rng.choice(self._indices[cls]))
        return match_type(bank_image(self.bank, j), image), label

    def _generator(self) -> np.random.Generator:
        """The random generator of this process: one stream per DataLoader worker, so workers differ."""
        info = torch.utils.data.get_worker_info()
        worker = -1 if info is None else info.id
        if self._rng is None or self._rng_worker != worker:
            self._rng = np.random.default_rng(None if self.seed is None else [int(self.seed), worker + 1])
            self._rng_worker = worker
        return self._rng

    def __repr__(self) -> str:
        return f"SyntheticReplace(bank={self.bank!r}, p={self.p}, classes={self.classes}, seed={self.seed})"


def bank_image(bank: SyntheticBank, index: int) -> torch.Tensor:
    """Bank image `index` as a writable uint8 CHW tensor (copied out of the memory map)."""
    return torch.from_numpy(np.array(bank.images[index]))


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """A PIL image as a uint8 CHW tensor (gray -> 1 channel, anything else -> RGB)."""
    if image.mode not in ("L", "RGB"):
        image = image.convert("L" if image.mode in ("1", "I", "I;16", "F") else "RGB")
    arr = np.asarray(image)
    return torch.from_numpy(np.array(arr[..., None] if arr.ndim == 2 else arr)).permute(2, 0, 1).contiguous()


def match_type(image: torch.Tensor, like: Any) -> Any:
    """A uint8 CHW tensor in the type of `like`: a PIL image in like's mode for PIL, else unchanged."""
    if not isinstance(like, Image.Image):
        return image
    arr = image.permute(1, 2, 0).numpy()
    pil = Image.fromarray(arr[..., 0], mode="L") if arr.shape[2] == 1 else Image.fromarray(arr, mode="RGB")
    return pil if pil.mode == like.mode else pil.convert(like.mode)


def check_image_shape(image: Any, bank: SyntheticBank) -> None:
    """Raise unless a real image is a uint8 CHW tensor or PIL image of the bank's shape."""
    c, h, w = bank.image_shape
    if isinstance(image, Image.Image):
        channels = 1 if image.mode in ("1", "L", "I", "I;16", "F") else 3
        shape: tuple[int, ...] = (channels, image.height, image.width)
    elif isinstance(image, torch.Tensor) and image.dtype == torch.uint8:
        shape = tuple(image.shape)
    else:
        got = f"{image.dtype} tensor" if isinstance(image, torch.Tensor) else type(image).__name__
        raise GanaugError(
            f"real samples are {got}, but mixing needs raw images (uint8 CHW tensors or PIL); "
            "move the dataset's own transform (e.g. ToTensor/Normalize) to the ganaug transform"
        )
    if shape != (c, h, w):
        raise GanaugError(
            f"real images are {shape} (C,H,W) but the bank's are {(c, h, w)}; "
            "generate the bank from a GAN trained on this data"
        )


def _identity(image: Any) -> Any:
    return image


def _is_albumentations(transform: Any) -> bool:
    """True for an albumentations transform or Compose (user subclasses too), without importing it."""
    return any(cls.__module__.split(".")[0] == "albumentations" for cls in type(transform).__mro__)
