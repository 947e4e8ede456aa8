"""The contract every registry entry keeps: each strategy and part, network, GAN loss, augmentation policy,
imbalance profile, target mode and data schema does what its registry promises."""

from __future__ import annotations

import dataclasses
import inspect
import itertools

import pytest
import torch
from helpers.data import make_toy_dataset
from hydra.utils import get_object

from ganaug.classify.losses import ClassifierLoss
from ganaug.classify.parts import PARTS, STRATEGIES, parse_strategy
from ganaug.classify.plan import plan_training
from ganaug.classify.results import MetricsRow
from ganaug.classify.training import train_and_evaluate
from ganaug.cli.config.schema import DATA_SCHEMAS
from ganaug.data.dataset import DatasetSplits
from ganaug.data.imbalance import PROFILES, TARGET_MODES, make_imbalanced, synthetic_targets
from ganaug.gan.diffaugment import POLICIES, DiffAugment
from ganaug.gan.discriminators import DISCRIMINATORS, MultiScaleDiscriminator, build_discriminator
from ganaug.gan.generators import GENERATORS, build_generator, sample_uint8
from ganaug.gan.losses import LOSSES, build_loss
from ganaug.synth.bank import SyntheticBank

SHAPES = [(1, 8, 8), (3, 28, 28)]
ROW_KEYS = set(MetricsRow.__required_keys__)
FAST = {"accelerator": "cpu", "enable_progress_bar": False, "num_sanity_val_steps": 0}


@pytest.fixture
def bank(tmp_path) -> SyntheticBank:
    fake = make_toy_dataset([0, 10, 30], seed=5)
    return SyntheticBank.from_arrays(fake.images, fake.labels, fake.class_names, tmp_path / "bank")


def _strategies() -> list[str]:
    """The default strategies and every part alone."""
    return list(dict.fromkeys([*STRATEGIES, *PARTS]))


@pytest.mark.parametrize("strategy", _strategies())
def test_every_strategy_plans_trains_and_scores(strategy: str, bank: SyntheticBank) -> None:
    train = make_toy_dataset([40, 20, 6], seed=1)
    splits = DatasetSplits(train, make_toy_dataset([5, 5, 5], seed=2), make_toy_dataset([8, 8, 8], seed=3))
    parsed = parse_strategy(strategy)
    plan = plan_training(strategy, train, bank=bank, synthetic_counts={2: 10})
    assert isinstance(plan.loss, ClassifierLoss)
    drawn = len(plan.sampler) if plan.sampler is not None else len(plan.dataset)
    assert drawn == len(train)  # every strategy's epoch is the real set's length
    assert (len(plan.dataset) > len(train)) == parsed.synthetic
    row = train_and_evaluate(
        strategy, splits, bank=bank, synthetic_counts={2: 10}, epochs=1, batch_size=16,
        model_kwargs={"width": 4}, trainer_kwargs=FAST,
    )  # fmt: skip
    assert set(row) == ROW_KEYS and row["strategy"] == strategy
    assert row["synthetic_size"] == (10 if parsed.synthetic else 0)


@pytest.mark.parametrize("name", list(PARTS))
def test_every_part_names_its_kind(name: str) -> None:
    part = PARTS[name]
    assert part.name == name and part.summary
    assert parse_strategy(name).part(part.kind) is part


@pytest.mark.parametrize(("name", "shape"), [(n, s) for n in GENERATORS for s in SHAPES])
def test_every_generator_makes_images_of_the_shape_in_range(name: str, shape: tuple[int, int, int]) -> None:
    torch.manual_seed(0)
    net = build_generator(name, image_shape=shape, num_classes=3, latent_dim=8, base_channels=4)
    labels = torch.tensor([0, 1, 2, 1])
    out = net(torch.randn(4, net.latent_dim), labels)
    assert out.shape == (4, *shape) and out.min() >= -1.0 and out.max() <= 1.0
    images = sample_uint8(net, labels, net.latent_dim, [0, 1, 2], torch.Generator().manual_seed(0))
    assert images.dtype == torch.uint8 and images.shape == (4, *shape)


@pytest.mark.parametrize(("name", "shape"), [(n, s) for n in DISCRIMINATORS for s in SHAPES])
def test_every_discriminator_gives_one_logit_per_image(name: str, shape: tuple[int, int, int]) -> None:
    net = build_discriminator(name, image_shape=shape, num_classes=3, base_channels=4).eval()  # fixed spectral norms
    images, labels = torch.rand(5, *shape) * 2 - 1, torch.tensor([0, 1, 2, 0, 1])
    logits = net(images, labels)
    assert torch.isfinite(logits).all()
    if isinstance(net, MultiScaleDiscriminator):  # one logit per image and scale
        assert logits.shape == (5, len(net.critics))
    else:
        assert logits.shape == (5,)
        assert torch.allclose(net.logits(net.features(images), labels), logits)


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_gan_loss_gives_finite_scalars_with_gradients(name: str) -> None:
    loss = build_loss(name)
    real, fake = torch.randn(6, requires_grad=True), torch.randn(6, requires_grad=True)
    d, g = loss.d_loss(real, fake), loss.g_loss(fake)
    assert d.ndim == 0 and g.ndim == 0 and torch.isfinite(d) and torch.isfinite(g)
    d.backward()
    assert real.grad is not None and fake.grad is not None
    assert loss.gp_weight >= 0 and isinstance(loss.decision_at_zero, bool)


@pytest.mark.parametrize("policy", list(POLICIES))
def test_every_augmentation_policy_keeps_the_shape_and_is_differentiable(policy: str) -> None:
    x = (torch.rand(4, 3, 16, 16) * 2 - 1).requires_grad_(True)
    out = DiffAugment(policy)(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    out.sum().backward()
    assert x.grad is not None


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_imbalance_profile_keeps_the_head_and_declares_its_parameters(profile: str) -> None:
    data = make_toy_dataset([30, 30, 30, 30])
    out = make_imbalanced(data, ratio=10.0, profile=profile)
    counts = out.counts()
    assert counts[0] == 30 and all(a >= b for a, b in itertools.pairwise(counts))
    assert (counts == data.counts()) == (profile == "none")
    assert set(PROFILES[profile]) <= set(inspect.signature(make_imbalanced).parameters)


@pytest.mark.parametrize("mode", list(TARGET_MODES))
def test_every_target_mode_gives_a_count_per_minority_class(mode: str) -> None:
    explicit = {"2": 5} if mode == "counts" else None
    targets = synthetic_targets([50, 20, 5], [1, 2], mode=mode, explicit=explicit)
    assert set(targets) == {1, 2} and all(isinstance(n, int) and n >= 0 for n in targets.values())


@pytest.mark.parametrize("name", list(DATA_SCHEMAS))
def test_every_data_schema_names_a_loader_that_takes_its_fields(name: str) -> None:
    schema = DATA_SCHEMAS[name]
    loader = get_object(schema._target_)
    params = inspect.signature(loader).parameters
    assert {f.name for f in dataclasses.fields(schema)} - {"_target_"} <= set(params)
