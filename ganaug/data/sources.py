"""Data sources: each reads one kind of input into train/val/test `DatasetSplits` of uint8 images.

A source that lacks a validation or test split gets one carved out of its data with
`stratified_split`, so every class is represented in every split.
"""

from __future__ import annotations

import logging
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ganaug.data.dataset import DatasetSplits, ImageDataset, stratified_split
from ganaug.data.idx import read_idx
from ganaug.errors import GanaugError, at_least, between, checked, one_of, optional, seed

log = logging.getLogger("ganaug")

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
TORCHVISION_DATASETS = ("MNIST", "FashionMNIST", "KMNIST", "CIFAR10")
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


def to_uint8_nchw(images: np.ndarray | torch.Tensor, what: str) -> torch.Tensor:
    """Turn uint8 (N, H, W) or (N, H, W, C) pixels into the uint8 (N, C, H, W) tensor ImageDataset holds.

    `what` names the array's origin in the error raised for any other dtype or layout.
    """
    arr = images.numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if arr.dtype != np.uint8:
        raise GanaugError(
            f"{what}: images have dtype {arr.dtype}, expected uint8 pixels 0..255; "
            "convert them first, e.g. (x * 255).round().astype(np.uint8) for floats in 0..1"
        )
    if arr.ndim == 3:
        arr = arr[:, None]
    elif arr.ndim == 4 and arr.shape[3] in (1, 3):
        arr = arr.transpose(0, 3, 1, 2)
    else:
        raise GanaugError(
            f"{what}: images have shape {arr.shape}, expected (N, H, W) gray or (N, H, W, 3) colour"
        )
    return torch.from_numpy(np.ascontiguousarray(arr))


def _labels(labels: np.ndarray | torch.Tensor | list, count: int, what: str) -> torch.Tensor:
    """Validate integer labels of shape (N,) or (N, 1) for `count` images; return int64 (N,)."""
    arr = labels.numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise GanaugError(
            f"{what}: labels have dtype {arr.dtype} shape {arr.shape}; "
            "expected integer class ids of shape (N,) or (N, 1)"
        )
    if len(arr) != count:
        raise GanaugError(f"{what}: {count} images but {len(arr)} labels; give exactly one label per image")
    if len(arr) and arr.min() < 0:
        raise GanaugError(f"{what}: negative label {arr.min()}; labels must be class ids 0..K-1")
    return torch.from_numpy(arr.astype(np.int64))


def _numeric_names(labels: list[torch.Tensor], minimum: int = 0) -> list[str]:
    """Class names "0".."K-1" with K = max(minimum, largest label + 1)."""
    top = max((int(t.max()) + 1 for t in labels if len(t)), default=0)
    return [str(i) for i in range(max(minimum, top))]


# The share of a source's images a carved validation or test split takes.
FRACTION = between(0, 1, low_open=True, high_open=True)
SPLIT_CONSTRAINTS = {"val_fraction": FRACTION, "test_fraction": FRACTION, "split_seed": seed()}


def assemble_splits(
    train: ImageDataset,
    val: ImageDataset | None,
    test: ImageDataset | None,
    val_fraction: float,
    test_fraction: float,
    split_seed: int,
) -> DatasetSplits:
    """The splits, the missing ones carved out of `train`; both fractions are of the data `train` started with."""
    if len(train) == 0:
        raise GanaugError("the training split holds no images; give the source training images")
    if test is None and val is None:
        if val_fraction + test_fraction >= 1.0:
            raise GanaugError(
                f"val_fraction={val_fraction} + test_fraction={test_fraction} leave no training "
                "data; make their sum less than 1"
            )
        train, test = stratified_split(train, test_fraction, split_seed)
        train, val = stratified_split(train, val_fraction / (1.0 - test_fraction), split_seed + 1)
    elif test is None:
        train, test = stratified_split(train, test_fraction, split_seed)
    elif val is None:
        train, val = stratified_split(train, val_fraction, split_seed)
    return DatasetSplits(train, val, test)


def _existing_folder(root: str | Path, key: str) -> Path:
    d = Path(root).expanduser()
    if not d.is_dir():
        raise GanaugError(f"{key}={root}: folder not found; pass an existing folder with {key}=DIR")
    return d


@checked(**SPLIT_CONSTRAINTS)
def load_digits(
    val_fraction: float = 0.15, test_fraction: float = 0.25, split_seed: int = 0
) -> DatasetSplits:
    """scikit-learn's bundled 8x8 handwritten digits (no network), 16 gray levels scaled to 0..255."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    pixels = np.round(bunch.images * 255.0 / 16.0).clip(0, 255).astype(np.uint8)
    names = [str(i) for i in range(10)]
    data = ImageDataset(to_uint8_nchw(pixels, "digits"), torch.as_tensor(bunch.target), names)
    return assemble_splits(data, None, None, val_fraction, test_fraction, split_seed)


def _idx_file(root: Path, name: str) -> Path | None:
    for candidate in (root / name, root / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _idx_split(root: Path, prefix: str) -> tuple[torch.Tensor, torch.Tensor] | None:
    """One MNIST split's (images, labels) from `root`, or None when its images file is absent."""
    images_path = _idx_file(root, f"{prefix}-images-idx3-ubyte")
    labels_path = _idx_file(root, f"{prefix}-labels-idx1-ubyte")
    if images_path is None and labels_path is None:
        return None
    if images_path is None or labels_path is None:
        missing = f"{prefix}-{'images-idx3' if images_path is None else 'labels-idx1'}-ubyte"
        raise GanaugError(f"{root}: {missing}[.gz] is missing; put both files of the {prefix} split there")
    images = read_idx(images_path)
    if images.ndim != 3:
        raise GanaugError(f"{images_path}: IDX images must be (N, H, W), got {images.shape}; fix the file")
    labels = read_idx(labels_path)
    if labels.ndim != 1:
        raise GanaugError(f"{labels_path}: IDX labels must be 1-D (N,), got {labels.shape}; check the file")
    if len(labels) != len(images):
        raise GanaugError(
            f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path.name}; "
            "the files belong to different splits, use the matching pair"
        )
    return to_uint8_nchw(images, str(images_path)), _labels(labels, len(images), str(labels_path))


@checked(**SPLIT_CONSTRAINTS)
def load_mnist(
    root: str, val_fraction: float = 0.1, test_fraction: float = 0.2, split_seed: int = 0
) -> DatasetSplits:
    """MNIST-style IDX files in `root` (train-* and/or t10k-*, each gzip-compressed or not).

    With both splits, t10k is the test set and validation is carved from train; with only one,
    validation and test are both carved from it.
    """
    d = _existing_folder(root, "root")
    found = {prefix: _idx_split(d, prefix) for prefix in ("train", "t10k")}
    present = {k: v for k, v in found.items() if v is not None}
    if not present:
        raise GanaugError(
            f"root={root}: no MNIST IDX files found; the folder needs train-images-idx3-ubyte and "
            "train-labels-idx1-ubyte and/or t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (.gz or not)"
        )
    shapes = {tuple(images.shape[1:]) for images, _ in present.values()}
    if len(shapes) > 1:
        raise GanaugError(f"root={root}: train/t10k sizes differ {sorted(shapes)}; use one dataset")
    names = _numeric_names([labels for _, labels in present.values()], minimum=10)
    datasets = {k: ImageDataset(images, labels, names) for k, (images, labels) in present.items()}
    if len(datasets) == 2:
        return assemble_splits(datasets["train"], None, datasets["t10k"], val_fraction, test_fraction, split_seed)
    (only,) = datasets.values()
    return assemble_splits(only, None, None, val_fraction, test_fraction, split_seed)


_BROKEN_ARCHIVE = (ValueError, OSError, zipfile.BadZipFile, zlib.error)


def dense_labels(labels: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[str]] | None:
    """Sparse class ids (some id below the largest used by no split: 0, 1e6, 2e6) remapped to 0..K-1 in
    sorted order, with the original ids as the class names (the mapping, recorded); None when they are dense."""
    used = torch.unique(torch.cat(labels)) if labels else torch.zeros(0, dtype=torch.int64)
    if not len(used) or int(used.max()) + 1 == len(used):
        return None
    return [torch.searchsorted(used, t) for t in labels], [str(int(i)) for i in used]


@checked(**SPLIT_CONSTRAINTS)
def load_npz(
    path: str,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    split_seed: int = 0,
    class_names: list[str] | None = None,
) -> DatasetSplits:
    """A MedMNIST-layout .npz: `train_images`/`train_labels` and optional `val_*`, `test_*` pairs.

    Images are uint8 (N, H, W) gray or (N, H, W, 3) colour; labels (N,) or (N, 1). Never unpickles.
    Without `class_names`, sparse class ids are remapped to 0..K-1 (`dense_labels`), named by their ids.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise GanaugError(f"path={path}: file not found; pass an existing file with path=FILE.npz")
    try:
        archive = np.load(p, allow_pickle=False)
    except (*_BROKEN_ARCHIVE, EOFError) as exc:
        raise GanaugError(
            f"path={path}: not a readable .npz archive ({exc}); pass a numpy .npz file"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise GanaugError(f"path={path}: a single .npy array, not a .npz archive; save it with np.savez")
    with archive:
        keys = set(archive.files)
        if "train_images" not in keys or "train_labels" not in keys:
            raise GanaugError(
                f"{p}: keys {sorted(keys)} lack train_images/train_labels; use the MedMNIST layout "
                "(train_images, train_labels, optional val_* and test_*)"
            )
        raw: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        for split in ("train", "val", "test"):
            has = (f"{split}_images" in keys, f"{split}_labels" in keys)
            if not any(has):
                continue
            if not all(has):
                raise GanaugError(f"{p}: only one of {split}_images/{split}_labels; store both or neither")
            try:
                images, labels = archive[f"{split}_images"], archive[f"{split}_labels"]
            except ValueError as exc:
                raise GanaugError(f"{p}: {split} arrays cannot be read without unpickling ({exc}); "
                                  "store plain numeric arrays") from None
            except (*_BROKEN_ARCHIVE, EOFError) as exc:
                raise GanaugError(f"{p}: the {split} arrays are damaged ({exc}); write the file again") from None
            tensor = to_uint8_nchw(images, f"{p}:{split}_images")
            raw[split] = tensor, _labels(labels, len(tensor), f"{p}:{split}_labels")
    shapes = {tuple(images.shape[1:]) for images, _ in raw.values()}
    if len(shapes) > 1:
        raise GanaugError(f"{p}: splits differ in image shape {sorted(shapes)}; give all splits one shape")
    names = _numeric_names([labels for _, labels in raw.values()])
    remapped = dense_labels([labels for _, labels in raw.values()]) if class_names is None else None
    if remapped is not None:
        relabelled, names = remapped
        raw = {k: (images, new) for (k, (images, _)), new in zip(raw.items(), relabelled, strict=True)}
        shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
        log.warning("%s: class ids %s are not 0..%d; they are classes 0..%d now, named by their ids",
                    p, shown, len(names) - 1, len(names) - 1)  # fmt: skip
    if class_names is not None:
        if len(class_names) < len(names):
            raise GanaugError(
                f"{p}: labels go up to {len(names) - 1} but only {len(class_names)} class names were given; "
                "give one name per class id"
            )
        names = [str(n) for n in class_names]
    splits = {k: ImageDataset(images, labels, names) for k, (images, labels) in raw.items()}
    return assemble_splits(
        splits["train"], splits.get("val"), splits.get("test"), val_fraction, test_fraction, split_seed
    )


# PIL modes of more than 8 bits per pixel, and the largest value each holds: rescaled to 0..255, not clipped.
_DEEP_MODES = {"I;16": 65535, "I;16B": 65535, "I;16L": 65535, "I": 65535, "F": 1.0}


def _eight_bit(image: Image.Image, path: Path) -> Image.Image:
    """An 8-bit image of `image`: 16-bit gray (PNG/TIFF, common for medical images) and 32-bit integer gray
    scaled from 0..65535, float gray from 0..1; values outside that range are refused, not clipped."""
    top = _DEEP_MODES.get(image.mode)
    if top is None:
        return image
    pixels = np.asarray(image, dtype=np.float64)
    if pixels.size and (pixels.min() < 0 or pixels.max() > top):
        raise GanaugError(
            f"{path}: {image.mode} pixels span {pixels.min():g}..{pixels.max():g}, outside 0..{top:g}; "
            "rescale the image to that range (or to 8 bits) first"
        )
    return Image.fromarray(np.round(pixels * (255 / top)).astype(np.uint8), "L")


def _open_image(path: Path) -> Image.Image:
    """The decoded image at `path`, detached from its file."""
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise GanaugError(f"{path}: cannot read this image ({exc}); fix or remove the file") from None


@checked(**SPLIT_CONSTRAINTS, channels=one_of((None, 1, 3), "channel count"), image_size=optional(at_least(1)))
def load_image_folder(
    root: str,
    image_size: int | None = None,
    channels: int | None = None,
    val_fraction: float = 0.15,
    test_fraction: float = 0.2,
    split_seed: int = 0,
) -> DatasetSplits:
    """One subfolder per class (sorted folder names are the class names) of PIL-readable images.

    `channels` None means 3 if any image is colour, else 1. `image_size` None requires every image
    to share one size; an int resizes every image to image_size x image_size.
    """
    d = _existing_folder(root, "root")
    class_dirs = sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith("."))
    files: list[tuple[Path, int]] = []
    for label, class_dir in enumerate(class_dirs):
        found = sorted(
            f for f in class_dir.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS
        )
        if not found:
            raise GanaugError(
                f"{class_dir}: class folder holds no images ({', '.join(IMAGE_EXTENSIONS)}); "
                "add images or remove the folder"
            )
        files.extend((f, label) for f in found)
    if not files:
        raise GanaugError(
            f"root={root}: no class subfolders with images; put each class's images in root/CLASS_NAME/"
        )
    images = [_open_image(f) for f, _ in files]
    if channels is None:
        channels = 3 if any(im.mode not in _GRAY_MODES for im in images) else 1
    if image_size is None:
        sizes = {im.size for im in images}
        if len(sizes) > 1:
            raise GanaugError(
                f"root={root}: images differ in size ({len(sizes)} sizes, e.g. {sorted(sizes)[:3]}); "
                "resize them all with image_size=N"
            )
    mode = "RGB" if channels == 3 else "L"
    arrays = []
    for (path, _), im in zip(files, images, strict=True):
        im = _eight_bit(im, path).convert(mode)
        if image_size is not None:
            im = im.resize((int(image_size), int(image_size)), Image.Resampling.BILINEAR)
        arrays.append(np.asarray(im, dtype=np.uint8))
    data = ImageDataset(
        to_uint8_nchw(np.stack(arrays), str(d)),
        torch.tensor([label for _, label in files], dtype=torch.int64),
        [p.name for p in class_dirs],
    )
    return assemble_splits(data, None, None, val_fraction, test_fraction, split_seed)


def _torchvision_split(dataset, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    images = to_uint8_nchw(dataset.data, what)
    return images, _labels(np.asarray(dataset.targets), len(images), what)


@checked(val_fraction=FRACTION, name=one_of(TORCHVISION_DATASETS, "torchvision dataset"))
def load_torchvision(
    name: str, root: str, download: bool = False, val_fraction: float = 0.1, split_seed: int = 0
) -> DatasetSplits:
    """A torchvision dataset (MNIST, FashionMNIST, KMNIST, CIFAR10): train/test sets, val carved from train.

    The files are whatever torchvision reads or downloads (md5-checked official archives).
    """
    import torchvision.datasets

    if not download:
        _existing_folder(root, "root")
    cls = getattr(torchvision.datasets, name)
    try:
        train_set = cls(str(root), train=True, download=download)
        test_set = cls(str(root), train=False, download=download)
    except RuntimeError as exc:
        raise GanaugError(
            f"root={root}: torchvision {name} not usable there ({str(exc).splitlines()[0]}); "
            "set download=True or point root at a folder holding it"
        ) from None
    train_images, train_labels = _torchvision_split(train_set, f"{name} train")
    test_images, test_labels = _torchvision_split(test_set, f"{name} test")
    classes = getattr(train_set, "classes", None)
    names = _numeric_names([train_labels, test_labels])
    if isinstance(classes, list) and len(classes) >= len(names):
        names = [str(c) for c in classes]
    return assemble_splits(
        ImageDataset(train_images, train_labels, names),
        None,
        ImageDataset(test_images, test_labels, names),
        val_fraction=val_fraction,
        test_fraction=0.0,
        split_seed=split_seed,
    )
