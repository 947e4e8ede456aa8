"""Reaching a user's raw training images, whatever transform their dataset applies itself.

Most datasets apply `ToTensor`/`Normalize` (or an albumentations pipeline) themselves, so their items are
float tensors a GAN cannot learn from and generated images cannot be mixed with. `raw_view` finds the raw
images behind such a dataset and the dataset's own transform, so that real and generated images go through
that one transform after mixing. It reads, in order:

1. a dataset whose items already are raw: uint8 CHW tensors or PIL images (ganaug's `ImageDataset` too);
2. a `raw(index) -> (image, label)` method the dataset defines (the documented way for your own dataset),
   with its `transform` attribute when it has one;
3. torchvision-style attributes: `data` (uint8 N,H,W or N,H,W,C) and `targets`, and its `transform`
   (torchvision's MNIST, FashionMNIST, KMNIST, CIFAR10/100 and datasets written like them);
4. a `torch.utils.data.Subset` of any of these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Subset

from ganaug.data.dataset import ImageDataset
from ganaug.data.sources import to_uint8_nchw
from ganaug.errors import GanaugError

FIX = (
    "give the dataset a raw(index) -> (uint8 image, label) method (or torchvision-style .data and .targets), "
    "or pass a dataset that yields uint8 CHW tensors or PIL images; see README: your own datamodule"
)


def is_raw(image: Any) -> bool:
    """Whether an image is raw: a PIL image, or a uint8 CHW tensor."""
    return isinstance(image, Image.Image) or (
        isinstance(image, torch.Tensor) and image.dtype == torch.uint8 and image.ndim == 3
    )


class _Items(Dataset):
    """(raw image, label) items read through `read(i)`, `count` of them."""

    def __init__(self, read: Callable[[int], tuple[Any, int]], count: int, labels: torch.Tensor | None) -> None:
        self.read, self.count = read, count
        if labels is not None:
            self.labels = labels

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image, label = self.read(int(index))
        return image, int(label)


@dataclass
class RawView:
    """The raw items of a dataset (a Dataset of (uint8 CHW tensor or PIL image, label)), the dataset's own
    transform to apply to them after mixing (None: none), and its class names when it gives them."""

    items: Dataset
    transform: Callable | None
    class_names: list[str] | None

    def images(self, class_names: Sequence[str] | None = None) -> ImageDataset:
        """All raw images as an ImageDataset (uint8 N,C,H,W), e.g. for the GAN to learn from."""
        images, labels = [], []
        for i in range(len(self.items)):  # type: ignore[arg-type]
            image, label = self.items[i]
            images.append(_to_tensor(image))
            labels.append(int(label))
        if not images:
            raise GanaugError(f"the training set is empty; {FIX}")
        shapes = {tuple(t.shape) for t in images}
        if len(shapes) > 1:
            raise GanaugError(f"the training images differ in shape {sorted(shapes)[:3]}; resize them to one size")
        names = list(class_names or self.class_names or [str(c) for c in range(max(labels) + 1)])
        return ImageDataset(torch.stack(images), torch.tensor(labels), names)


def _to_tensor(image: Any) -> torch.Tensor:
    if isinstance(image, torch.Tensor):
        return image
    arr = np.asarray(image.convert("RGB") if image.mode not in ("L", "RGB") else image)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(arr))


def _names(dataset: Any) -> list[str] | None:
    for attr in ("class_names", "classes"):
        names = getattr(dataset, attr, None)
        if isinstance(names, (list, tuple)) and names:
            return [str(n) for n in names]
    return None


def _labels(dataset: Any) -> torch.Tensor | None:
    for attr in ("labels", "targets"):
        values = getattr(dataset, attr, None)
        if values is not None and len(values) == len(dataset):
            return torch.as_tensor(np.asarray(values), dtype=torch.int64).reshape(-1)
    return None


def raw_view(dataset: Dataset) -> RawView:
    """The raw images behind `dataset` and its own transform (see the module docstring); a dataset ganaug
    cannot read raw images from gets a one-line error naming the fix."""
    if isinstance(dataset, Subset):
        inner = raw_view(dataset.dataset)
        indices = list(dataset.indices)
        base = getattr(inner.items, "labels", None)
        labels = None if base is None else base[torch.as_tensor(indices, dtype=torch.int64)]
        items = _Items(lambda i: inner.items[indices[i]], len(indices), labels)
        return RawView(items, inner.transform, inner.class_names)
    if len(dataset) == 0:  # type: ignore[arg-type]
        raise GanaugError(f"the training set is empty; {FIX}")
    transform = getattr(dataset, "transform", None)
    if callable(getattr(dataset, "raw", None)):
        return RawView(_Items(dataset.raw, len(dataset), _labels(dataset)), transform, _names(dataset))  # type: ignore[attr-defined,arg-type]
    data, targets = getattr(dataset, "data", None), getattr(dataset, "targets", None)
    if data is not None and targets is not None and len(data) == len(dataset):  # type: ignore[arg-type]
        images = to_uint8_nchw(data if isinstance(data, torch.Tensor) else np.asarray(data), type(dataset).__name__)
        labels = torch.as_tensor(np.asarray(targets), dtype=torch.int64).reshape(-1)
        return RawView(_Items(lambda i: (_pil(images[i]), labels[i]), len(images), labels), transform, _names(dataset))
    image = dataset[0][0]
    if is_raw(image):
        return RawView(dataset, None, _names(dataset))
    got = f"{image.dtype} tensors" if isinstance(image, torch.Tensor) else type(image).__name__
    raise GanaugError(f"the training set yields {got} (it transforms its images itself), not raw images; {FIX}")


def _pil(image: torch.Tensor) -> Image.Image:
    """A uint8 CHW tensor as the PIL image torchvision datasets give their transform."""
    arr = image.numpy()
    return Image.fromarray(arr[0], mode="L") if arr.shape[0] == 1 else Image.fromarray(arr.transpose(1, 2, 0))
