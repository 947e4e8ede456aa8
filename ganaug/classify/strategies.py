"""The strategies compared on imbalanced data, and one seeded train-and-evaluate run of the classifier.

Every strategy trains the same `ImageClassifier`; they differ only in what the training loader serves
(real images, resampled, transformed, mixed with a synthetic bank) and in the loss's class weights.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, Sampler

from ganaug.classify.classical import classical_transform, seeded
from ganaug.classify.metrics import evaluate
from ganaug.classify.model import ImageClassifier
from ganaug.data.dataset import DatasetSplits, ImageDataset
from ganaug.errors import GanaugError
from ganaug.synth.bank import SyntheticBank
from ganaug.synth.mixing import MixedDataset, balanced_sampler

CLASSICAL_STRATEGIES = ("none", "oversample", "reweight", "classical")
GAN_STRATEGIES = ("gan", "gan+classical")
STRATEGIES = CLASSICAL_STRATEGIES + GAN_STRATEGIES
# The strategy that chooses among the others on held-back training data (ganaug.auto), then trains one.
AUTO = "auto"


@dataclass
class TrainingPlan:
    """What one strategy trains on: the dataset, its sampler (None = plain shuffle) and loss class weights."""

    dataset: Dataset
    sampler: Sampler | None
    class_weights: list[float] | None


def _inverse_frequency(counts: list[int]) -> list[float]:
    """1/count per class, scaled to mean 1 over the classes present; 0 for a class with no images."""
    inverse = [1.0 / n if n > 0 else 0.0 for n in counts]
    present = sum(1 for n in counts if n > 0)
    total = sum(inverse)
    return [w * present / total for w in inverse]


def _check_bank(strategy: str, bank: SyntheticBank | None) -> SyntheticBank:
    """The bank a gan strategy needs (MixedDataset checks that it matches the training data)."""
    if bank is None:
        raise GanaugError(
            f"strategy '{strategy}' needs a synthetic bank; pass bank=SyntheticBank.load(DIR) "
            "(generate one with the bank stage) or pick a strategy without 'gan'"
        )
    return bank


def plan_training(
    strategy: str,
    train: ImageDataset,
    *,
    bank: SyntheticBank | None = None,
    synthetic_counts: Mapping[int, int] | None = None,
    classical: Callable | None = None,
    seed: int = 0,
    synthetic_share: float = 1.0,
) -> TrainingPlan:
    """The training data, sampler and class weights of `strategy` (one of STRATEGIES) on `train`.

    Every strategy's epoch is len(train) samples, so all train the same number of steps and differ only
    in what they see (as the MNIST-LT protocol compares them): the gan strategies draw that many from
    the larger mixed set (gan: shuffled without replacement, a fresh subset each epoch; gan+classical:
    balanced).

    `classical` is the transform of the classical strategies (default: `classical_transform`), used as
    a copy reseeded with `seed` (see `classical.seeded`) so a run never depends on earlier runs that
    shared the object. `bank` and `synthetic_counts` (default: the whole bank) feed the gan strategies,
    which yield `(image, label, is_synthetic)` so the classifier can weight synthetic samples.
    `synthetic_share` below 1 caps the share of a class's draws that synthetic samples take in the gan
    strategies (see `mixing_weights`); gan then draws with replacement, each class as often as its size.
    """
    if strategy not in STRATEGIES:
        raise GanaugError(f"unknown strategy '{strategy}'; choose one of {', '.join(STRATEGIES)}")
    if len(train) == 0:
        raise GanaugError("the training split is empty; use a dataset with training images")
    k = train.num_classes
    if strategy == "none":
        return TrainingPlan(train, None, None)
    if strategy == "oversample":
        return TrainingPlan(train, balanced_sampler(train.labels, k, seed), None)
    if strategy == "reweight":
        return TrainingPlan(train, None, _inverse_frequency(train.counts()))
    if strategy in ("classical", "gan+classical"):
        default = classical is None
        classical = classical_transform(train.image_shape, seed=seed) if default else seeded(classical, seed)
    if strategy == "classical":
        transformed = MixedDataset(train, transform=classical, seed=seed)
        return TrainingPlan(transformed, balanced_sampler(train.labels, k, seed), None)
    bank = _check_bank(strategy, bank)
    if strategy == "gan":
        mixed = MixedDataset(train, bank, synthetic_counts, seed=seed, return_source=True)
        if synthetic_share == 1.0:
            shuffled = RandomSampler(mixed, num_samples=len(train), generator=torch.Generator().manual_seed(seed))
            return TrainingPlan(mixed, shuffled, None)
        balanced = False
    else:
        mixed = MixedDataset(train, bank, synthetic_counts, transform=classical, seed=seed, return_source=True)
        balanced = True
    sampler = balanced_sampler(
        mixed.labels, k, seed, len(train), mixed.is_synthetic, synthetic_share=synthetic_share, balanced=balanced
    )
    return TrainingPlan(mixed, sampler, None)


@contextlib.contextmanager
def _torch_flags_restored() -> Iterator[None]:
    """Restore the global determinism flags a `deterministic=True` Trainer sets, for the code after it."""
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[2], saved[3]


def train_and_evaluate(
    strategy: str,
    splits: DatasetSplits,
    *,
    bank: SyntheticBank | None = None,
    synthetic_counts: Mapping[int, int] | None = None,
    classical: Callable | None = None,
    seed: int = 0,
    synthetic_share: float = 1.0,
    epochs: int = 30,
    batch_size: int = 128,
    model_kwargs: dict | None = None,
    trainer_kwargs: dict | None = None,
    num_workers: int = 0,
) -> dict:
    """Train the reference classifier with `strategy` on splits.train and score it on splits.test.

    Seeded with `pl.seed_everything(seed)` and a deterministic Trainer, so the same seed gives the same
    metrics on CPU. Validation (val_loss, val_balanced_accuracy) is logged on splits.val each epoch.
    `trainer_kwargs` go to `pl.Trainer` over the defaults (no logger, no checkpoints); `model_kwargs`
    to `ImageClassifier`. Returns the test metrics plus the run's facts (one JSON-ready dict).
    """
    if strategy not in STRATEGIES:
        raise GanaugError(f"unknown strategy '{strategy}'; choose one of {', '.join(STRATEGIES)}")
    if epochs < 1 or batch_size < 1 or num_workers < 0:
        raise GanaugError(
            f"epochs={epochs}, batch_size={batch_size}, num_workers={num_workers}: "
            "epochs and batch_size must be >= 1 and num_workers >= 0"
        )
    pl.seed_everything(seed, verbose=False)
    plan = plan_training(
        strategy,
        splits.train,
        bank=bank,
        synthetic_counts=synthetic_counts,
        classical=classical,
        seed=seed,
        synthetic_share=synthetic_share,
    )
    kwargs = dict(model_kwargs or {})
    if plan.class_weights is not None:
        kwargs["class_weights"] = plan.class_weights
    model = ImageClassifier(splits.train.image_shape[0], splits.train.num_classes, **kwargs)
    loader = DataLoader(
        plan.dataset,
        batch_size=batch_size,
        shuffle=plan.sampler is None,
        sampler=plan.sampler,
        num_workers=num_workers,
    )
    val_loader = DataLoader(splits.val, batch_size=512, num_workers=num_workers) if len(splits.val) else None
    settings = {
        "max_epochs": epochs,
        "deterministic": True,
        "logger": False,
        "enable_checkpointing": False,
        "enable_model_summary": False,
        "log_every_n_steps": max(1, min(50, len(loader))),
        **(trainer_kwargs or {}),
    }
    with _torch_flags_restored():
        trainer = pl.Trainer(**settings)
        start = time.perf_counter()
        trainer.fit(model, loader, val_loader)
        fit_seconds = time.perf_counter() - start
    num_classes, train_counts = splits.train.num_classes, splits.train.counts()
    metrics = evaluate(model, splits.test, num_classes, train_counts)
    val = evaluate(model, splits.val, num_classes, train_counts)["balanced_accuracy"] if len(splits.val) else None
    is_synthetic = getattr(plan.dataset, "is_synthetic", None)
    return {
        "strategy": strategy,
        "seed": seed,
        **metrics,
        "val_balanced_accuracy": val,
        "train_size": len(plan.dataset),
        "synthetic_size": 0 if is_synthetic is None else int(is_synthetic.sum()),
        "fit_seconds": round(fit_seconds, 3),
    }
