"""Imbalance tools: class counts, long-tailed and step subsets, minority choice, synthetic targets."""

from __future__ import annotations

import pytest
import torch
from helpers.data import make_toy_dataset

from ganaug.data.imbalance import (
    class_counts,
    make_imbalanced,
    resolve_classes,
    select_minority,
    synthetic_targets,
)
from ganaug.errors import GanaugError

NAMES = ["cat", "dog", "fox", "owl"]


def test_class_counts() -> None:
    assert class_counts(torch.tensor([0, 2, 2, 3, 0, 0]), 5) == [3, 0, 2, 1, 0]
    assert class_counts(torch.tensor([], dtype=torch.int64), 2) == [0, 0]
    with pytest.raises(GanaugError, match="labels span 0..4 but there are 3 classes"):
        class_counts(torch.tensor([0, 4]), 3)


def test_exponential_long_tail_profile() -> None:
    data = make_toy_dataset([100] * 10, shape=(1, 4, 4))
    tail = make_imbalanced(data, ratio=100.0, profile="exponential", seed=0)
    counts = tail.counts()
    assert counts[0] == 100 and counts[9] == 1
    assert counts == [round(100 * 100 ** (-c / 9)) for c in range(10)]
    assert all(a >= b for a, b in zip(counts, counts[1:], strict=False))
    assert tail.class_names == data.class_names and tail.image_shape == (1, 4, 4)


def test_ratio_one_keeps_everything_and_caps_at_available() -> None:
    data = make_toy_dataset([30, 10, 30], shape=(1, 4, 4))
    assert make_imbalanced(data, ratio=1.0).counts() == [30, 10, 30]
    # class 1 wants round(30 * 2 ** -0.5) = 21 but has 10; class 2 gets 15
    assert make_imbalanced(data, ratio=2.0).counts() == [30, 10, 15]


def test_at_least_one_image_per_class() -> None:
    data = make_toy_dataset([10, 10, 10], shape=(1, 4, 4))
    assert make_imbalanced(data, ratio=1000.0).counts() == [10, 1, 1]


def test_step_profile() -> None:
    data = make_toy_dataset([50] * 6, shape=(1, 4, 4))
    assert make_imbalanced(data, ratio=10.0, profile="step").counts() == [50, 50, 50, 5, 5, 5]
    assert make_imbalanced(data, ratio=10.0, profile="step", step_fraction=0.2).counts() == [50] * 5 + [5]
    # at most C-1 classes are reduced: class 0 always keeps n_0
    assert make_imbalanced(data, ratio=5.0, profile="step", step_fraction=0.99).counts() == [50] + [10] * 5


def test_seed_fixes_which_images_are_kept() -> None:
    data = make_toy_dataset([40, 40, 40], shape=(1, 4, 4))
    a = make_imbalanced(data, ratio=4.0, seed=3)
    b = make_imbalanced(data, ratio=4.0, seed=3)
    c = make_imbalanced(data, ratio=4.0, seed=4)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert a.counts() == c.counts() and not torch.equal(a.images, c.images)
    # the kept images are images of the original dataset, with their own labels
    def pairs(ds):
        return {(img.numpy().tobytes(), int(lbl)) for img, lbl in zip(ds.images, ds.labels, strict=True)}

    assert len(pairs(a)) == len(a) and pairs(a) <= pairs(data)


def test_single_class_dataset() -> None:
    data = make_toy_dataset([7], shape=(1, 4, 4))
    assert make_imbalanced(data, ratio=10.0).counts() == [7]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ratio": 0.5}, "ratio=0.5: must be >= 1"),
        ({"ratio": float("nan")}, "ratio=nan: must be >= 1"),
        ({"ratio": 2.0, "profile": "linear"}, "profile='linear': unknown profile; pick one of exponential"),
        ({"ratio": 2.0, "profile": "step", "step_fraction": 1.0}, "step_fraction=1.0: must lie strictly"),
    ],
)
def test_make_imbalanced_bad_input(kwargs: dict, message: str) -> None:
    with pytest.raises(GanaugError, match=message):
        make_imbalanced(make_toy_dataset([5, 5], shape=(1, 4, 4)), **kwargs)


def test_make_imbalanced_needs_class_zero() -> None:
    data = make_toy_dataset([0, 5], shape=(1, 4, 4))
    with pytest.raises(GanaugError, match="class 0 has no images"):
        make_imbalanced(data, ratio=2.0)


def test_resolve_classes() -> None:
    assert resolve_classes([2, "cat", "owl", 2], NAMES) == [2, 0, 3]
    assert resolve_classes([], NAMES) == []
    assert resolve_classes([torch.tensor(1).item()], NAMES) == [1]
    # digit strings that name no class are ids (configs carry ids as strings); names win otherwise
    assert resolve_classes(["3", "1"], NAMES) == [3, 1]
    assert resolve_classes(["1"], ["1", "0"]) == [0]
    with pytest.raises(GanaugError, match="unknown class '9'"):
        resolve_classes(["9"], NAMES)
    with pytest.raises(GanaugError, match=r"unknown class 'emu'; known classes \(id=name\): 0='cat', 1="):
        resolve_classes(["emu"], NAMES)
    with pytest.raises(GanaugError, match="unknown class 4"):
        resolve_classes([4], NAMES)
    with pytest.raises(GanaugError, match="unknown class -1"):
        resolve_classes([-1], NAMES)
    with pytest.raises(GanaugError, match="unknown class True"):
        resolve_classes([True], NAMES)


def test_select_minority_by_threshold_and_explicit() -> None:
    counts = [100, 49, 50, 10]
    assert select_minority(counts, NAMES) == [1, 3]
    assert select_minority(counts, NAMES, threshold=0.2) == [3]
    assert select_minority(counts, NAMES, threshold=1.0) == [1, 2, 3]
    assert select_minority(counts, NAMES, classes=["owl", 0]) == [0, 3]
    assert select_minority([5, 5], ["a", "b"]) == []


def test_select_minority_bad_input() -> None:
    with pytest.raises(GanaugError, match="class 'fox' has no training images; a GAN cannot learn it"):
        select_minority([10, 8, 0, 3], NAMES)
    with pytest.raises(GanaugError, match="class 'fox' has no training images"):
        select_minority([10, 8, 0, 3], NAMES, classes=["fox"])
    with pytest.raises(GanaugError, match="unknown class 'emu'"):
        select_minority([10, 8, 5, 3], NAMES, classes=["emu"])
    with pytest.raises(GanaugError, match="threshold=1.5: must lie in"):
        select_minority([10, 8, 5, 3], NAMES, threshold=1.5)
    with pytest.raises(GanaugError, match="threshold=0: must lie in"):
        select_minority([10, 8, 5, 3], NAMES, threshold=0)
    with pytest.raises(GanaugError, match="3 class counts but 4 class names"):
        select_minority([10, 8, 5], NAMES)


def test_synthetic_targets_fill() -> None:
    counts = [100, 40, 90, 5]
    assert synthetic_targets(counts, [1, 3]) == {1: 60, 3: 95}
    assert synthetic_targets(counts, [1, 2, 3], fill_fraction=0.5) == {1: 10, 2: 0, 3: 45}
    assert synthetic_targets(counts, [3], fill_fraction=1.0) == {3: 95}
    with pytest.raises(GanaugError, match=r"fill_fraction=5: must lie in \(0, 1\]"):
        synthetic_targets(counts, [3], fill_fraction=5)  # would invert the imbalance
    assert synthetic_targets(counts, []) == {}


def test_synthetic_targets_ratio() -> None:
    assert synthetic_targets([100, 40, 5], [1, 2], mode="ratio", ratio=2.5) == {1: 100, 2: 12}
    assert synthetic_targets([100, 40, 5], [2], mode="ratio", ratio=0.0) == {2: 0}


def test_synthetic_targets_explicit_counts() -> None:
    counts = [100, 40, 90, 5]
    got = synthetic_targets(counts, [1, 3], mode="counts", explicit={"owl": 300, 1: 7}, class_names=NAMES)
    assert got == {1: 7, 3: 300}
    # minority classes left out get none; without names, "0".."K-1" name the classes
    assert synthetic_targets(counts, [1, 3], mode="counts", explicit={"3": 12}) == {1: 0, 3: 12}
    by_id = synthetic_targets(counts, [1, 3], mode="counts", explicit={"3": 12}, class_names=NAMES)
    assert by_id == {1: 0, 3: 12}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "double"}, "mode='double': unknown mode; pick one of fill, ratio, counts"),
        ({"fill_fraction": 0.0}, r"fill_fraction=0.0: must lie in \(0, 1\]"),
        ({"mode": "ratio", "ratio": -1.0}, "ratio=-1.0: must be >= 0"),
        ({"mode": "counts"}, "mode=counts needs explicit per-class counts"),
        ({"mode": "counts", "explicit": {"emu": 3}}, "unknown class 'emu'"),
        ({"mode": "counts", "explicit": {"cat": 3}}, "class 'cat' has an explicit synthetic count but"),
        ({"mode": "counts", "explicit": {"owl": -3}}, "count -3 for class 'owl': give an integer >= 0"),
        ({"mode": "counts", "explicit": {"owl": 2.5}}, "synthetic count 2.5 for class 'owl'"),
    ],
)
def test_synthetic_targets_bad_input(kwargs: dict, message: str) -> None:
    with pytest.raises(GanaugError, match=message):
        synthetic_targets([100, 40, 90, 5], [1, 3], class_names=NAMES, **kwargs)


def test_synthetic_targets_bad_minority_id() -> None:
    with pytest.raises(GanaugError, match="minority class id 7 is out of range 0..3"):
        synthetic_targets([100, 40, 90, 5], [7])
