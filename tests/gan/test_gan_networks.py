"""Generator, discriminator and loss building blocks: shapes, registries, spectral norm, loss values."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from ganaug.errors import GanaugError
from ganaug.gan.attention import SelfAttention
from ganaug.gan.discriminators import (
    DISCRIMINATORS,
    ProjectionDiscriminator,
    ResNetDiscriminator,
    build_discriminator,
)
from ganaug.gan.generators import (
    GENERATORS,
    DCGANGenerator,
    ResNetGenerator,
    build_generator,
    to_float,
    to_uint8,
)
from ganaug.gan.layout import num_resolution_steps
from ganaug.gan.losses import LOSSES, HingeLoss, NonSaturatingLoss, build_loss
from ganaug.gan.regularizers import conditional_norms

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
    assert set(GENERATORS) == {"dcgan", "resnet", "style"}
    assert set(DISCRIMINATORS) == {"projection", "resnet", "multiscale"}
    assert set(LOSSES) == {"hinge", "non_saturating", "wgan_gp"}
    assert isinstance(build_generator("dcgan", image_shape=(1, 8, 8), num_classes=2), DCGANGenerator)
    disc = build_discriminator("projection", image_shape=(1, 8, 8), num_classes=2)
    assert isinstance(disc, ProjectionDiscriminator)
    assert isinstance(build_loss("hinge"), HingeLoss) and isinstance(build_loss("non_saturating"), NonSaturatingLoss)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: build_generator("stylegan", image_shape=(1, 8, 8), num_classes=2), "generators: dcgan, resnet, style"),
        (lambda: build_discriminator("patch", image_shape=(1, 8, 8), num_classes=2), "multiscale, projection, resnet"),
        (lambda: build_loss("wasserstein"), "known losses: hinge, non_saturating, wgan_gp"),
        (lambda: DCGANGenerator((8, 8), num_classes=2), r"\(C, H, W\)"),
        (lambda: DCGANGenerator((1, 0, 8), num_classes=2), "positive sizes"),
        (lambda: DCGANGenerator((1, 8, 8), num_classes=0), "num_classes"),
        (lambda: DCGANGenerator((1, 8, 8), num_classes=2, latent_dim=0), "latent_dim"),
        (lambda: ProjectionDiscriminator((1, 8, 8), num_classes=2, base_channels=0), "base_channels"),
        (lambda: ResNetGenerator((1, 8, 8), num_classes=2, base_channels=0), "base_channels"),
        (lambda: ResNetDiscriminator((1, 8), num_classes=2), r"\(C, H, W\)"),
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


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 8, 8), (1, 28, 28), (3, 28, 28), (1, 32, 32), (3, 32, 32), (3, 5, 9)])
@pytest.mark.parametrize("attention", [False, True])
def test_resnet_networks_fit_the_image_shape(shape: tuple[int, int, int], attention: bool) -> None:
    torch.manual_seed(0)
    gen = ResNetGenerator(shape, num_classes=4, latent_dim=8, base_channels=8, attention=attention)
    disc = ResNetDiscriminator(shape, num_classes=4, base_channels=8, attention=attention)
    labels = torch.tensor([0, 3, 1])
    images = gen(torch.randn(3, 8), labels)
    assert images.shape == (3, *shape) and images.min() >= -1.0 and images.max() <= 1.0
    logits = disc(images, labels)
    assert logits.shape == (3,)
    assert disc.features(images).shape == (3, 8 * min(2 ** num_resolution_steps(*shape[1:]), 8))
    logits.sum().backward()
    assert all(p.grad is not None for p in gen.parameters())
    assert sum(isinstance(m, SelfAttention) for m in [*gen.modules(), *disc.modules()]) == (2 if attention else 0)


def test_resnet_generator_is_conditioned_by_batch_norm_gains_and_biases() -> None:
    torch.manual_seed(0)
    gen = ResNetGenerator((1, 8, 8), num_classes=3, latent_dim=8, base_channels=8)
    norms = conditional_norms(gen)
    assert len(norms) == 2 and not any(isinstance(m, nn.Embedding) for m in gen.children())
    cbn = norms[0]
    with torch.no_grad():
        cbn.gain.weight[1] = 1.0  # class 1: gain 2
        cbn.bias.weight[2] = 0.5  # class 2: bias 0.5
    x = torch.randn(6, cbn.norm.num_features, 4, 4)
    base = cbn(x, torch.zeros(6, dtype=torch.int64))
    assert torch.allclose(cbn(x, torch.ones(6, dtype=torch.int64)), 2 * base, atol=1e-5)
    assert torch.allclose(cbn(x, torch.full((6,), 2)), base + 0.5, atol=1e-5)
    gen.eval()
    z = torch.randn(1, 8).repeat(2, 1)
    with torch.no_grad():
        for m in norms:
            m.gain.weight.normal_()
    out = gen(z, torch.tensor([0, 2]))
    assert not torch.allclose(out[0], out[1])


def test_resnet_discriminator_has_spectral_norm_everywhere() -> None:
    disc = ResNetDiscriminator((1, 8, 8), num_classes=3, base_channels=8, attention=True)
    weighted = [m for m in disc.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding))]
    assert len(weighted) >= 10 and all(parametrize.is_parametrized(m, "weight") for m in weighted)


def test_self_attention_block() -> None:
    torch.manual_seed(0)
    block = SelfAttention(16)
    x = torch.randn(2, 16, 5, 7)
    assert torch.equal(block(x), x), "gamma starts at 0: the identity"
    with torch.no_grad():
        block.gamma.fill_(1.0)
    out = block(x)
    assert out.shape == x.shape and not torch.allclose(out, x)
    # Every position sees every other: changing one corner changes the output far away.
    y = x.clone()
    y[:, :, 0, 0] += 5.0
    assert not torch.allclose(block(y)[:, :, -1, -1], out[:, :, -1, -1])
    (grad,) = torch.autograd.grad(block(x.requires_grad_(True)).sum(), x, create_graph=True)
    grad.sum().backward()  # twice differentiable, as the gradient penalty needs


@pytest.mark.parametrize(
    ("generator", "discriminator", "shape", "side"),
    [("dcgan", "projection", (1, 28, 28), 14), ("resnet", "resnet", (1, 28, 28), 14),
     ("resnet", "projection", (3, 32, 32), 16), ("dcgan", "resnet", (1, 8, 8), 8)],
)  # fmt: skip
def test_attention_runs_at_the_middle_resolution_of_both_networks(
    generator: str, discriminator: str, shape: tuple[int, int, int], side: int
) -> None:
    from ganaug.gan.module import ConditionalGAN

    gan = ConditionalGAN(
        shape, 3, [0, 1, 2], generator=generator, discriminator=discriminator, attention=True,
        generator_kwargs={"latent_dim": 8, "base_channels": 4}, discriminator_kwargs={"base_channels": 4},
    )  # fmt: skip
    assert gan.generator_kwargs["attention"] is True
    seen: list[tuple[str, tuple[int, int]]] = []
    for net_name, net in (("G", gan.generator), ("D", gan.discriminator)):
        for m in net.modules():
            if isinstance(m, SelfAttention):
                m.register_forward_hook(lambda mod, args, out, n=net_name: seen.append((n, tuple(out.shape[2:]))))
    labels = torch.tensor([0, 2])
    gan.discriminator(gan.generator(torch.randn(2, 8), labels), labels)
    assert seen == [("G", (side, side)), ("D", (side, side))]
    plain = ConditionalGAN(shape, 3, [0], generator=generator, discriminator=discriminator,
                           generator_kwargs={"latent_dim": 8, "base_channels": 4})  # fmt: skip
    assert not any(isinstance(m, SelfAttention) for m in plain.modules())


def test_feature_matching_needs_a_discriminator_with_features(monkeypatch: pytest.MonkeyPatch) -> None:
    from ganaug.gan.module import ConditionalGAN

    class Plain(nn.Module):
        def __init__(self, image_shape, num_classes) -> None:
            super().__init__()
            self.lin = nn.Linear(1, 1)

    monkeypatch.setitem(DISCRIMINATORS, "plain", Plain)
    with pytest.raises(GanaugError, match="discriminator 'plain' has no features"):
        ConditionalGAN((1, 8, 8), 3, [0], discriminator="plain", feature_matching=1.0)


def test_a_mistyped_network_argument_names_the_accepted_ones():
    with pytest.raises(GanaugError, match=r"generator 'dcgan' takes no argument latnet_dim; it takes: .*latent_dim"):
        build_generator("dcgan", image_shape=(1, 8, 8), num_classes=2, latnet_dim=3)
    with pytest.raises(GanaugError, match=r"discriminator 'projection' takes no argument width"):
        build_discriminator("projection", image_shape=(1, 8, 8), num_classes=2, width=3)
