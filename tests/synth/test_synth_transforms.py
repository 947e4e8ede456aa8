"""as_transform over albumentations, torchvision v2 and plain callables; SyntheticReplace as a transform."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.fakes import tagged_bank
from PIL import Image
from torchvision.datasets import VisionDataset
from torchvision.transforms import v2

from ganaug.errors import GanaugError
from ganaug.synth.bank import SyntheticBank
from ganaug.synth.transforms import SyntheticReplace, as_transform

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
import albumentations as A  # noqa: E402
from albumentations.pytorch import ToTensorV2  # noqa: E402


def image(channels: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (channels, 8, 8), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


class DropChannel(A.ImageOnlyTransform):
    """An albumentations transform that returns a gray image as HxW, as some of its transforms do."""

    def apply(self, img, **params):
        return img[..., 0] if img.ndim == 3 and img.shape[2] == 1 else img


def test_none_is_identity() -> None:
    x = image(1)
    assert as_transform(None)(x) is x


def test_callables_pass_through() -> None:
    fn = v2.RandomHorizontalFlip(p=1.0)
    assert as_transform(fn) is fn

    def mark(x):
        return x

    assert as_transform(mark) is mark


def test_not_callable_is_refused() -> None:
    with pytest.raises(GanaugError, match="transform must be None, an albumentations transform or a callable, got int"):
        as_transform(5)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("wrap", [lambda t: t, lambda t: A.Compose([t])], ids=["transform", "compose"])
def test_albumentations_flip_gives_uint8_chw(channels: int, wrap) -> None:
    x = image(channels)
    out = as_transform(wrap(A.HorizontalFlip(p=1.0)))(x)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.uint8
    assert out.shape == (channels, 8, 8)
    assert torch.equal(out, torch.flip(x, dims=[2]))


@pytest.mark.parametrize("channels", [1, 3])
def test_albumentations_affine_keeps_shape(channels: int) -> None:
    t = as_transform(A.Compose([A.Affine(translate_px=2, rotate=(10, 15), p=1.0), A.RandomBrightnessContrast(p=1.0)]))
    x = image(channels)
    out = t(x)
    assert out.shape == (channels, 8, 8) and out.dtype == torch.uint8
    assert not torch.equal(out, x)


def test_albumentations_gray_output_without_channel_axis_is_restored() -> None:
    out = as_transform(DropChannel(p=1.0))(image(1))
    assert out.shape == (1, 8, 8) and out.dtype == torch.uint8


@pytest.mark.parametrize("channels", [1, 3])
def test_albumentations_with_totensorv2(channels: int) -> None:
    x = image(channels)
    out = as_transform(A.Compose([A.VerticalFlip(p=1.0), ToTensorV2()]))(x)
    assert torch.equal(out, torch.flip(x, dims=[1]))


def test_albumentations_on_pil_gives_pil() -> None:
    x = image(1)
    pil = Image.fromarray(x[0].numpy(), mode="L")
    out = as_transform(A.HorizontalFlip(p=1.0))(pil)
    assert isinstance(out, Image.Image) and out.mode == "L"
    np.testing.assert_array_equal(np.asarray(out), np.flip(x[0].numpy(), axis=1))


def test_albumentations_normalize_gives_float_chw_and_a_channel_change_is_refused() -> None:
    out = as_transform(A.Normalize(mean=0.5, std=0.5, max_pixel_value=255.0))(image(1))
    assert out.dtype == torch.float32 and out.shape == (1, 8, 8)
    assert torch.allclose(out, (image(1).float() / 255 - 0.5) / 0.5, atol=1e-6)
    with pytest.raises(GanaugError, match=r"into \(3, 8, 8\); keep images with 1 channel"):
        as_transform(A.ToRGB(p=1.0))(image(1))


def test_albumentations_non_image_input_is_refused() -> None:
    with pytest.raises(GanaugError, match="it takes uint8 CHW tensors or PIL images"):
        as_transform(A.HorizontalFlip(p=1.0))(np.zeros((8, 8), np.uint8))


@pytest.mark.parametrize("channels", [1, 3])
def test_torchvision_v2(channels: int) -> None:
    x = image(channels)
    flip = as_transform(v2.Compose([v2.RandomHorizontalFlip(p=1.0)]))
    assert torch.equal(flip(x), torch.flip(x, dims=[2]))
    affine = as_transform(v2.RandomAffine(degrees=15, translate=(0.2, 0.2)))(x)
    assert affine.shape == (channels, 8, 8) and affine.dtype == torch.uint8


# ---- SyntheticReplace ----------------------------------------------------------------------------


@pytest.fixture
def bank(tmp_path: Path) -> SyntheticBank:
    return tagged_bank(tmp_path / "bank", [0, 4, 6])


def test_replace_p0_keeps_every_input(bank: SyntheticBank) -> None:
    replace = SyntheticReplace(bank, p=0.0, seed=0)
    x = image(1)
    for label in (0, 1, 2):
        out, out_label = replace(x, label)
        assert out is x and out_label == label


def test_replace_p1_gives_bank_samples_of_the_label(bank: SyntheticBank) -> None:
    replace = SyntheticReplace(bank, p=1.0, seed=0)
    assert replace.classes == [1, 2]
    x = image(1)
    for label in (1, 2, torch.tensor(2)):
        out, out_label = replace(x, label)
        assert out_label is label
        assert isinstance(out, torch.Tensor) and out.dtype == torch.uint8 and out.shape == (1, 8, 8)
        j = int(out[0, 0, 0])
        assert int(bank.labels[j]) == int(label)
        assert torch.equal(out, torch.from_numpy(np.array(bank.images[j])))
    out, _ = replace(x, 0)  # the bank holds no class 0: unchanged
    assert out is x


def test_replace_only_chosen_classes(bank: SyntheticBank) -> None:
    replace = SyntheticReplace(bank, p=1.0, classes=[2], seed=0)
    x = image(1)
    assert replace(x, 1)[0] is x
    assert int(replace(x, 2)[0][0, 0, 1]) == 1


def test_replace_is_seeded_and_mixes(bank: SyntheticBank) -> None:
    x = image(1)

    def draws(seed: int) -> list[int]:
        replace = SyntheticReplace(bank, p=0.5, seed=seed)
        outs = [replace(x, 2)[0] for _ in range(40)]
        return [-1 if out is x else int(out[0, 0, 0]) for out in outs]

    first = draws(1)
    assert first == draws(1)
    assert first != draws(2)
    assert 5 < first.count(-1) < 35
    assert {j for j in first if j >= 0} <= set(bank.indices(2).tolist())


def test_replace_keeps_pil(bank: SyntheticBank) -> None:
    pil = Image.fromarray(image(1)[0].numpy(), mode="L")
    out, label = SyntheticReplace(bank, p=1.0, seed=0)(pil, 1)
    assert isinstance(out, Image.Image) and out.mode == "L" and out.size == (8, 8)
    j = int(np.asarray(out)[0, 0])
    np.testing.assert_array_equal(np.asarray(out), bank.images[j, 0])


def test_replace_as_vision_dataset_transforms(bank: SyntheticBank) -> None:
    class Pairs(VisionDataset):
        """A VisionDataset that applies `transforms(image, target)`, as torchvision's detection sets do."""

        def __getitem__(self, index):
            return self.transforms(Image.fromarray(np.zeros((8, 8), np.uint8), mode="L"), 2)

        def __len__(self):
            return 3

    ds = Pairs(root=None, transforms=SyntheticReplace(bank, p=1.0, seed=0))
    out, label = ds[0]
    assert label == 2 and isinstance(out, Image.Image) and np.asarray(out)[0, 1] == 1


def test_replace_rejects_bad_p(bank: SyntheticBank) -> None:
    with pytest.raises(GanaugError, match=r"p=1.5: the replacement probability must lie in \[0, 1\]"):
        SyntheticReplace(bank, p=1.5)


def test_replace_rejects_classes_the_bank_lacks(bank: SyntheticBank) -> None:
    with pytest.raises(GanaugError, match=r"classes \[0, 5\] have no images in the bank \(it holds classes \[1, 2\]\)"):
        SyntheticReplace(bank, classes=[0, 1, 5])


def test_replace_rejects_mismatched_images(bank: SyntheticBank) -> None:
    replace = SyntheticReplace(bank, p=1.0)
    with pytest.raises(GanaugError, match=r"real images are \(3, 8, 8\) \(C,H,W\) but the bank's are \(1, 8, 8\)"):
        replace(image(3), 1)
    with pytest.raises(GanaugError, match="real samples are torch.float32 tensor, but mixing needs raw images"):
        replace(image(1).float() / 255, 1)
