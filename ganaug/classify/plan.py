"""What one strategy trains on: the training set, its sampler and its loss, composed from the strategy's parts.

Every strategy's epoch is len(train) samples, so all train the same number of steps and differ only in what
they see (as the MNIST-LT protocol compares them): the synthetic strategies draw that many from the larger
mixed set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import Dataset, RandomSampler, Sampler, WeightedRandomSampler

from ganaug.classify.losses import ClassifierLoss, Mixup
from ganaug.classify.parts import (
    BATCH,
    IMAGE,
    BatchPart,
    ImagePart,
    LossPart,
    Strategy,
    check_part_settings,
    parse_strategy,
)
from ganaug.data.dataset import ImageDataset
from ganaug.errors import GanaugError
from ganaug.synth.bank import SyntheticBank
from ganaug.synth.mixing import SYNTHETIC_SHARE, MixedDataset, balanced_sampler


@dataclass
class TrainingPlan:
    """What one strategy trains on: the dataset, its sampler (None = plain shuffle), the loss, the batch mix
    (None: none) and what the strategy needs of the classifier's constructor (`model_kwargs`)."""

    dataset: Dataset
    sampler: Sampler | None
    loss: ClassifierLoss
    batch_transform: Mixup | None = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def class_weights(self) -> list[float] | None:
        """The loss's class weights at the first epoch (None: every class weighs the same then; `drw`
        switches to its deferred weights later, `ClassifierLoss.start_epoch`)."""
        weights = self.loss.class_weights
        return None if weights is None else weights.tolist()


def _bank(strategy: Strategy, bank: SyntheticBank | None) -> SyntheticBank:
    """The bank a synthetic strategy needs (MixedDataset checks that it matches the training data)."""
    if bank is None:
        raise GanaugError(
            f"strategy '{strategy.name}' needs a synthetic bank; pass bank=SyntheticBank.load(DIR) "
            "(generate one with the bank stage) or pick a strategy without 'gan'"
        )
    return bank


def _dataset(
    strategy: Strategy,
    train: ImageDataset,
    bank: SyntheticBank | None,
    synthetic_counts: Mapping[int, int] | None,
    transform: Callable | None,
    seed: int,
) -> Dataset:
    if strategy.synthetic:
        bank = _bank(strategy, bank)
        return MixedDataset(train, bank, synthetic_counts, transform=transform, seed=seed, return_source=True)
    if transform is not None:
        return MixedDataset(train, transform=transform, seed=seed)
    return train


def _sampler(strategy: Strategy, dataset: Dataset, train: ImageDataset, seed: int, share: float) -> Sampler | None:
    """Balanced or plain draws of len(train) samples; synthetic samples take at most `share` of their class's."""
    k = train.num_classes
    if not strategy.synthetic:
        return balanced_sampler(train.labels, k, seed) if strategy.balanced else None
    assert isinstance(dataset, MixedDataset)
    if not strategy.balanced and share == 1.0:
        return RandomSampler(dataset, num_samples=len(train), generator=torch.Generator().manual_seed(seed))
    return balanced_sampler(
        dataset.labels, k, seed, len(train), dataset.is_synthetic, synthetic_share=share, balanced=strategy.balanced
    )


def epoch_counts(
    dataset: Dataset, sampler: Sampler | None, num_classes: int, synthetic_weight: float = 1.0
) -> list[float]:
    """Expected samples of each class in one epoch, a generated one counting `synthetic_weight` as the loss
    weighs it: the class distribution the loss sees, which a loss that corrects the imbalance corrects for."""
    labels = torch.as_tensor(dataset.labels, dtype=torch.int64)
    if isinstance(sampler, WeightedRandomSampler):
        mass, drawn = sampler.weights.double(), sampler.num_samples
    else:
        mass = torch.ones(len(labels), dtype=torch.float64)
        drawn = len(sampler) if isinstance(sampler, RandomSampler) else len(labels)
    share = mass / mass.sum().clamp_min(1e-12)
    is_synthetic = getattr(dataset, "is_synthetic", None)
    if is_synthetic is not None:
        share = torch.where(is_synthetic.to(torch.bool), share * synthetic_weight, share)
    return (torch.zeros(num_classes, dtype=torch.float64).index_add_(0, labels, share) * drawn).tolist()


def plan_training(
    strategy: str | Strategy,
    train: ImageDataset,
    *,
    bank: SyntheticBank | None = None,
    synthetic_counts: Mapping[int, int] | None = None,
    classical: Callable | None = None,
    seed: int = 0,
    synthetic_share: float = SYNTHETIC_SHARE,
    synthetic_weight: float = 1.0,
    part_settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> TrainingPlan:
    """The training data, sampler and loss of `strategy` (a name such as `gan+classical`) on `train`.

    `classical` is the image part's transform (default: `classical_transform`), used as a copy reseeded
    with `seed` (see `classical.seeded`) so a run never depends on earlier runs that shared the object.
    `bank` and `synthetic_counts` (default: the whole bank) feed the synthetic strategies, which yield
    `(image, label, is_synthetic)` so the loss can weigh synthetic samples (`synthetic_weight`).
    `synthetic_share` below 1 caps the share of a class's draws that synthetic samples take (see
    `mixing_weights`); plain sampling then draws with replacement, each class as often as its size.
    `part_settings` gives parts their settings by name (`{"la": {"tau": 1.5}}`); a loss part's counts are
    each class's expected samples in one epoch (`epoch_counts`), generated ones included at `synthetic_weight`.
    So `drw`'s effective numbers (which depend on the counts themselves, not only their ratios) count draws per
    epoch, a real image drawn twice counting twice, where Cui et al. count distinct images.
    """
    parsed = parse_strategy(strategy)
    if len(train) == 0:
        raise GanaugError("the training split is empty; use a dataset with training images")
    image = parsed.part(IMAGE)
    transform = image.transform(train.image_shape, seed, classical) if isinstance(image, ImagePart) else None
    dataset = _dataset(parsed, train, bank, synthetic_counts, transform, seed)
    sampler = _sampler(parsed, dataset, train, seed, synthetic_share)
    settings = dict(part_settings or {})
    check_part_settings(settings)
    loss = ClassifierLoss(synthetic_weight=synthetic_weight)
    shaping = [p for p in parsed.parts if isinstance(p, LossPart)]
    if shaping:
        counts = epoch_counts(dataset, sampler, train.num_classes, synthetic_weight)
        for part in shaping:
            part.configure(loss, counts, **settings.get(part.name, {}))
    batch = parsed.part(BATCH)
    mix = batch.transform(**settings.get(batch.name, {})) if isinstance(batch, BatchPart) else None
    return TrainingPlan(dataset, sampler, loss, mix, parsed.model_kwargs)
