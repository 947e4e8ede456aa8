"""Data sources: digits, MNIST IDX folders, npz, image folders, torchvision, and their bad inputs."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_data_idx import write_idx

from ganaug.data import sources
from ganaug.data.sources import (
    load_digits,
    load_image_folder,
    load_mnist,
    load_npz,
    load_torchvision,
    to_uint8_nchw,
)
from ganaug.errors import GanaugError


def toy_pixels(n: int, h: int = 6, w: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w), dtype=np.uint8)


def toy_labels(n: int, k: int = 3) -> np.ndarray:
    return (np.arange(n) % k).astype(np.uint8)


def all_rows(splits) -> set[bytes]:
    return {img.numpy().tobytes() for s in (splits.train, splits.val, splits.test) for img in s.images}


# ---- helpers shared by every source


def test_to_uint8_nchw_layouts() -> None:
    gray = toy_pixels(4)
    out = to_uint8_nchw(gray, "x")
    assert out.shape == (4, 1, 6, 5) and out.dtype == torch.uint8
    assert torch.equal(out[:, 0], torch.from_numpy(gray))
    rgb = np.random.default_rng(1).integers(0, 256, size=(2, 4, 3, 3), dtype=np.uint8)
    out = to_uint8_nchw(rgb, "x")
    assert out.shape == (2, 3, 4, 3) and out[1, 2, 3, 0] == rgb[1, 3, 0, 2]
    with pytest.raises(GanaugError, match="x: images have dtype float32, expected uint8 .*astype"):
        to_uint8_nchw(gray.astype(np.float32), "x")
    with pytest.raises(GanaugError, match=r"shape \(4, 5\), expected \(N, H, W\)"):
        to_uint8_nchw(gray[:, 0], "x")


# ---- digits


def test_load_digits() -> None:
    splits = load_digits(val_fraction=0.15, test_fraction=0.25, split_seed=0)
    sizes = [len(splits.train), len(splits.val), len(splits.test)]
    assert sum(sizes) == 1797
    assert abs(sizes[2] - 0.25 * 1797) < 12 and abs(sizes[1] - 0.15 * 1797) < 12
    assert splits.class_names == [str(i) for i in range(10)]
    assert splits.train.image_shape == (1, 8, 8)
    assert int(splits.train.images.max()) == 255 and int(splits.train.images.min()) == 0
    # 16 gray levels scaled by 255/16 and rounded
    levels = set(torch.cat([splits.train.images, splits.test.images]).unique().tolist())
    assert levels <= {round(v * 255 / 16) for v in range(17)}
    assert all(c > 0 for s in (splits.train, splits.val, splits.test) for c in s.counts())
    same = load_digits(split_seed=0)
    other = load_digits(split_seed=1)
    assert torch.equal(same.test.images, splits.test.images)
    assert not torch.equal(other.test.images, splits.test.images)


@pytest.mark.parametrize(
    ("val", "test", "message"),
    [
        (0.0, 0.2, "val_fraction=0.0: must lie strictly between 0 and 1"),
        (0.1, 1.5, "test_fraction=1.5: must lie strictly between 0 and 1"),
        (0.5, 0.5, "leave no training data; make their sum less than 1"),
    ],
)
def test_bad_fractions(val: float, test: float, message: str) -> None:
    with pytest.raises(GanaugError, match=message):
        load_digits(val_fraction=val, test_fraction=test)


# ---- MNIST IDX folders


def write_split(root: Path, prefix: str, images: np.ndarray, labels: np.ndarray, gz: bool) -> None:
    suffix = ".gz" if gz else ""
    write_idx(root / f"{prefix}-images-idx3-ubyte{suffix}", images, compress=gz)
    write_idx(root / f"{prefix}-labels-idx1-ubyte{suffix}", labels, compress=gz)


def test_mnist_both_splits(tmp_path: Path) -> None:
    train, t10k = toy_pixels(60, seed=1), toy_pixels(15, seed=2)
    write_split(tmp_path, "train", train, toy_labels(60), gz=True)
    write_split(tmp_path, "t10k", t10k, toy_labels(15), gz=False)
    splits = load_mnist(str(tmp_path), val_fraction=0.2, split_seed=0)
    assert torch.equal(splits.test.images[:, 0], torch.from_numpy(t10k))
    assert torch.equal(splits.test.labels, torch.from_numpy(toy_labels(15)).long())
    assert len(splits.train) == 48 and len(splits.val) == 12
    assert splits.val.counts() == [4, 4, 4] + [0] * 7
    # train + val is exactly the train file
    seen = {img.numpy().tobytes() for s in (splits.train, splits.val) for img in s.images}
    assert seen == {img.tobytes() for img in train[:, None]}
    assert splits.class_names == [str(i) for i in range(10)]


def test_mnist_single_split_carves_val_and_test(tmp_path: Path) -> None:
    images = toy_pixels(120, seed=3)
    write_split(tmp_path, "train", images, toy_labels(120, 4), gz=False)
    splits = load_mnist(str(tmp_path), val_fraction=0.1, test_fraction=0.2, split_seed=5)
    # test: 20% of each class of 30; val: 10% of the whole, taken from what test left
    assert (len(splits.train), len(splits.val), len(splits.test)) == (84, 12, 24)
    assert all_rows(splits) == {img.tobytes() for img in images[:, None]}


def test_mnist_class_names_from_max_label(tmp_path: Path) -> None:
    labels = (np.arange(40) % 12).astype(np.uint8)
    write_split(tmp_path, "t10k", toy_pixels(40), labels, gz=True)
    splits = load_mnist(str(tmp_path), val_fraction=0.25, test_fraction=0.25)
    assert splits.class_names == [str(i) for i in range(12)]


def test_mnist_reference_t10k(mnist_dir: Path) -> None:
    splits = load_mnist(str(mnist_dir), val_fraction=0.1, test_fraction=0.2, split_seed=0)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (7000, 1000, 2000)
    assert splits.train.image_shape == (1, 28, 28)
    assert splits.class_names == [str(i) for i in range(10)]
    counts = zip(splits.train.counts(), splits.val.counts(), splits.test.counts(), strict=True)
    total = [a + b + c for a, b, c in counts]
    assert sum(total) == 10000 and all(n > 800 for n in total)
    # stratified: every class's test share is ~20%
    for n, t in zip(total, splits.test.counts(), strict=True):
        assert abs(t - 0.2 * n) <= 1


def test_mnist_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(GanaugError, match="root=.*missing: folder not found; pass an existing folder"):
        load_mnist(str(tmp_path / "missing"))
    with pytest.raises(GanaugError, match="no MNIST IDX files found; the folder needs train-images-idx3"):
        load_mnist(str(tmp_path))
    write_idx(tmp_path / "train-images-idx3-ubyte", toy_pixels(10))
    with pytest.raises(GanaugError, match="train-labels-idx1-ubyte\\[.gz\\] is missing"):
        load_mnist(str(tmp_path))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", toy_labels(9), compress=True)
    with pytest.raises(GanaugError, match="9 labels for 10 images .* use the matching pair"):
        load_mnist(str(tmp_path))
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    write_idx(tmp_path / "train-labels-idx1-ubyte", toy_labels(10).reshape(5, 2))
    with pytest.raises(GanaugError, match="IDX labels must be 1-D"):
        load_mnist(str(tmp_path))
    write_idx(tmp_path / "train-images-idx3-ubyte", toy_pixels(10).reshape(10, 30))
    with pytest.raises(GanaugError, match=r"IDX images must be \(N, H, W\)"):
        load_mnist(str(tmp_path))
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x08\x03garbage")
    with pytest.raises(GanaugError, match="bad IDX magic"):
        load_mnist(str(tmp_path))


def test_mnist_split_size_mismatch(tmp_path: Path) -> None:
    write_split(tmp_path, "train", toy_pixels(12, 6, 5), toy_labels(12), gz=False)
    write_split(tmp_path, "t10k", toy_pixels(6, 7, 7), toy_labels(6), gz=False)
    with pytest.raises(GanaugError, match="train/t10k sizes differ"):
        load_mnist(str(tmp_path))


# ---- npz (MedMNIST layout)


def test_npz_all_splits_gray_with_column_labels(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    arrays = {}
    for split, n in (("train", 12), ("val", 6), ("test", 9)):
        arrays[f"{split}_images"] = toy_pixels(n, seed=n)
        arrays[f"{split}_labels"] = toy_labels(n).reshape(n, 1)
    np.savez(path, **arrays)
    splits = load_npz(str(path))
    for split in ("train", "val", "test"):
        ds = getattr(splits, split)
        assert torch.equal(ds.images[:, 0], torch.from_numpy(arrays[f"{split}_images"]))
        assert torch.equal(ds.labels, torch.from_numpy(arrays[f"{split}_labels"][:, 0]).long())
    assert splits.class_names == ["0", "1", "2"]


def test_npz_rgb_train_only_and_class_names(tmp_path: Path) -> None:
    path = tmp_path / "rgb.npz"
    images = np.random.default_rng(0).integers(0, 256, size=(40, 5, 5, 3), dtype=np.uint8)
    np.savez_compressed(path, train_images=images, train_labels=toy_labels(40, 2).astype(np.int64))
    splits = load_npz(str(path), val_fraction=0.1, test_fraction=0.2, class_names=["cat", "dog", "fox"])
    assert splits.train.image_shape == (3, 5, 5)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (28, 4, 8)
    assert splits.class_names == ["cat", "dog", "fox"]
    assert all_rows(splits) == {img.tobytes() for img in images.transpose(0, 3, 1, 2)}


def test_npz_test_present_val_carved(tmp_path: Path) -> None:
    path = tmp_path / "tv.npz"
    np.savez(path, train_images=toy_pixels(30), train_labels=toy_labels(30),
             test_images=toy_pixels(6, seed=9), test_labels=toy_labels(6))
    splits = load_npz(str(path), val_fraction=0.2)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (24, 6, 6)
    assert torch.equal(splits.test.images[:, 0], torch.from_numpy(toy_pixels(6, seed=9)))


def test_npz_val_present_test_carved(tmp_path: Path) -> None:
    path = tmp_path / "vt.npz"
    np.savez(path, train_images=toy_pixels(30), train_labels=toy_labels(30),
             val_images=toy_pixels(6, seed=9), val_labels=toy_labels(6))
    splits = load_npz(str(path), test_fraction=0.2)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (24, 6, 6)
    assert torch.equal(splits.val.images[:, 0], torch.from_numpy(toy_pixels(6, seed=9)))


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"images": toy_pixels(4), "labels": toy_labels(4)}, "lack train_images/train_labels; use the Med"),
        ({"train_images": toy_pixels(4)}, "lack train_images/train_labels"),
        (
            {"train_images": toy_pixels(4)[:, 0], "train_labels": toy_labels(4)},
            r"train_images: images have shape \(4, 5\), expected \(N, H, W\) gray or \(N, H, W, 3\)",
        ),
        (
            {"train_images": np.zeros((4, 5, 5, 2), np.uint8), "train_labels": toy_labels(4)},
            "expected \\(N, H, W\\) gray",
        ),
        ({"train_images": toy_pixels(4), "train_labels": toy_labels(5)}, "4 images but 5 labels"),
        (
            {"train_images": toy_pixels(4).astype(np.float32) / 255, "train_labels": toy_labels(4)},
            "dtype float32, expected uint8 pixels 0..255; convert them first",
        ),
        (
            {"train_images": toy_pixels(4), "train_labels": np.zeros(4, np.float32)},
            "expected integer class ids",
        ),
        (
            {"train_images": toy_pixels(4), "train_labels": toy_labels(4), "val_images": toy_pixels(2)},
            "only one of val_images/val_labels; store both or neither",
        ),
        (
            {
                "train_images": toy_pixels(4), "train_labels": toy_labels(4),
                "test_images": toy_pixels(2, 3, 3), "test_labels": toy_labels(2),
            },
            "splits differ in image shape",
        ),
        (
            {"train_images": toy_pixels(4), "train_labels": np.array([0, 1, -1, 2])},
            "negative label -1",
        ),
    ],
)
def test_npz_bad_layouts(tmp_path: Path, arrays: dict, message: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(GanaugError, match=message) as info:
        load_npz(str(path))
    assert "\n" not in str(info.value)


def test_npz_bad_files(tmp_path: Path) -> None:
    with pytest.raises(GanaugError, match="path=.*nope.npz: file not found; pass an existing file"):
        load_npz(str(tmp_path / "nope.npz"))
    (tmp_path / "text.npz").write_text("hello, not numpy")
    with pytest.raises(GanaugError, match="not a readable .npz archive"):
        load_npz(str(tmp_path / "text.npz"))
    np.save(tmp_path / "one.npy", toy_pixels(3))
    with pytest.raises(GanaugError, match="a single .npy array, not a .npz archive"):
        load_npz(str(tmp_path / "one.npy"))
    np.savez(tmp_path / "obj.npz", train_images=np.array([None, 1], dtype=object), train_labels=toy_labels(2))
    with pytest.raises(GanaugError, match="cannot be read without unpickling"):
        load_npz(str(tmp_path / "obj.npz"))
    np.savez(tmp_path / "k.npz", train_images=toy_pixels(9), train_labels=toy_labels(9))
    with pytest.raises(GanaugError, match="labels go up to 2 but only 2 class names"):
        load_npz(str(tmp_path / "k.npz"), class_names=["a", "b"])


# ---- image folders


def save_images(
    folder: Path, count: int, size: tuple[int, int] = (6, 6), mode: str = "L", ext: str = "png"
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(folder)) + count)
    for i in range(count):
        shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
        Image.fromarray(rng.integers(0, 256, size=shape, dtype=np.uint8), mode).save(folder / f"{i}.{ext}")


def test_image_folder_gray(tmp_path: Path) -> None:
    save_images(tmp_path / "b_cat", 10)
    save_images(tmp_path / "a_dog", 10, ext="bmp")
    (tmp_path / "a_dog" / "notes.txt").write_text("not an image, ignored")
    (tmp_path / "loose.png").write_bytes(b"files at the root are ignored")
    splits = load_image_folder(str(tmp_path), val_fraction=0.2, test_fraction=0.2)
    assert splits.class_names == ["a_dog", "b_cat"]
    assert splits.train.image_shape == (1, 6, 6)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (12, 4, 4)
    first = np.asarray(Image.open(tmp_path / "a_dog" / "0.bmp"))
    parts = (splits.train, splits.val, splits.test)
    dogs = {img.numpy().tobytes() for s in parts for img in s.images[s.labels == 0]}
    assert first.tobytes() in dogs and len(dogs) == 10


def test_image_folder_colour_detected_and_forced_gray(tmp_path: Path) -> None:
    save_images(tmp_path / "x", 5)
    save_images(tmp_path / "y", 5, mode="RGB", ext="jpg")
    splits = load_image_folder(str(tmp_path), val_fraction=0.2, test_fraction=0.2)
    assert splits.train.image_shape == (3, 6, 6)
    gray_class = torch.cat([s.images[s.labels == 0] for s in (splits.train, splits.val, splits.test)])
    assert torch.equal(gray_class[:, 0], gray_class[:, 1]) and torch.equal(gray_class[:, 0], gray_class[:, 2])
    forced = load_image_folder(str(tmp_path), channels=1, val_fraction=0.2, test_fraction=0.2)
    assert forced.train.image_shape == (1, 6, 6)


def test_image_folder_mixed_sizes(tmp_path: Path) -> None:
    save_images(tmp_path / "a", 5, size=(6, 6))
    save_images(tmp_path / "b", 5, size=(9, 7))
    with pytest.raises(GanaugError, match="images differ in size .* resize them all with image_size=N"):
        load_image_folder(str(tmp_path))
    splits = load_image_folder(str(tmp_path), image_size=4, val_fraction=0.2, test_fraction=0.2)
    assert splits.train.image_shape == (1, 4, 4)
    assert len(splits.train) + len(splits.val) + len(splits.test) == 10


def test_image_folder_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(GanaugError, match="root=.*nope: folder not found"):
        load_image_folder(str(tmp_path / "nope"))
    with pytest.raises(GanaugError, match="no class subfolders with images"):
        load_image_folder(str(tmp_path))
    (tmp_path / "empty").mkdir()
    with pytest.raises(GanaugError, match="empty: class folder holds no images .* or remove the folder"):
        load_image_folder(str(tmp_path))
    (tmp_path / "empty").rmdir()
    save_images(tmp_path / "ok", 3)
    with pytest.raises(GanaugError, match="channels=2: unknown channel count; pick one of None, 1, 3"):
        load_image_folder(str(tmp_path), channels=2)
    with pytest.raises(GanaugError, match=r"image_size=0: must be >= 1 \(or null\)"):
        load_image_folder(str(tmp_path), image_size=0)
    (tmp_path / "ok" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(GanaugError, match="broken.png: cannot read this image .* fix or remove the file"):
        load_image_folder(str(tmp_path))


# ---- torchvision


def test_torchvision_mnist_from_raw_idx(tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    train, test = toy_pixels(40, 28, 28, seed=1), toy_pixels(10, 28, 28, seed=2)
    labels = (np.arange(40) % 10).astype(np.uint8)
    write_split(raw, "train", train, labels, gz=False)
    write_split(raw, "t10k", test, labels[:10], gz=False)
    splits = load_torchvision("MNIST", str(tmp_path), download=False, val_fraction=0.25)
    assert splits.train.image_shape == (1, 28, 28)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (30, 10, 10)
    assert torch.equal(splits.test.images[:, 0], torch.from_numpy(test))
    assert splits.class_names[0] == "0 - zero" and len(splits.class_names) == 10


def test_torchvision_cifar10_conversion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    made: dict[bool, types.SimpleNamespace] = {}

    def fake_cifar(root: str, train: bool, download: bool) -> types.SimpleNamespace:
        n = 20 if train else 8
        made[train] = types.SimpleNamespace(
            data=rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8),
            targets=[i % 10 for i in range(n)],
            classes=["airplane"] + [f"class{i}" for i in range(1, 10)],
            download=download,
        )
        return made[train]

    import torchvision.datasets

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", fake_cifar)
    splits = load_torchvision("CIFAR10", str(tmp_path / "not-yet"), download=True, val_fraction=0.5)
    assert made[True].download is True
    assert splits.train.image_shape == (3, 32, 32)
    assert splits.class_names[0] == "airplane"
    assert torch.equal(splits.test.images, torch.from_numpy(made[False].data).permute(0, 3, 1, 2))
    assert splits.test.labels.tolist() == made[False].targets
    assert (len(splits.train), len(splits.val)) == (10, 10)


def test_torchvision_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(GanaugError, match="name='SVHN': unknown torchvision dataset; pick one of MNIST"):
        load_torchvision("SVHN", str(tmp_path))
    with pytest.raises(GanaugError, match="root=.*nope: folder not found"):
        load_torchvision("MNIST", str(tmp_path / "nope"))
    with pytest.raises(GanaugError, match="FashionMNIST not usable there .* set download=True"):
        load_torchvision("FashionMNIST", str(tmp_path))


def test_every_name_is_a_torchvision_dataset() -> None:
    import torchvision.datasets

    assert all(hasattr(torchvision.datasets, name) for name in sources.TORCHVISION_DATASETS)
