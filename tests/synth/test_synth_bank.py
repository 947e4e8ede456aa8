"""SyntheticBank: generation in batches, atomic writes, memory-mapped loading, and every bad input."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.fakes import FakeSampler

from ganaug.errors import GanaugError
from ganaug.synth.bank import SyntheticBank


def generate(tmp_path: Path, sampler: FakeSampler | None = None, **kwargs) -> SyntheticBank:
    kwargs.setdefault("batch_size", 4)
    kwargs.setdefault("progress", False)
    return SyntheticBank.generate(sampler or FakeSampler(), {0: 5, 2: 7}, tmp_path / "bank", **kwargs)


def test_generate_round_trip(tmp_path: Path) -> None:
    bank = generate(tmp_path, source={"gan": "run1"})
    assert len(bank) == 12
    assert bank.counts() == [5, 0, 7]
    assert bank.class_names == ["zero", "one", "two"]
    assert bank.image_shape == (1, 8, 8)
    assert bank.images.dtype == np.uint8 and bank.labels.dtype == np.int64
    np.testing.assert_array_equal(bank.images[:, 0, 0, 0], bank.labels * 50)
    np.testing.assert_array_equal(bank.indices(2), np.arange(5, 12))
    assert len(bank.indices(1)) == 0
    meta = json.loads((tmp_path / "bank" / "bank.json").read_text())
    assert meta == {
        "format": "ganaug-bank",
        "version": 1,
        "class_names": ["zero", "one", "two"],
        "image_shape": [1, 8, 8],
        "counts": [5, 0, 7],
        "source": {"seed": 0, "gan": "run1"},
    }
    again = SyntheticBank.load(tmp_path / "bank", mmap=False)
    np.testing.assert_array_equal(again.images, bank.images)
    np.testing.assert_array_equal(again.labels, bank.labels)
    assert again.source == {"seed": 0, "gan": "run1"}


def test_generate_is_seeded(tmp_path: Path) -> None:
    a = SyntheticBank.generate(FakeSampler(), {1: 9}, tmp_path / "a", seed=3, batch_size=4, progress=False)
    b = SyntheticBank.generate(FakeSampler(), {1: 9}, tmp_path / "b", seed=3, batch_size=4, progress=False)
    c = SyntheticBank.generate(FakeSampler(), {1: 9}, tmp_path / "c", seed=4, batch_size=4, progress=False)
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.images, c.images)


def test_generate_samples_in_batches_into_a_memory_map(tmp_path: Path) -> None:
    seen: list[list[tuple[str, int]]] = []

    class Watching(FakeSampler):
        def sample(self, labels, generator=None):
            # While sampling, the full-size images file already exists in a hidden temporary folder.
            seen.append(sorted((p.name, p.stat().st_size) for p in tmp_path.glob(".bank.*.tmp/*")))
            return super().sample(labels, generator)

    sampler = Watching()
    bank = generate(tmp_path, sampler, batch_size=5)
    assert sampler.calls == [5, 5, 2]
    full_size = (tmp_path / "bank" / "images.npy").stat().st_size
    assert full_size >= bank.images.nbytes
    assert seen == [[("images.npy", full_size)]] * 3
    assert [p.name for p in tmp_path.iterdir()] == ["bank"]


def test_load_memory_maps(tmp_path: Path) -> None:
    generate(tmp_path)
    bank = SyntheticBank.load(tmp_path / "bank")
    assert isinstance(bank.images, np.memmap)
    assert not bank.images.flags.writeable
    assert not isinstance(SyntheticBank.load(tmp_path / "bank", mmap=False).images, np.memmap)


def test_pickled_bank_reopens_its_memory_map(tmp_path: Path) -> None:
    bank = generate(tmp_path)
    state = pickle.dumps(bank)
    assert len(state) < bank.images.nbytes  # the data is not copied, only the path
    copy = pickle.loads(state)
    assert isinstance(copy.images, np.memmap)
    np.testing.assert_array_equal(copy.images, bank.images)
    in_memory = SyntheticBank.load(tmp_path / "bank", mmap=False)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(in_memory)).labels, bank.labels)


def test_failed_generation_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="mid-way"):
        generate(tmp_path, FakeSampler(fail_after=2))
    assert list(tmp_path.iterdir()) == []


def test_failed_generation_keeps_the_previous_bank(tmp_path: Path) -> None:
    old = generate(tmp_path)
    before = np.array(old.images)
    with pytest.raises(RuntimeError, match="mid-way"):
        SyntheticBank.generate(FakeSampler(fail_after=1), {1: 9}, tmp_path / "bank", batch_size=4, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["bank"]
    np.testing.assert_array_equal(SyntheticBank.load(tmp_path / "bank").images, before)


def test_empty_bank(tmp_path: Path) -> None:
    bank = SyntheticBank.generate(FakeSampler(), {0: 0}, tmp_path / "bank", progress=False)
    assert len(bank) == 0 and bank.counts() == [0, 0, 0]
    assert len(SyntheticBank.load(tmp_path / "bank")) == 0


def test_from_arrays_accepts_tensors(tmp_path: Path) -> None:
    images = torch.randint(0, 256, (6, 3, 4, 4), dtype=torch.uint8)
    labels = torch.tensor([1, 0, 1, 1, 0, 1], dtype=torch.int32)
    bank = SyntheticBank.from_arrays(images, labels, ["a", "b"], tmp_path / "bank", source={"from": "test"})
    assert bank.counts() == [2, 4]
    assert bank.image_shape == (3, 4, 4)
    assert bank.labels.dtype == np.int64
    np.testing.assert_array_equal(bank.indices(0), [1, 4])
    np.testing.assert_array_equal(bank.images, images.numpy())
    assert bank.source == {"from": "test"}


@pytest.mark.parametrize(
    ("counts", "match"),
    [
        ({3: 1}, r"class 3 but the sampler generates only classes \[0, 1, 2\]"),
        ({-1: 1}, "class -1 but"),
        ({"zero": 1}, "class 'zero' but"),
        ({0: -2}, r"counts\[0\]=-2: a count must be 0 or more"),
    ],
)
def test_generate_rejects_bad_counts(tmp_path: Path, counts: dict, match: str) -> None:
    with pytest.raises(GanaugError, match=match):
        SyntheticBank.generate(FakeSampler(), counts, tmp_path / "bank", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_generate_rejects_classes_the_sampler_was_not_trained_on(tmp_path: Path) -> None:
    sampler = FakeSampler()
    sampler.trained_classes = [2]
    with pytest.raises(GanaugError, match=r"generates only classes \[2\] \(names \['two'\]\)"):
        SyntheticBank.generate(sampler, {0: 1}, tmp_path / "bank", progress=False)
    assert sampler.calls == []


def test_generate_rejects_bad_batch_size(tmp_path: Path) -> None:
    with pytest.raises(GanaugError, match="batch_size=0: must be >= 1"):
        SyntheticBank.generate(FakeSampler(), {0: 1}, tmp_path / "bank", batch_size=0, progress=False)


@pytest.mark.parametrize(
    ("output", "match"),
    [
        (lambda labels: torch.zeros(len(labels), 1, 8, 8), r"returned torch.float32 \(\d+, 1, 8, 8\), expected uint8"),
        (lambda labels: torch.zeros(len(labels), 1, 4, 4, dtype=torch.uint8), r"expected uint8 \(\d+, 1, 8, 8\)"),
        (lambda labels: np.zeros((len(labels), 1, 8, 8), np.uint8), "returned ndarray"),
    ],
)
def test_generate_rejects_bad_sampler_output(tmp_path: Path, output, match: str) -> None:
    class Bad(FakeSampler):
        def sample(self, labels, generator=None):
            return output(labels)

    with pytest.raises(GanaugError, match=match):
        SyntheticBank.generate(Bad(), {0: 3}, tmp_path / "bank", progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("images", "labels", "match"),
    [
        (np.zeros((2, 1, 4, 4), np.float32), np.zeros(2, np.int64), "images must be uint8 .N, C, H, W., got float32"),
        (np.zeros((2, 4, 4), np.uint8), np.zeros(2, np.int64), r"got uint8 \(2, 4, 4\)"),
        (np.zeros((2, 1, 4, 4), np.uint8), np.zeros(2, np.float32), "labels must be int64 .N,., got float32"),
        (np.zeros((2, 1, 4, 4), np.uint8), np.zeros(3, np.int64), "2 images but 3 labels"),
        (np.zeros((2, 1, 4, 4), np.uint8), np.array([0, 2]), r"labels span 0..2 but there are 2 class names"),
        (np.zeros((2, 1, 4, 4), np.uint8), np.array([-1, 0]), r"labels span -1..0"),
    ],
)
def test_from_arrays_rejects_bad_arrays(tmp_path: Path, images, labels, match: str) -> None:
    with pytest.raises(GanaugError, match=match):
        SyntheticBank.from_arrays(images, labels, ["a", "b"], tmp_path / "bank")
    assert list(tmp_path.iterdir()) == []


def test_indices_rejects_unknown_class(tmp_path: Path) -> None:
    bank = generate(tmp_path)
    with pytest.raises(GanaugError, match=r"class 3 is outside the bank's classes 0..2"):
        bank.indices(3)


def test_load_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(GanaugError, match="folder not found"):
        SyntheticBank.load(tmp_path / "nowhere")


def _corrupt(bank_dir: Path, how: str) -> None:
    meta_path = bank_dir / "bank.json"
    meta = json.loads(meta_path.read_text())
    if how == "no_json":
        meta_path.unlink()
    elif how == "bad_json":
        meta_path.write_text("{not json")
    elif how == "wrong_format":
        meta_path.write_text(json.dumps({**meta, "format": "other"}))
    elif how == "missing_key":
        del meta["image_shape"]
        meta_path.write_text(json.dumps(meta))
    elif how == "wrong_shape":
        meta_path.write_text(json.dumps({**meta, "image_shape": [3, 8, 8]}))
    elif how == "wrong_counts":
        meta_path.write_text(json.dumps({**meta, "counts": [1, 2, 3]}))
    elif how == "no_images":
        (bank_dir / "images.npy").unlink()
    elif how == "no_labels":
        (bank_dir / "labels.npy").unlink()
    elif how == "garbage_images":
        (bank_dir / "images.npy").write_bytes(b"this is not an npy file at all")
    elif how == "truncated_images":
        data = (bank_dir / "images.npy").read_bytes()
        (bank_dir / "images.npy").write_bytes(data[: len(data) // 2])
    elif how == "pickled_labels":
        np.save(bank_dir / "labels.npy", np.array([{"x": 1}] * 12, dtype=object), allow_pickle=True)
    elif how == "int32_labels":
        np.save(bank_dir / "labels.npy", np.load(bank_dir / "labels.npy").astype(np.int32))
    elif how == "float_images":
        np.save(bank_dir / "images.npy", np.load(bank_dir / "images.npy").astype(np.float32))
    elif how == "short_labels":
        np.save(bank_dir / "labels.npy", np.load(bank_dir / "labels.npy")[:-1])
    elif how == "label_out_of_range":
        labels = np.load(bank_dir / "labels.npy")
        labels[0] = 7
        np.save(bank_dir / "labels.npy", labels)


@pytest.mark.parametrize(
    ("how", "match"),
    [
        ("no_json", r"bank.json: file not found"),
        ("bad_json", r"bank.json: not valid JSON"),
        ("wrong_format", r"bank.json: not a ganaug-bank version 1 file"),
        ("missing_key", r"bank.json: missing or malformed keys"),
        ("wrong_shape", r"images are \(1, 8, 8\) but bank.json says \(3, 8, 8\)"),
        ("wrong_counts", "labels.npy does not match the counts in bank.json"),
        ("no_images", r"images.npy: file not found"),
        ("no_labels", r"labels.npy: file not found"),
        ("garbage_images", r"images.npy: unreadable or truncated"),
        ("truncated_images", r"images.npy: unreadable or truncated"),
        ("pickled_labels", r"labels.npy: unreadable or truncated"),
        ("int32_labels", "labels must be int64 .N,., got int32"),
        ("float_images", "images must be uint8 .N, C, H, W., got float32"),
        ("short_labels", "12 images but 11 labels"),
        ("label_out_of_range", r"labels span 0..7 but there are 3 class names"),
    ],
)
@pytest.mark.parametrize("mmap", [True, False])
def test_load_rejects_damaged_bank(tmp_path: Path, how: str, match: str, mmap: bool) -> None:
    generate(tmp_path)
    _corrupt(tmp_path / "bank", how)
    with pytest.raises(GanaugError, match=match) as info:
        SyntheticBank.load(tmp_path / "bank", mmap=mmap)
    assert "\n" not in str(info.value)
