"""The in-memory image dataset every source is turned into, and its splits."""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from ganaug.errors import GanaugError
from ganaug.fileio import atomic_path, read_json


@dataclass
class ImageDataset(torch.utils.data.Dataset):
    """Images as uint8 (N, C, H, W), labels as int64 (N,), and one name per class id.

    Indexing yields `(image, label)` with the image a uint8 CHW tensor, the form every
    ganaug transform and the reference classifier take.
    """

    images: torch.Tensor
    labels: torch.Tensor
    class_names: list[str]

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise GanaugError(
                f"images must be uint8 (N, C, H, W), got {self.images.dtype} {tuple(self.images.shape)}; "
                "convert them with ganaug.data.sources.to_uint8_nchw"
            )
        if self.images.shape[1] not in (1, 3):
            raise GanaugError(f"images must have 1 or 3 channels, got {self.images.shape[1]}")
        self.labels = torch.as_tensor(self.labels, dtype=torch.int64).reshape(-1)
        if len(self.labels) != len(self.images):
            raise GanaugError(f"{len(self.images)} images but {len(self.labels)} labels; they must match")
        out_of_range = len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names))
        if out_of_range:
            raise GanaugError(
                f"labels must lie in 0..{len(self.class_names) - 1} (one per class name), "
                f"got {int(self.labels.min())}..{int(self.labels.max())}"
            )
        self.class_names = [str(n) for n in self.class_names]
        twice = sorted({n for n in self.class_names if self.class_names.count(n) > 1})
        if twice:
            raise GanaugError(f"class names must be unique, but {twice} name more than one class; name each once")

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor, int]]:
        """The samples at `indices` in one gather (DataLoader's automatic batching calls this)."""
        idx = torch.as_tensor(indices, dtype=torch.int64)
        return list(zip(self.images[idx], self.labels[idx].tolist(), strict=True))

    @property
    def num_classes(self) -> int:
        """Number of classes (named), including ones with no images here."""
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every image."""
        return tuple(int(s) for s in self.images.shape[1:])  # type: ignore[return-value]

    def counts(self) -> list[int]:
        """Images per class id, in class-id order."""
        return torch.bincount(self.labels, minlength=self.num_classes).tolist()

    def subset(self, indices: Sequence[int] | torch.Tensor) -> ImageDataset:
        """A new dataset holding only `indices`, with the same class names."""
        idx = torch.as_tensor(indices, dtype=torch.int64)
        return ImageDataset(self.images[idx], self.labels[idx], list(self.class_names))


class DataSpec(NamedTuple):
    """What makes two things the same data: the class names and the image shape (C, H, W)."""

    class_names: list[str]
    image_shape: tuple[int, int, int]


def spec_of(thing: Any) -> DataSpec:
    """The DataSpec of anything with `class_names` and `image_shape` (datasets, banks, generators, ...)."""
    return DataSpec([str(n) for n in thing.class_names], tuple(int(s) for s in thing.image_shape))  # type: ignore[arg-type]


def check_same_data(subject: Any, reference: Any, subject_name: str, reference_name: str, fix: str) -> None:
    """Refuse `subject` unless it has the class names and image shape of `reference` (both DataSpec-like)."""
    a, b = spec_of(subject), spec_of(reference)
    if a != b:
        raise GanaugError(
            f"{subject_name} has classes {a.class_names} of {a.image_shape} images, but {reference_name} has "
            f"{b.class_names} of {b.image_shape}; {fix}"
        )


@dataclass
class DatasetSplits:
    """Train, validation and test splits of one source, sharing their class names."""

    train: ImageDataset
    val: ImageDataset
    test: ImageDataset

    def __post_init__(self) -> None:
        names = {tuple(s.class_names) for s in (self.train, self.val, self.test)}
        shapes = {s.image_shape for s in (self.train, self.val, self.test) if len(s)}
        if len(names) != 1 or len(shapes) > 1:
            raise GanaugError("train, val and test splits must share class names and image shape")

    @property
    def class_names(self) -> list[str]:
        """The class names shared by every split."""
        return self.train.class_names

    def save(self, directory: str | Path) -> None:
        """Write the splits to `directory` (one uint8 npz per split plus classes.json), atomically."""
        with atomic_path(directory) as tmp:
            tmp.mkdir(parents=True)
            for name in ("train", "val", "test"):
                split: ImageDataset = getattr(self, name)
                np.savez(tmp / f"{name}.npz", images=split.images.numpy(), labels=split.labels.numpy())
            (tmp / "classes.json").write_text(json.dumps(self.class_names))

    @classmethod
    def load(cls, directory: str | Path) -> DatasetSplits:
        """Read splits written by `save` (no pickle)."""
        d = Path(directory)
        names = read_json(d / "classes.json")
        splits = {}
        for name in ("train", "val", "test"):
            path = d / f"{name}.npz"
            try:
                with np.load(path, allow_pickle=False) as f:
                    images, labels = torch.from_numpy(f["images"]), torch.from_numpy(f["labels"])
            except (ValueError, OSError, EOFError, KeyError, TypeError, zipfile.BadZipFile, zlib.error) as exc:
                fix = f"delete {d} to prepare it again"
                raise GanaugError(f"{path}: damaged or not a prepared split ({exc}); {fix}") from None
            splits[name] = ImageDataset(images, labels, names)
        return cls(**splits)


def stratified_split(
    dataset: ImageDataset, fraction: float, seed: int
) -> tuple[ImageDataset, ImageDataset]:
    """Split into (rest, held) with `fraction` of every class held out, reproducibly by `seed`.

    Every class with at least two images keeps at least one on each side.
    """
    if not 0.0 < fraction < 1.0:
        raise GanaugError(f"split fraction must lie strictly between 0 and 1, got {fraction}")
    gen = torch.Generator().manual_seed(seed)
    held, rest = [], []
    for c in range(dataset.num_classes):
        idx = torch.nonzero(dataset.labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        n_held = int(round(len(idx) * fraction))
        if len(idx) >= 2:
            n_held = min(max(n_held, 1), len(idx) - 1)
        held.append(idx[:n_held])
        rest.append(idx[n_held:])
    held_idx, rest_idx = torch.cat(held).sort().values, torch.cat(rest).sort().values
    return dataset.subset(rest_idx), dataset.subset(held_idx)
