"""MixedDataset: counts, seeded choice, source tags, one transform for both kinds, PIL datasets, bad inputs."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.data import make_toy_dataset
from helpers.fakes import tagged_bank
from PIL import Image
from torch.utils.data import Dataset, Subset
from torchvision.transforms import v2

from ganaug.data.dataset import ImageDataset
from ganaug.errors import GanaugError
from ganaug.synth.bank import SyntheticBank
from ganaug.synth.mixing import MixedDataset, balanced_sampler, mixing_weights


@pytest.fixture
def bank(tmp_path: Path) -> SyntheticBank:
    return tagged_bank(tmp_path / "bank", [0, 10, 30])


class Mark:
    """A transform that marks every image it sees (pixel (0, 7, 7) := 255) and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, image):
        self.calls += 1
        if isinstance(image, Image.Image):
            image = torch.from_numpy(np.array(image))[None]
        out = image.clone()
        out[0, 7, 7] = 255
        return out


class PilDataset(Dataset):
    """Yields (PIL 'L' image, int) like torchvision MNIST, with `.targets`; counts item reads."""

    def __init__(self, real: ImageDataset) -> None:
        self.real = real
        self.targets = real.labels.tolist()
        self.reads = 0

    def __len__(self) -> int:
        return len(self.real)

    def __getitem__(self, index: int):
        self.reads += 1
        image, label = self.real[index]
        return Image.fromarray(image[0].numpy(), mode="L"), label


class Unlabelled(Dataset):
    """A dataset with no label attribute: MixedDataset must iterate it once."""

    def __init__(self, real: ImageDataset) -> None:
        self.real = real

    def __len__(self) -> int:
        return len(self.real)

    def __getitem__(self, index: int):
        return self.real[index]


def test_counts_and_labels(toy_dataset: ImageDataset, bank: SyntheticBank) -> None:
    mixed = MixedDataset(toy_dataset, bank, {2: 25, 1: 5})
    assert len(mixed) == 66 + 30
    assert mixed.counts() == [40, 25, 31]
    assert mixed.is_synthetic.sum() == 30 and not mixed.is_synthetic[:66].any()
    assert mixed.labels.dtype == torch.int64
    served = [mixed[i][1] for i in range(len(mixed))]
    assert served == mixed.labels.tolist()
    picked = mixed.synthetic_indices
    assert len(set(picked.tolist())) == 30
    assert set(picked[:5].tolist()) <= set(bank.indices(1).tolist())
    assert set(picked[5:].tolist()) <= set(bank.indices(2).tolist())


def test_choice_is_seeded(toy_dataset: ImageDataset, bank: SyntheticBank) -> None:
    a = MixedDataset(toy_dataset, bank, {2: 10}, seed=1).synthetic_indices
    b = MixedDataset(toy_dataset, bank, {2: 10}, seed=1).synthetic_indices
    c = MixedDataset(toy_dataset, bank, {2: 10}, seed=2).synthetic_indices
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_whole_bank_and_no_bank(toy_dataset: ImageDataset, bank: SyntheticBank) -> None:
    assert MixedDataset(toy_dataset, bank).counts() == [40, 30, 36]
    assert MixedDataset(toy_dataset, bank, {1: 0}).counts() == [40, 20, 6]
    plain = MixedDataset(toy_dataset)
    assert plain.counts() == [40, 20, 6] and not plain.is_synthetic.any()
    assert torch.equal(plain[3][0], toy_dataset[3][0])


def test_return_source_tags_each_sample(toy_dataset: ImageDataset, bank: SyntheticBank) -> None:
    mixed = MixedDataset(toy_dataset, bank, {2: 4}, return_source=True)
    items = [mixed[i] for i in range(len(mixed))]
    assert all(len(item) == 3 for item in items)
    tags = [item[2] for item in items]
    assert tags == mixed.is_synthetic.tolist()
    # synthetic samples carry the bank's tag pixel, real ones do not
    assert all(int(item[0][0, 0, 1]) == 1 for item in items if item[2])
    assert torch.equal(items[-1][0], torch.from_numpy(np.array(bank.images[mixed.synthetic_indices[-1]])))
    assert mixed[-1][2] is True and mixed[0][2] is False
    with pytest.raises(IndexError):
        mixed[len(mixed)]


def test_same_transform_on_both_kinds(toy_dataset: ImageDataset, bank: SyntheticBank) -> None:
    mark = Mark()
    mixed = MixedDataset(toy_dataset, bank, {1: 3, 2: 3}, transform=mark, return_source=True)
    items = [mixed[i] for i in range(len(mixed))]
    assert mark.calls == len(mixed)
    assert all(int(image[0, 7, 7]) == 255 for image, _, _ in items)
    assert {tag for _, _, tag in items} == {True, False}


def test_albumentations_transform_on_both_kinds(toy_dataset: ImageDataset, bank: SyntheticBank) -> None:
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    import albumentations as A

    mixed = MixedDataset(toy_dataset, bank, {2: 3}, transform=A.HorizontalFlip(p=1.0))
    real, synth = mixed[0][0], mixed[len(mixed) - 1][0]
    assert torch.equal(real, torch.flip(toy_dataset[0][0], dims=[2]))
    assert int(synth[0, 0, 6]) == 1 and synth.dtype == torch.uint8  # the tag pixel, mirrored


def test_pil_real_gives_pil_synthetic(toy_dataset: ImageDataset, bank: SyntheticBank) -> None:
    real = PilDataset(toy_dataset)
    mixed = MixedDataset(real, bank, {2: 5}, return_source=True)
    assert real.reads <= 1  # labels came from .targets, one read tells the image type
    image, label, synthetic = mixed[len(mixed) - 1]
    assert synthetic and label == 2
    assert isinstance(image, Image.Image) and image.mode == "L" and image.size == (8, 8)
    np.testing.assert_array_equal(np.asarray(image), bank.images[mixed.synthetic_indices[-1], 0])
    assert isinstance(mixed[0][0], Image.Image)
    mark = Mark()
    marked = MixedDataset(real, bank, {2: 5}, transform=mark)
    assert all(int(marked[i][0][0, 7, 7]) == 255 for i in range(len(marked)))
    to_tensor = MixedDataset(real, bank, {2: 5}, transform=v2.PILToTensor())
    expected = torch.from_numpy(np.array(bank.images[mixed.synthetic_indices[-1]]))
    assert torch.equal(to_tensor[len(to_tensor) - 1][0], expected)


def test_labels_through_subset_and_by_iteration(toy_dataset: ImageDataset, bank: SyntheticBank) -> None:
    subset = Subset(toy_dataset, list(range(30, 66)))
    assert MixedDataset(subset, bank, {2: 2}).counts() == [10, 20, 8]
    assert MixedDataset(Unlabelled(toy_dataset), bank, {1: 1}).counts() == [40, 21, 6]


def test_tensor_labels_collate_with_synthetic_ones(toy_dataset: ImageDataset, bank: SyntheticBank) -> None:
    real = torch.utils.data.TensorDataset(toy_dataset.images, toy_dataset.labels)  # labels come as 0-d tensors
    mixed = MixedDataset(real, bank, {2: 4})
    images, labels = next(iter(torch.utils.data.DataLoader(mixed, batch_size=len(mixed))))
    assert labels.dtype == torch.int64 and labels.tolist() == mixed.labels.tolist()


def test_torchvision_mnist(tmp_path: Path, mnist_dir: Path) -> None:
    from torchvision.datasets import MNIST

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        with gzip.open(mnist_dir / f"{name}.gz") as src, open(raw / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):  # MNIST checks they exist; train=False
        (raw / name).touch()  # never reads them
    mnist = Subset(MNIST(str(tmp_path), train=False, download=False), range(50))
    names = [str(i) for i in range(10)]
    images = np.full((20, 1, 28, 28), 9, np.uint8)
    bank = SyntheticBank.from_arrays(images, np.repeat(np.arange(10), 2), names, tmp_path / "bank")
    mixed = MixedDataset(mnist, bank, {3: 2}, transform=v2.Compose([v2.PILToTensor()]))
    assert len(mixed) == 52
    assert mixed.labels[:50].tolist() == [mnist[i][1] for i in range(50)]
    image, label = mixed[51]
    assert label == 3 and image.shape == (1, 28, 28) and int(image.max()) == 9


@pytest.mark.parametrize(
    ("counts", "match"),
    [
        ({2: 31}, r"asks for 31 samples of class 2 \('class2'\) but the bank at .* holds 30"),
        ({1: -1}, r"synthetic_counts\[1\]=-1: a count must be 0 or more"),
        ({5: 1}, r"class 5 is outside the bank's classes 0..2"),
    ],
)
def test_bad_counts(toy_dataset: ImageDataset, bank: SyntheticBank, counts: dict, match: str) -> None:
    with pytest.raises(GanaugError, match=match):
        MixedDataset(toy_dataset, bank, counts)


def test_counts_without_bank(toy_dataset: ImageDataset) -> None:
    with pytest.raises(GanaugError, match="no bank was given; pass bank="):
        MixedDataset(toy_dataset, None, {1: 3})


def test_mismatched_bank(tmp_path: Path, toy_dataset: ImageDataset) -> None:
    other_names = SyntheticBank.from_arrays(
        np.zeros((2, 1, 8, 8), np.uint8), np.array([0, 1]), ["a", "b", "c"], tmp_path / "names"
    )
    with pytest.raises(GanaugError, match=r"the bank's classes \['a', 'b', 'c'\] differ from the dataset's"):
        MixedDataset(toy_dataset, other_names)
    with pytest.raises(GanaugError, match=r"the bank's classes \['a', 'b', 'c'\] differ"):
        MixedDataset(Subset(toy_dataset, [0, 1]), other_names)
    rgb = tagged_bank(tmp_path / "rgb", [1, 1, 1], shape=(3, 8, 8))
    with pytest.raises(GanaugError, match=r"real images are \(1, 8, 8\) \(C,H,W\) but the bank's are \(3, 8, 8\)"):
        MixedDataset(toy_dataset, rgb)
    two = tagged_bank(tmp_path / "two", [1, 1])
    with pytest.raises(GanaugError, match="the real dataset has label 2 but the bank names only 2 classes"):
        MixedDataset(Unlabelled(toy_dataset), two)


def test_dataset_with_other_class_count(toy_dataset: ImageDataset, bank: SyntheticBank) -> None:
    real = PilDataset(toy_dataset)
    real.classes = ["a", "b"]
    with pytest.raises(GanaugError, match="the bank has 3 classes but the dataset has 2"):
        MixedDataset(real, bank)


def test_real_dataset_must_yield_raw_images(toy_dataset: ImageDataset, bank: SyntheticBank) -> None:
    class ToTensorLike(Unlabelled):
        def __getitem__(self, index: int):
            image, label = self.real[index]
            return image.float() / 255, label

    floats = ToTensorLike(toy_dataset)
    with pytest.raises(GanaugError, match="real samples are torch.float32 tensor, but mixing needs raw images"):
        MixedDataset(floats, bank, {1: 1})


def test_toy_images_of_other_shape(tmp_path: Path, bank: SyntheticBank) -> None:
    big = make_toy_dataset([3, 3, 3], shape=(1, 16, 16))
    with pytest.raises(GanaugError, match=r"real images are \(1, 16, 16\)"):
        MixedDataset(big, bank, {2: 1})


def _same_samples(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x[1:] == y[1:]
        if isinstance(x[0], Image.Image):
            assert isinstance(y[0], Image.Image) and np.array_equal(np.asarray(x[0]), np.asarray(y[0]))
        else:
            assert torch.equal(x[0], y[0])


@pytest.mark.parametrize("pil", [False, True])
def test_batched_fetch_equals_one_by_one(toy_dataset: ImageDataset, bank: SyntheticBank, pil: bool) -> None:
    real = PilDataset(toy_dataset) if pil else toy_dataset
    mixed = MixedDataset(real, SyntheticBank.load(bank.directory), {1: 4, 2: 6}, transform=Mark(), return_source=True)
    order = [len(mixed) - 1, 0, len(toy_dataset), 3, -1, len(toy_dataset) + 5, 1]
    batch = mixed.__getitems__(order)
    _same_samples(batch, [mixed[i] for i in order])
    assert [s[2] for s in batch] == [True, False, True, False, True, True, False]
    with pytest.raises(IndexError):
        mixed.__getitems__([0, len(mixed)])
    loader = torch.utils.data.DataLoader(mixed, batch_size=8, shuffle=False)
    images = torch.cat([b[0] for b in loader])
    assert torch.equal(images, torch.stack([mixed[i][0] for i in range(len(mixed))]))


def test_image_dataset_batched_fetch(toy_dataset: ImageDataset) -> None:
    batch = toy_dataset.__getitems__([5, 0, 5])
    assert [label for _, label in batch] == [int(toy_dataset.labels[i]) for i in (5, 0, 5)]
    assert all(torch.equal(img, toy_dataset.images[i]) for (img, _), i in zip(batch, (5, 0, 5), strict=True))


def test_batched_fetch_is_a_copy_and_keeps_a_seeded_transform_in_index_order(
    toy_dataset: ImageDataset, bank: SyntheticBank
) -> None:
    loaded = SyntheticBank.load(bank.directory)
    before = np.array(loaded.images)
    order = [len(toy_dataset) + 2, 0, len(toy_dataset), 4, 1]
    plain = MixedDataset(toy_dataset, loaded, {1: 4, 2: 6})
    for image, _ in plain.__getitems__(order):
        image.fill_(7)
    np.testing.assert_array_equal(np.array(loaded.images), before)

    def draws(fetch) -> list:
        torch.manual_seed(0)
        mixed = MixedDataset(toy_dataset, loaded, {1: 4, 2: 6}, transform=v2.RandomAffine(degrees=40))
        return fetch(mixed)

    _same_samples(draws(lambda m: m.__getitems__(order)), draws(lambda m: [m[i] for i in order]))


def test_mixing_weights_balance_classes_and_cap_the_synthetic_share() -> None:
    # class 0: 8 real; class 1: 2 real + 18 synthetic; class 2: 4 synthetic only
    labels = torch.tensor([0] * 8 + [1] * 2 + [1] * 18 + [2] * 4)
    synthetic = torch.tensor([False] * 10 + [True] * 22)
    uncapped = mixing_weights(labels, 3, synthetic, synthetic_share=1.0)
    assert torch.allclose(uncapped, 1.0 / torch.bincount(labels).double()[labels])
    capped = mixing_weights(labels, 3, synthetic, synthetic_share=0.5)
    per_class = torch.zeros(3, dtype=torch.float64).index_add_(0, labels, capped)
    assert torch.allclose(per_class, torch.ones(3, dtype=torch.float64))  # every class still equally likely
    assert capped[synthetic & (labels == 1)].sum().item() == pytest.approx(0.5)  # half of class 1 from 18 fakes
    assert capped[8].item() == pytest.approx(0.25)  # each of the 2 real images: a quarter of class 1's draws
    assert capped[synthetic & (labels == 2)].sum().item() == pytest.approx(1.0)  # no real image to keep: no cap
    below = mixing_weights(labels, 3, synthetic, synthetic_share=0.95)  # class 1 is 90% synthetic, under the cap
    assert torch.allclose(below, uncapped)


def test_mixing_weights_keep_class_sizes_when_not_balanced() -> None:
    labels = torch.tensor([0] * 6 + [1] * 2 + [1] * 2)
    synthetic = torch.tensor([False] * 8 + [True] * 2)
    weights = mixing_weights(labels, 2, synthetic, synthetic_share=0.25, balanced=False)
    assert weights[:6].sum().item() == pytest.approx(0.6) and weights[6:].sum().item() == pytest.approx(0.4)
    assert weights[8:].sum().item() == pytest.approx(0.1)


@pytest.mark.parametrize("share", [0.0, -0.1, 1.5])
def test_mixing_weights_refuse_a_share_outside_zero_one(share: float) -> None:
    with pytest.raises(GanaugError, match=f"synthetic_share={share}: must lie in"):
        mixing_weights(torch.tensor([0, 1]), 2, torch.tensor([False, True]), synthetic_share=share)


def test_balanced_sampler_draws_synthetic_at_the_capped_share() -> None:
    labels = torch.tensor([0] * 50 + [1] * 5 + [1] * 45)
    synthetic = torch.tensor([False] * 55 + [True] * 45)
    drawn = torch.tensor(list(balanced_sampler(labels, 2, seed=0, num_samples=20000, is_synthetic=synthetic,
                                               synthetic_share=0.5)))
    class1 = drawn[labels[drawn] == 1]
    assert len(class1) / len(drawn) == pytest.approx(0.5, abs=0.02)
    assert synthetic[class1].double().mean().item() == pytest.approx(0.5, abs=0.02)
