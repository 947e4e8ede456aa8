"""DiffAugment: shapes, gradients, what each transform does, seeding, and its use in every D pass."""

from __future__ import annotations

import logging

import pytest
import torch

from ganaug.errors import GanaugError
from ganaug.gan import module as gan_module
from ganaug.gan.diffaugment import DiffAugment, color, cutout, parse_policy, translation
from ganaug.gan.training import train_gan

POLICIES = ["color", "translation", "cutout", "translation,cutout", "color,translation,cutout"]


def _images(n: int = 6, c: int = 1, h: int = 8, w: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(seed)) * 1.6 - 0.8


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 28, 28), (3, 5, 9)])
def test_each_policy_keeps_shape_changes_images_and_passes_gradients(policy: str, shape: tuple) -> None:
    torch.manual_seed(0)
    x = _images(8, *shape).requires_grad_(True)
    out = DiffAugment(policy)(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert not torch.allclose(out, x), f"{policy} left every image unchanged"
    (out * torch.randn_like(out)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_empty_policy_is_the_identity() -> None:
    x = _images()
    for policy in ("", None, [], " , "):
        aug = DiffAugment(policy)
        assert not aug and aug(x) is x
    assert DiffAugment("cutout")


def test_seeded_through_torch_rng_and_explicit_generators() -> None:
    x = _images(16)
    aug = DiffAugment("color,translation,cutout")
    torch.manual_seed(3)
    a = aug(x)
    torch.manual_seed(3)
    b = aug(x)
    torch.manual_seed(4)
    c = aug(x)
    assert torch.equal(a, b) and not torch.equal(a, c)
    g1 = aug(x, generator=torch.Generator().manual_seed(1))
    g2 = aug(x, generator=torch.Generator().manual_seed(1))
    assert torch.equal(g1, g2)


def _shifted(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """x moved down by dy and right by dx, zeros where nothing moved in."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    out[..., max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = x[
        ..., max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)
    ]
    return out


def test_translation_is_an_integer_shift_with_zero_fill_within_the_ratio() -> None:
    x = _images(32, 2, 16, 16) + 2.0  # no zeros in the input
    out = translation(x, ratio=0.125, generator=torch.Generator().manual_seed(0))
    seen = set()
    for img, moved in zip(x, out, strict=True):
        shifts = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if torch.equal(_shifted(img, dy, dx), moved)]
        assert len(shifts) == 1, "not a shift of at most 2 px (1/8 of 16)"
        seen.add(shifts[0])
    assert len(seen) > 5, "shifts are not random per image"


def test_cutout_zeroes_one_square_of_half_the_size() -> None:
    x = torch.ones(64, 1, 8, 8)
    out = cutout(x, ratio=0.5, generator=torch.Generator().manual_seed(0))
    holes = out == 0
    assert torch.equal(out[~holes], x[~holes])
    sizes = holes.flatten(1).sum(1)
    assert sizes.max() == 16 and sizes.min() >= 4  # a 4x4 square, clipped at the border
    for hole in holes[:, 0]:
        rows, cols = hole.any(1).nonzero().flatten(), hole.any(0).nonzero().flatten()
        assert hole.sum() == len(rows) * len(cols), "the hole is not a rectangle"


def test_color_is_an_affine_map_per_gray_image() -> None:
    x = _images(8)
    out = color(x, generator=torch.Generator().manual_seed(0))
    for img, new in zip(x.flatten(1), out.flatten(1), strict=True):
        design = torch.stack([img, torch.ones_like(img)], dim=1)
        coef = torch.linalg.lstsq(design, new[:, None]).solution
        assert torch.allclose(design @ coef, new[:, None], atol=1e-5)
        assert 0.0 <= coef[0].item() < 1.5 + 1e-6  # contrast factor in [0.5, 1.5) (saturation is a no-op)
    colour = color(_images(4, 3), generator=torch.Generator().manual_seed(0))
    assert colour.shape == (4, 3, 8, 8)


def test_bad_policies_and_ratios_raise() -> None:
    assert parse_policy("cutout, color,cutout") == ("cutout", "color")
    with pytest.raises(GanaugError, match=r"unknown diffaugment policy \['colour'\].*color,translation,cutout"):
        DiffAugment("colour,cutout")
    with pytest.raises(GanaugError, match="translation_ratio"):
        DiffAugment("translation", translation_ratio=0.8)
    with pytest.raises(GanaugError, match="cutout_ratio"):
        DiffAugment("cutout", cutout_ratio=0.0)


class _Spy:
    """Wraps a DiffAugment and records the batch size of every call."""

    def __init__(self, inner: DiffAugment) -> None:
        self.inner, self.sizes = inner, []

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.sizes.append(len(x))
        return self.inner(x)


@pytest.mark.parametrize(("feature_matching", "per_g_step"), [(0.0, [16]), (1.0, [16, 16])])
def test_every_discriminator_pass_sees_augmented_images(
    feature_matching: float, per_g_step: list[int], monkeypatch: pytest.MonkeyPatch, toy_dataset
) -> None:
    """d_steps D passes on real+fake (2n), then the G pass on fakes (and on reals for feature matching)."""
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    spies: list[_Spy] = []

    def make(policy: str) -> _Spy:
        spies.append(_Spy(DiffAugment(policy)))
        return spies[-1]

    monkeypatch.setattr(gan_module, "DiffAugment", make)
    train_gan(
        toy_dataset, [0, 1, 2], steps=2, batch_size=16, trainer_kwargs={"enable_progress_bar": False},
        module_kwargs={"generator_kwargs": {"latent_dim": 8, "base_channels": 8},
                       "discriminator_kwargs": {"base_channels": 8}, "d_steps": 2,
                       "diffaugment": "translation,cutout", "feature_matching": feature_matching},
    )  # fmt: skip
    assert len(spies) == 1
    assert spies[0].sizes == ([32, 32, *per_g_step] * 2)
