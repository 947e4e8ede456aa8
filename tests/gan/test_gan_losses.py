"""Wasserstein loss with gradient penalty, feature matching, and their use in the GAN's updates."""

from __future__ import annotations

import logging

import pytest
import torch

from ganaug.data.dataset import ImageDataset
from ganaug.errors import GanaugError
from ganaug.gan.losses import HingeLoss, WassersteinGPLoss, build_loss, feature_matching, gradient_penalty
from ganaug.gan.module import ConditionalGAN
from ganaug.gan.training import train_gan

TINY = {"generator_kwargs": {"latent_dim": 8, "base_channels": 8}, "discriminator_kwargs": {"base_channels": 8}}


def _linear_critic(norm: float, shape: tuple[int, ...] = (1, 4, 4)):
    """critic(x) = <w, x> with ||w|| = norm: its gradient norm is `norm` everywhere."""
    w = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    w = w / w.norm() * norm
    return lambda x: (x * w).flatten(1).sum(1)


@pytest.mark.parametrize(("norm", "expected"), [(1.0, 0.0), (3.0, 4.0), (0.5, 0.25), (0.0, 1.0)])
def test_gradient_penalty_of_a_linear_critic(norm: float, expected: float) -> None:
    real, fake = torch.randn(6, 1, 4, 4), torch.randn(6, 1, 4, 4)
    gp = gradient_penalty(_linear_critic(norm), real, fake, generator=torch.Generator().manual_seed(1))
    assert gp.item() == pytest.approx(expected, abs=1e-5)


def test_gradient_penalty_of_a_quadratic_critic_uses_the_interpolates() -> None:
    """critic(x) = ||x||^2 / 2 has gradient x: with real = fake = x the penalty is (||x|| - 1)^2."""
    x = torch.zeros(2, 1, 2, 2)
    x[0, 0, 0, 0], x[1, 0, 1, 1] = 3.0, 0.5
    gp = gradient_penalty(lambda v: (v**2).flatten(1).sum(1) / 2, x, x.clone())
    assert gp.item() == pytest.approx(((3.0 - 1) ** 2 + (0.5 - 1) ** 2) / 2)


def test_gradient_penalty_reaches_the_critic_weights() -> None:
    critic = torch.nn.Linear(4, 1)
    gp = gradient_penalty(lambda v: critic(v.flatten(1)).squeeze(1), torch.randn(5, 1, 2, 2), torch.randn(5, 1, 2, 2))
    gp.backward()
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0


def test_wasserstein_loss_values_and_gp_weights() -> None:
    loss = WassersteinGPLoss()
    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([-1.0, 0.0])
    assert loss.d_loss(real, fake).item() == pytest.approx(-3.5)
    assert loss.g_loss(fake).item() == pytest.approx(0.5)
    assert loss.gp_weight == 10.0 and not loss.decision_at_zero
    assert build_loss("wgan_gp", 2.5).gp_weight == 2.5
    assert build_loss("hinge").gp_weight == 0.0 and build_loss("hinge", 1.0).gp_weight == 1.0
    assert isinstance(build_loss("hinge"), HingeLoss) and build_loss("non_saturating").decision_at_zero
    with pytest.raises(GanaugError, match="gp_weight must be >= 0"):
        build_loss("wgan_gp", -1.0)


def test_feature_matching_is_the_squared_gap_of_the_means() -> None:
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # mean (2, 3)
    fake = torch.tensor([[0.0, 0.0], [2.0, 2.0]], requires_grad=True)  # mean (1, 1)
    fm = feature_matching(real.requires_grad_(True), fake)
    assert fm.item() == pytest.approx((1.0 + 4.0) / 2)
    fm.backward()
    assert real.grad is None, "real features are constants"
    assert torch.allclose(fake.grad, torch.tensor([[-0.5, -1.0], [-0.5, -1.0]]))
    assert feature_matching(real, real.clone()).item() == 0.0


@pytest.fixture(autouse=True)
def _quiet() -> None:
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)


@pytest.mark.parametrize(
    ("module_kwargs", "logged", "absent"),
    [
        ({"loss": "wgan_gp"}, {"gp", "d_real", "d_fake"}, {"d_acc", "g_fm"}),
        ({"loss": "hinge", "gp_weight": 1.0, "feature_matching": 0.5}, {"gp", "g_fm", "d_acc"}, set()),
        ({"loss": "non_saturating"}, {"d_acc", "d_real"}, {"gp", "g_fm"}),
    ],
)
def test_module_logs_the_terms_its_loss_uses(
    toy_dataset: ImageDataset, module_kwargs: dict, logged: set, absent: set
) -> None:
    gan = train_gan(
        toy_dataset, [0, 1, 2], steps=3, batch_size=16, module_kwargs={**TINY, **module_kwargs},
        trainer_kwargs={"enable_progress_bar": False},
    )  # fmt: skip
    metrics = set(gan.trainer.logged_metrics)
    assert {"d_loss", "g_loss"} | logged <= metrics and not absent & metrics
    assert all(torch.isfinite(v) for v in gan.trainer.logged_metrics.values())


def test_feature_matching_pulls_the_generator_towards_real_features() -> None:
    """With only the feature-matching term, a G step lowers it (the gradient points the right way)."""
    torch.manual_seed(0)
    gan = ConditionalGAN((1, 8, 8), 3, [0, 1, 2], feature_matching=1.0, **TINY)
    real = torch.rand(32, 1, 8, 8) * 2 - 1
    z, labels = torch.randn(32, 8), torch.randint(0, 3, (32,))
    disc, gen = gan.discriminator, gan.generator
    opt = torch.optim.SGD(gen.parameters(), lr=0.05)
    first = None
    for _ in range(5):
        fm = feature_matching(disc.features(real), disc.features(gen(z, labels)))
        first = fm.item() if first is None else first
        opt.zero_grad()
        fm.backward()
        opt.step()
    assert fm.item() < first
    with pytest.raises(GanaugError, match="feature_matching=-1.0: must be >= 0"):
        ConditionalGAN((1, 8, 8), 3, [0], feature_matching=-1.0, **TINY)
