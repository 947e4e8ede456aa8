"""The synthetic bank: generated uint8 images per class, on disk, memory-mapped when read.

A bank is a folder holding `images.npy` (uint8 N,C,H,W), `labels.npy` (int64 N,) and `bank.json`
(class names, image shape, counts, provenance). It is written batch by batch straight into a
memory-mapped file, so a bank larger than memory can be generated, and read back with
`np.load(mmap_mode="r")`, so a training process only pages in the samples it uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from numpy.lib.format import open_memmap

from ganaug.errors import GanaugError, at_least, checked, seed
from ganaug.fileio import atomic_path, read_json, write_json
from ganaug.progress import bar

FORMAT = "ganaug-bank"
VERSION = 1
_REGENERATE = "delete the folder and generate the bank again"


class Sampler(Protocol):
    """What a bank is generated from: a class-conditional image source (e.g. GeneratorArtifact)."""

    image_shape: tuple[int, int, int]
    class_names: list[str]

    def sample(self, labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor: ...


class SyntheticBank:
    """Generated images and their labels in a folder; build with `generate`, `from_arrays` or `load`."""

    def __init__(
        self,
        directory: Path,
        images: np.ndarray,
        labels: np.ndarray,
        class_names: list[str],
        source: dict[str, Any],
    ) -> None:
        self.directory = Path(directory)
        self.class_names = [str(n) for n in class_names]
        self.source = dict(source)
        self._images = images
        self._labels = labels

    # ---- construction -------------------------------------------------------------------------

    @classmethod
    @checked(seed=seed(), batch_size=at_least(1))
    def generate(
        cls,
        sampler: Sampler,
        counts: Mapping[int, int],
        directory: str | Path,
        *,
        batch_size: int = 1024,
        seed: int = 0,
        progress: bool | None = None,
        source: dict | None = None,
    ) -> SyntheticBank:
        """Sample `counts[c]` images of each class c from `sampler` into a new bank at `directory`.

        Images are written `batch_size` at a time into a memory-mapped file inside a temporary
        folder that replaces `directory` only when every batch succeeded. One seed gives one bank
        (for one batch_size and one sampler). `progress` shows a bar (None: on a terminal only).
        """
        class_names = [str(n) for n in sampler.class_names]
        image_shape = tuple(int(s) for s in sampler.image_shape)
        plan = _check_counts(counts, class_names, getattr(sampler, "trained_classes", None))
        labels = np.concatenate(
            [np.full(n, c, dtype=np.int64) for c, n in plan.items()] or [np.zeros(0, dtype=np.int64)]
        )
        gen = torch.Generator().manual_seed(int(seed))
        with atomic_path(directory) as tmp:
            tmp.mkdir(parents=True)
            shape = (len(labels), *image_shape)
            images = open_memmap(tmp / "images.npy", mode="w+", dtype=np.uint8, shape=shape)
            with bar(len(labels), "synthetic bank", unit="img", show=progress) as shown:
                for start in range(0, len(labels), batch_size):
                    batch = torch.from_numpy(labels[start : start + batch_size])
                    out = sampler.sample(batch, generator=gen)
                    images[start : start + len(batch)] = _check_batch(out, len(batch), image_shape)
                    shown.update(len(batch))
            images.flush()
            del images
            np.save(tmp / "labels.npy", labels)
            _write_meta(tmp, class_names, image_shape, labels, {"seed": int(seed), **(source or {})})
        return cls.load(directory)

    @classmethod
    def from_arrays(
        cls,
        images: np.ndarray | torch.Tensor,
        labels: np.ndarray | torch.Tensor,
        class_names: list[str],
        directory: str | Path,
        source: dict | None = None,
    ) -> SyntheticBank:
        """Write existing uint8 (N,C,H,W) images and their labels as a bank at `directory`."""
        images = np.asarray(images)
        labels = np.asarray(labels)
        if labels.ndim == 1 and np.issubdtype(labels.dtype, np.integer):
            labels = labels.astype(np.int64)
        _check_arrays(images, labels, len(class_names), "from_arrays")
        with atomic_path(directory) as tmp:
            tmp.mkdir(parents=True)
            np.save(tmp / "images.npy", np.ascontiguousarray(images))
            np.save(tmp / "labels.npy", labels)
            _write_meta(tmp, [str(n) for n in class_names], images.shape[1:], labels, dict(source or {}))
        return cls.load(directory)

    @classmethod
    def load(cls, directory: str | Path, mmap: bool = True) -> SyntheticBank:
        """Open the bank at `directory` (memory-mapped unless mmap=False), checking it is whole."""
        d = Path(directory)
        if not d.is_dir():
            raise GanaugError(f"bank {d}: folder not found; pass a folder that SyntheticBank.generate wrote")
        meta = read_json(d / "bank.json")
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise GanaugError(f"{d / 'bank.json'}: not a {FORMAT} version {VERSION} file; {_REGENERATE}")
        try:
            class_names = [str(n) for n in meta["class_names"]]
            image_shape = tuple(int(s) for s in meta["image_shape"])
            counts = [int(n) for n in meta["counts"]]
        except (KeyError, TypeError, ValueError):
            raise GanaugError(f"{d / 'bank.json'}: missing or malformed keys; {_REGENERATE}") from None
        images, labels = _read_arrays(d, mmap)
        _check_arrays(images, labels, len(class_names), str(d))
        if images.shape[1:] != image_shape:
            raise GanaugError(
                f"{d / 'images.npy'}: images are {images.shape[1:]} but bank.json says {image_shape}; {_REGENERATE}"
            )
        if np.bincount(labels, minlength=len(class_names)).tolist() != counts:
            raise GanaugError(f"{d}: labels.npy does not match the counts in bank.json; {_REGENERATE}")
        return cls(d, images, labels, class_names, meta.get("source") or {})

    # ---- contents -----------------------------------------------------------------------------

    @property
    def images(self) -> np.ndarray:
        """All images, uint8 (N, C, H, W); a read-only memory map when loaded with mmap=True."""
        return self._images

    @property
    def labels(self) -> np.ndarray:
        """The class id of every image, int64 (N,)."""
        return self._labels

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every image."""
        return tuple(int(s) for s in self._images.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        """Number of named classes (the generator's), including ones the bank holds none of."""
        return len(self.class_names)

    def counts(self) -> list[int]:
        """Images per class id, in class-id order."""
        return np.bincount(self._labels, minlength=self.num_classes).tolist()

    def indices(self, cls: int) -> np.ndarray:
        """Positions of the images of class `cls`."""
        if not 0 <= int(cls) < self.num_classes:
            raise GanaugError(
                f"class {cls} is outside the bank's classes 0..{self.num_classes - 1}; pick one of those ids"
            )
        return np.flatnonzero(self._labels == int(cls))

    def subset(self, positions: np.ndarray | list[int]) -> SyntheticBank:
        """The samples at `positions` as an in-memory bank (same folder, class names and source).

        For picking a small part of a bank (a gate's survivors): the chosen images are copied out of
        the memory map.
        """
        idx = np.asarray(positions, dtype=np.int64).reshape(-1)
        if len(idx) and (idx.min() < 0 or idx.max() >= len(self)):
            raise GanaugError(f"bank positions must lie in 0..{len(self) - 1}; pick positions inside the bank")
        return SyntheticBank(
            self.directory, np.asarray(self.images[idx]), self.labels[idx], self.class_names, self.source
        )

    def __len__(self) -> int:
        return len(self._labels)

    def __repr__(self) -> str:
        return f"SyntheticBank({str(self.directory)!r}, n={len(self)}, counts={self.counts()})"

    def __getstate__(self) -> dict[str, Any]:
        # A memory-mapped bank travels to DataLoader workers and DDP processes as its path, not its data.
        state = self.__dict__.copy()
        if isinstance(self._images, np.memmap):
            state["_images"] = state["_labels"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self._images is None:
            self._images, self._labels = _read_arrays(self.directory, mmap=True)


def _check_counts(counts: Mapping[int, int], class_names: list[str], trained: list[int] | None) -> dict[int, int]:
    """Validate a per-class count request against the sampler's classes; return it sorted by class id."""
    allowed = sorted(int(c) for c in trained) if trained is not None else list(range(len(class_names)))
    plan: dict[int, int] = {}
    for key, n in counts.items():
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)) or int(key) not in allowed:
            raise GanaugError(
                f"counts has class {key!r} but the sampler generates only classes {allowed} "
                f"(names {[class_names[c] for c in allowed]}); ask for those class ids"
            )
        if int(n) < 0:
            raise GanaugError(f"counts[{key}]={n}: a count must be 0 or more")
        plan[int(key)] = int(n)
    return dict(sorted(plan.items()))


def _check_batch(out: Any, n: int, image_shape: tuple[int, ...]) -> np.ndarray:
    """The sampler's output for one batch as a uint8 array, or an error saying what it returned."""
    if not isinstance(out, torch.Tensor) or out.dtype != torch.uint8 or tuple(out.shape) != (n, *image_shape):
        got = f"{out.dtype} {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
        raise GanaugError(
            f"sampler.sample returned {got}, expected uint8 {(n, *image_shape)}; "
            "the sampler must return uint8 (N, C, H, W) images of its image_shape"
        )
    return out.cpu().numpy()


def _check_arrays(images: np.ndarray, labels: np.ndarray, num_classes: int, where: str) -> None:
    """Check dtypes, shapes, lengths and label range of a bank's arrays."""
    if images.dtype != np.uint8 or images.ndim != 4:
        raise GanaugError(
            f"{where}: images must be uint8 (N, C, H, W), got {images.dtype} {images.shape}; "
            "convert them with ((x + 1) * 127.5).round().clip(0, 255).astype(uint8)"
        )
    if labels.dtype != np.int64 or labels.ndim != 1:
        raise GanaugError(f"{where}: labels must be int64 (N,), got {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise GanaugError(f"{where}: {len(images)} images but {len(labels)} labels; they must match")
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise GanaugError(
            f"{where}: labels span {int(labels.min())}..{int(labels.max())} but there are {num_classes} "
            f"class names (ids 0..{num_classes - 1}); fix the labels or the class names"
        )


def _read_arrays(directory: Path, mmap: bool) -> tuple[np.ndarray, np.ndarray]:
    """Load images.npy and labels.npy without unpickling; a missing or corrupt file is a GanaugError."""
    arrays = []
    for name in ("images.npy", "labels.npy"):
        path = directory / name
        if not path.is_file():
            raise GanaugError(f"{path}: file not found; {_REGENERATE}")
        try:
            arrays.append(np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False))
        except (ValueError, OSError, EOFError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise GanaugError(f"{path}: unreadable or truncated ({reason}); {_REGENERATE}") from None
    return arrays[0], arrays[1]


def _write_meta(
    directory: Path, class_names: list[str], image_shape: tuple[int, ...], labels: np.ndarray, source: dict
) -> None:
    """Write bank.json into a bank folder that is still being built."""
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "class_names": class_names,
        "image_shape": [int(s) for s in image_shape],
        "counts": np.bincount(labels, minlength=len(class_names)).tolist(),
        "source": source,
    }
    write_json(directory / "bank.json", meta)
