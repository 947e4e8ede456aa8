"""Generator, discriminator and loss building blocks: shapes, registries, spectral norm, loss values."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from ganaug.errors import GanaugError
from ganaug.gan.discriminators import DISCRIMINATORS, ProjectionDiscriminator, build_discriminator
from ganaug.gan.generators import (
    GENERATORS,
    DCGANGenerator,
    build_generator,
    num_resolution_steps,
    to_float,
    to_uint8,
)
from ganaug.gan.losses import LOSSES, HingeLoss, NonSaturatingLoss, build_loss

SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 64, 64), (1, 27, 27), (3, 5, 9), (1, 28, 64)]


@pytest.mark.parametrize("shape", SHAPES)
def test_generator_and_discriminator_fit_any_image_shape(shape: tuple[int, int, int]) -> None:
    torch.manual_seed(0)
    gen = DCGANGenerator(shape, num_classes=4, latent_dim=8, base_channels=8)
    disc = ProjectionDiscriminator(shape, num_classes=4, base_channels=8)
    labels = torch.tensor([0, 3, 1])
    images = gen(torch.randn(3, 8), labels)
    assert images.shape == (3, *shape)
    assert images.min() >= -1.0 and images.max() <= 1.0
    logits = disc(images, labels)
    assert logits.shape == (3,)
    logits.sum().backward()
    assert all(p.grad is not None for p in gen.parameters())


@pytest.mark.parametrize(("side", "steps"), [(4, 0), (7, 0), (8, 1), (28, 2), (32, 3), (64, 4), (3, 0)])
def test_number_of_upsamplings_follows_image_size(side: int, steps: int) -> None:
    assert num_resolution_steps(side, side) == steps
    gen = DCGANGenerator((1, side, side), num_classes=2, latent_dim=4, base_channels=4)
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in gen.modules()) == steps


def test_generator_output_depends_on_the_class() -> None:
    torch.manual_seed(0)
    gen = DCGANGenerator((1, 8, 8), num_classes=3, latent_dim=8, base_channels=8).eval()
    z = torch.randn(1, 8).repeat(2, 1)
    out = gen(z, torch.tensor([0, 2]))
    assert not torch.allclose(out[0], out[1])


def test_discriminator_layers_all_have_spectral_norm() -> None:
    disc = ProjectionDiscriminator((1, 8, 8), num_classes=3, base_channels=8)
    weighted = [m for m in disc.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding))]
    assert len(weighted) >= 5
    assert all(parametrize.is_parametrized(m, "weight") for m in weighted)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in disc.modules())


def test_projection_uses_the_label() -> None:
    torch.manual_seed(0)
    disc = ProjectionDiscriminator((1, 8, 8), num_classes=3, base_channels=8).eval()
    x = torch.rand(1, 1, 8, 8).repeat(3, 1, 1, 1)
    logits = disc(x, torch.tensor([0, 1, 2]))
    assert len(set(logits.tolist())) == 3


def test_registries_build_by_name() -> None:
    assert set(GENERATORS) == {"dcgan"} and set(DISCRIMINATORS) == {"projection"}
    assert {"hinge", "non_saturating"} <= set(LOSSES)
    assert isinstance(build_generator("dcgan", image_shape=(1, 8, 8), num_classes=2), DCGANGenerator)
    disc = build_discriminator("projection", image_shape=(1, 8, 8), num_classes=2)
    assert isinstance(disc, ProjectionDiscriminator)
    assert isinstance(build_loss("hinge"), HingeLoss) and isinstance(build_loss("non_saturating"), NonSaturatingLoss)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: build_generator("stylegan", image_shape=(1, 8, 8), num_classes=2), "known generators: dcgan"),
        (lambda: build_discriminator("patch", image_shape=(1, 8, 8), num_classes=2), "discriminators: projection"),
        (lambda: build_loss("wasserstein"), "known losses: hinge, non_saturating"),
        (lambda: DCGANGenerator((8, 8), num_classes=2), r"\(C, H, W\)"),
        (lambda: DCGANGenerator((1, 0, 8), num_classes=2), "positive sizes"),
        (lambda: DCGANGenerator((1, 8, 8), num_classes=0), "num_classes"),
        (lambda: DCGANGenerator((1, 8, 8), num_classes=2, latent_dim=0), "latent_dim"),
        (lambda: ProjectionDiscriminator((1, 8, 8), num_classes=2, base_channels=0), "base_channels"),
    ],
)
def test_bad_network_arguments_raise(call, match: str) -> None:
    with pytest.raises(GanaugError, match=match):
        call()


def test_hinge_loss_values() -> None:
    loss = HingeLoss()
    real, fake = torch.full((4,), 2.0), torch.full((4,), -2.0)
    assert loss.d_loss(real, fake).item() == 0.0
    assert loss.d_loss(torch.zeros(4), torch.zeros(4)).item() == pytest.approx(2.0)
    assert loss.d_loss(torch.tensor([0.5]), torch.tensor([0.0])).item() == pytest.approx(1.5)
    assert loss.g_loss(torch.tensor([1.0, 3.0])).item() == pytest.approx(-2.0)


def test_non_saturating_loss_values() -> None:
    loss = NonSaturatingLoss()
    log2 = torch.log(torch.tensor(2.0)).item()
    assert loss.d_loss(torch.zeros(3), torch.zeros(3)).item() == pytest.approx(2 * log2)
    assert loss.g_loss(torch.zeros(3)).item() == pytest.approx(log2)
    assert loss.d_loss(torch.full((3,), 20.0), torch.full((3,), -20.0)).item() < 1e-8
    assert loss.g_loss(torch.full((3,), -20.0)).item() == pytest.approx(20.0, rel=1e-6)


def test_pixel_conversion_round_trips() -> None:
    u8 = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16)
    x = to_float(u8)
    assert x.min() == -1.0 and x.max() == 1.0
    assert torch.equal(to_uint8(x), u8)
    assert torch.equal(to_uint8(torch.tensor([-3.0, 3.0])), torch.tensor([0, 255], dtype=torch.uint8))
