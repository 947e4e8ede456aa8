"""Each strategy's training plan, and seeded train-and-evaluate runs of the reference classifier."""

from __future__ import annotations

import os
import re

import pytest
import torch
from helpers.data import make_toy_dataset

from ganaug.classify.classical import classical_transform, seeded
from ganaug.classify.parts import STRATEGIES
from ganaug.classify.plan import plan_training
from ganaug.classify.training import train_and_evaluate
from ganaug.data.dataset import DatasetSplits
from ganaug.errors import GanaugError
from ganaug.synth.bank import SyntheticBank

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
import albumentations as A  # noqa: E402

RESULT_KEYS = {
    "strategy", "seed", "classifier", "accuracy", "balanced_accuracy", "macro_f1", "per_class_recall", "rarest_class",
    "rarest_class_recall", "val_balanced_accuracy", "val_macro_f1", "val_accuracy", "val_rarest_class_recall",
    "train_size", "synthetic_size", "fit_seconds",
}  # fmt: skip
FAST = {"accelerator": "cpu", "enable_progress_bar": False, "num_sanity_val_steps": 0}


@pytest.fixture
def bank(tmp_path):
    fake = make_toy_dataset([0, 10, 30], seed=5)
    return SyntheticBank.from_arrays(fake.images, fake.labels, fake.class_names, tmp_path / "bank")


@pytest.fixture
def splits():
    train = make_toy_dataset([40, 20, 6], seed=1)
    return DatasetSplits(train, make_toy_dataset([5, 5, 5], seed=2), make_toy_dataset([10, 10, 10], seed=3))


def _assert_classes_drawn_evenly(plan, epochs: int = 40) -> None:
    """Empirical class frequencies of the plan's sampler over many epochs are all close to 1/3."""
    labels = plan.dataset.labels
    drawn = torch.cat([labels[torch.tensor(list(plan.sampler))] for _ in range(epochs)])
    freq = torch.bincount(drawn, minlength=3).double() / len(drawn)
    torch.testing.assert_close(freq, torch.full((3,), 1 / 3, dtype=torch.float64), atol=0.04, rtol=0)


def test_none_is_the_real_data_shuffled(toy_dataset):
    plan = plan_training("none", toy_dataset)
    assert plan.dataset is toy_dataset and plan.sampler is None and plan.class_weights is None


def test_oversample_draws_classes_evenly_and_is_seeded(toy_dataset):
    plan = plan_training("oversample", toy_dataset, seed=3)
    assert plan.dataset is toy_dataset and plan.class_weights is None
    assert len(plan.sampler) == len(toy_dataset)
    _assert_classes_drawn_evenly(plan)
    assert list(plan_training("oversample", toy_dataset, seed=3).sampler) == list(
        plan_training("oversample", toy_dataset, seed=3).sampler
    )
    assert list(plan.sampler) != list(plan_training("oversample", toy_dataset, seed=4).sampler)


def test_reweight_is_inverse_frequency_with_mean_one(toy_dataset):
    plan = plan_training("reweight", toy_dataset)
    assert plan.dataset is toy_dataset and plan.sampler is None
    w = torch.tensor(plan.class_weights)
    assert w.mean().item() == pytest.approx(1.0)
    assert (w * torch.tensor([40.0, 20.0, 6.0])).tolist() == pytest.approx([w[0].item() * 40] * 3)
    absent = plan_training("reweight", make_toy_dataset([10, 0, 5])).class_weights
    assert absent[1] == 0.0 and absent[2] == pytest.approx(2 * absent[0])
    assert (absent[0] + absent[2]) / 2 == pytest.approx(1.0)


def _images(dataset) -> torch.Tensor:
    return torch.stack([dataset[i][0] for i in range(len(dataset))])


def test_classical_transforms_images_balanced_and_seeded(toy_dataset):
    plan = plan_training("classical", toy_dataset, seed=0)
    assert plan.class_weights is None
    images = _images(plan.dataset)
    assert images.shape == toy_dataset.images.shape and images.dtype == torch.uint8
    assert (images != toy_dataset.images).flatten(1).any(1).float().mean() > 0.5
    assert torch.equal(plan.dataset.labels, toy_dataset.labels)
    _assert_classes_drawn_evenly(plan)
    assert torch.equal(_images(plan_training("classical", toy_dataset, seed=0).dataset), images)
    assert not torch.equal(_images(plan_training("classical", toy_dataset, seed=1).dataset), images)


def test_classical_transform_shifts_within_limits_and_follows_global_seed():
    image = torch.zeros(1, 28, 28, dtype=torch.uint8)
    image[:, 12:16, 12:16] = 255
    t = classical_transform((1, 28, 28), max_shift=3 / 28, max_rotation=0.0, seed=0)
    for _ in range(20):
        out = t(image)
        ys, xs = torch.nonzero(out[0] > 127, as_tuple=True)
        assert out.shape == image.shape and out.dtype == torch.uint8
        assert 9 <= ys.min() and ys.max() <= 18 and 9 <= xs.min() and xs.max() <= 18
    torch.manual_seed(7)
    first = [classical_transform((1, 28, 28))(image) for _ in range(3)]
    torch.manual_seed(7)
    assert all(torch.equal(a, classical_transform((1, 28, 28))(image)) for a in first)
    rgb = torch.randint(0, 256, (3, 8, 8), dtype=torch.uint8)
    assert classical_transform((3, 8, 8), seed=0)(rgb).shape == (3, 8, 8)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"image_shape": (2, 8, 8)}, "1 or 3 channels"),
        ({"max_shift": 0.6}, "max_shift=0.6"),
        ({"max_rotation": -1.0}, "max_rotation=-1.0"),
    ],
)
def test_classical_transform_bad_input(kwargs, match):
    with pytest.raises(GanaugError, match=match):
        classical_transform(**{"image_shape": (1, 8, 8), **kwargs})


def test_gan_adds_exactly_the_synthetic_counts(toy_dataset, bank):
    plan = plan_training("gan", toy_dataset, bank=bank, synthetic_counts={2: 12, 1: 4}, synthetic_share=1.0)
    assert plan.class_weights is None
    drawn = list(plan.sampler)  # an epoch as long as the real set's: the same steps as every strategy
    assert len(drawn) == len(toy_dataset) == len(set(drawn)) and max(drawn) < len(plan.dataset)
    assert len(plan.dataset) == len(toy_dataset) + 16
    assert int(plan.dataset.is_synthetic.sum()) == 16
    assert plan.dataset.counts() == [40, 24, 18]
    image, label, synthetic = plan.dataset[len(toy_dataset)]
    assert synthetic and image.dtype == torch.uint8 and image.shape == (1, 8, 8)
    assert torch.equal(plan.dataset[0][0], toy_dataset[0][0]) and plan.dataset[0][2] is False
    whole = plan_training("gan", toy_dataset, bank=bank)
    assert len(whole.dataset) == len(toy_dataset) + len(bank)


def test_gan_plus_classical_mixes_balances_and_transforms(toy_dataset, bank):
    plan = plan_training("gan+classical", toy_dataset, bank=bank, synthetic_counts={2: 14}, seed=0)
    mixed = plan.dataset
    assert len(mixed) == len(toy_dataset) + 14 and mixed.counts() == [40, 20, 20]
    assert len(list(plan.sampler)) == len(toy_dataset)
    _assert_classes_drawn_evenly(plan)
    real = torch.stack([mixed[i][0] for i in range(len(toy_dataset))])
    assert real.shape == toy_dataset.images.shape and not torch.equal(real, toy_dataset.images)
    assert mixed[len(mixed) - 1][2] is True


@pytest.mark.parametrize("strategy", ["gan", "gan+classical"])
def test_gan_without_bank_is_refused(toy_dataset, strategy):
    with pytest.raises(GanaugError, match=re.escape(f"strategy '{strategy}' needs a synthetic bank")):
        plan_training(strategy, toy_dataset)


def test_bad_strategy_and_arguments(toy_dataset, splits, bank):
    with pytest.raises(GanaugError, match="unknown strategy 'smote'; choose one of none, oversample"):
        plan_training("smote", toy_dataset)
    with pytest.raises(GanaugError, match="unknown strategy 'auto'"):
        train_and_evaluate("auto", splits)
    with pytest.raises(GanaugError, match="epochs=0: must be >= 1"):
        train_and_evaluate("none", splits, epochs=0)
    with pytest.raises(GanaugError, match="training split is empty"):
        plan_training("none", toy_dataset.subset([]))
    with pytest.raises(GanaugError, match="holds 10"):
        plan_training("gan", toy_dataset, bank=bank, synthetic_counts={1: 11})


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_train_and_evaluate_every_strategy(strategy, splits, bank):
    result = train_and_evaluate(
        strategy, splits, bank=bank, synthetic_counts={2: 20}, seed=1, epochs=2, batch_size=32,
        model_kwargs={"width": 8, "lr": 1e-2}, trainer_kwargs=FAST,
    )  # fmt: skip
    assert set(result) == RESULT_KEYS and result["strategy"] == strategy and result["seed"] == 1
    for key in ("accuracy", "balanced_accuracy", "macro_f1", "rarest_class_recall", "val_balanced_accuracy",
                "val_macro_f1"):
        assert 0.0 <= result[key] <= 1.0
    assert len(result["per_class_recall"]) == 3 and all(0.0 <= r <= 1.0 for r in result["per_class_recall"])
    assert result["rarest_class"] == 2 and result["fit_seconds"] > 0
    gan = strategy.startswith("gan")
    assert result["synthetic_size"] == (20 if gan else 0)
    assert result["train_size"] == 66 + result["synthetic_size"]
    assert not torch.are_deterministic_algorithms_enabled()  # the Trainer's global flag is put back


def test_same_seed_same_metrics(splits, bank):
    def run(seed: int) -> dict:
        result = train_and_evaluate(
            "gan+classical", splits, bank=bank, synthetic_counts={1: 5, 2: 20}, seed=seed, epochs=3,
            batch_size=16, model_kwargs={"width": 8}, trainer_kwargs=FAST,
        )  # fmt: skip
        result.pop("fit_seconds")
        return result

    first = run(0)
    assert run(0) == first
    assert first["balanced_accuracy"] > 0.5  # chance is 1/3


class _Repeat(torch.utils.data.Dataset):
    """The same image, augmented anew on every access."""

    def __init__(self, transform) -> None:
        self.transform = transform
        self.image = torch.zeros(1, 28, 28, dtype=torch.uint8)
        self.image[:, 8:20, 10:14] = 255

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.transform(self.image)


def test_classical_transform_differs_across_workers_reproducibly():
    def load() -> torch.Tensor:
        dataset = _Repeat(classical_transform((1, 28, 28), seed=0))
        gen = torch.Generator().manual_seed(0)
        loader = torch.utils.data.DataLoader(dataset, batch_size=1, num_workers=2, generator=gen)
        return torch.cat(list(loader))

    first = load()
    assert not torch.equal(first[0], first[1])  # items 0 and 1 come from different workers
    assert torch.equal(load(), first)


def test_seeded_copies_reseed_and_leave_the_original_alone(toy_dataset):
    image = toy_dataset[0][0]
    shared = classical_transform((1, 8, 8), seed=0)
    fresh = [shared(image) for _ in range(3)]
    a, b = seeded(shared, 5), seeded(shared, 5)
    assert all(torch.equal(a(image), b(image)) for _ in range(3))
    assert torch.equal(classical_transform((1, 8, 8), seed=0)(image), fresh[0])
    assert not torch.equal(shared(image), fresh[0])  # the original kept its own stream
    plain = lambda x: x  # noqa: E731
    assert seeded(plain, 1) is plain
    compose = A.Compose([A.Affine(rotate=(-30, 30), p=1.0)], seed=0)
    first_copy, second_copy = seeded(compose, 4), seeded(compose, 4)
    assert first_copy is not compose and first_copy.seed == 4 and compose.seed == 0
    arr = image.permute(1, 2, 0).numpy()
    assert (first_copy(image=arr)["image"] == second_copy(image=arr)["image"]).all()
    # a transform shared across runs gives the same plan for the same seed, whatever ran before
    first = _images(plan_training("classical", toy_dataset, classical=shared, seed=2).dataset)
    _images(plan_training("classical", toy_dataset, classical=shared, seed=3).dataset)
    assert torch.equal(_images(plan_training("classical", toy_dataset, classical=shared, seed=2).dataset), first)


@pytest.mark.parametrize("strategy", ["gan", "gan+classical"])
def test_synthetic_share_caps_the_generated_draws_of_a_class(toy_dataset, bank, strategy):
    counts = toy_dataset.counts()
    plan = plan_training(strategy, toy_dataset, bank=bank, synthetic_counts={2: 14}, seed=0, synthetic_share=0.2)
    mixed = plan.dataset
    weights = plan.sampler.weights
    in_class = mixed.labels == 2
    share = weights[in_class & mixed.is_synthetic].sum() / weights[in_class].sum()
    assert share.item() == pytest.approx(0.2)  # 14 of 20 images, but a fifth of the draws
    assert len(list(plan.sampler)) == len(toy_dataset)
    class_mass = weights[in_class].sum() / weights.sum()
    expected = 1 / 3 if strategy == "gan+classical" else 20 / (sum(counts) + 14)
    assert class_mass.item() == pytest.approx(expected)
