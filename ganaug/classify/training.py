"""One seeded train-and-evaluate run of a classifier under a strategy, with a real Lightning Trainer.

Every strategy trains the same classifier; they differ only in what the training loader serves (real
images, resampled, transformed, mixed with a synthetic bank) and in the loss (see `plan`).
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from ganaug.classify.metrics import evaluate
from ganaug.classify.model import ImageClassifier, build_classifier, classifier_name
from ganaug.classify.parts import Strategy, parse_strategy
from ganaug.classify.plan import TrainingPlan, plan_training
from ganaug.classify.results import METRICS, VALIDATION_METRICS, MetricsRow
from ganaug.classify.resume import FitCheckpoint, random_streams
from ganaug.data.dataset import DatasetSplits
from ganaug.errors import at_least, checked
from ganaug.errors import seed as seed_constraint
from ganaug.gan.resume import discard_checkpoint, existing_checkpoint
from ganaug.lightning import accelerator_device, build_trainer, namespace_for
from ganaug.synth.bank import SyntheticBank
from ganaug.synth.mixing import SYNTHETIC_SHARE

EVAL_BATCH = 512
log = logging.getLogger("ganaug")


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


def fit(
    model: pl.LightningModule,
    loader: DataLoader,
    val_loader: DataLoader | None = None,
    *,
    epochs: int,
    trainer_kwargs: Mapping[str, Any] | None = None,
    deterministic: bool = True,
    name: str = "classifier",
    checkpoint_dir: str | Path | None = None,
) -> float:
    """Fit `model` for `epochs` with a quiet Trainer (`trainer_kwargs` on top); return the fit's seconds.

    With `deterministic`, the Trainer makes torch's algorithms deterministic for the fit only. `name` names
    the fit for loggers given as factories (see `ganaug.lightning.build_trainer`). `checkpoint_dir` makes
    the fit resumable: every epoch's end saves `checkpoint_dir/last.ckpt` with the random state of torch,
    of the loader's sampler and of the dataset's transform (`FitCheckpoint`); a fit started with that file
    there resumes after that epoch and ends with the weights an uninterrupted fit ends with (on CPU), and
    the file is removed once the fit has finished.
    """
    settings = dict(trainer_kwargs or {})
    # curves at least once an epoch, however short (Lightning warns at every fit whose epoch is shorter)
    interval = max(1, min(settings.pop("log_every_n_steps", 50), len(loader)))
    defaults: dict[str, Any] = {"max_epochs": epochs, "log_every_n_steps": interval}
    if deterministic:
        defaults["deterministic"] = True
    namespace = namespace_for(model)
    resume = None
    if checkpoint_dir is not None:
        streams = random_streams(loader.sampler, loader.dataset)
        run = {"name": name, "epochs": epochs, "samples": len(loader.dataset), "batch_size": loader.batch_size}
        saver = FitCheckpoint.bind(namespace)(checkpoint_dir, streams, run)
        settings["callbacks"] = [*(settings.get("callbacks") or []), saver]
        resume = existing_checkpoint(checkpoint_dir)
    with _torch_flags_restored():
        trainer = build_trainer(settings, namespace, name, **defaults)
        if resume is not None:
            log.info("%s: resuming from %s", name, resume)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", ".*dataloader is not resumable.*")
            trainer.fit(model, loader, val_loader, ckpt_path=resume, weights_only=True)
        seconds = time.perf_counter() - start
    if checkpoint_dir is not None:
        discard_checkpoint(checkpoint_dir)
    return seconds


@dataclass
class FitResult:
    """A classifier trained under a strategy: the model, its plan and the fit's seconds."""

    strategy: str
    seed: int
    model: pl.LightningModule
    plan: TrainingPlan
    fit_seconds: float

    def row(self, splits: DatasetSplits) -> MetricsRow:
        """The model's metrics on splits.test (its validation score on splits.val) and the run's facts."""
        train = splits.train
        num_classes, train_counts = train.num_classes, train.counts()
        metrics = evaluate(self.model, splits.test, num_classes, train_counts)
        val = evaluate(self.model, splits.val, num_classes, train_counts) if len(splits.val) else {}
        is_synthetic = getattr(self.plan.dataset, "is_synthetic", None)
        return {
            "strategy": self.strategy,
            "seed": self.seed,
            "classifier": classifier_name(self.model),
            **metrics,
            **{key: val.get(m) for m, key in zip(METRICS, VALIDATION_METRICS, strict=True)},  # type: ignore[misc]
            "train_size": len(self.plan.dataset),
            "synthetic_size": 0 if is_synthetic is None else int(is_synthetic.sum()),
            "fit_seconds": round(self.fit_seconds, 3),
        }


@checked(epochs=at_least(1), batch_size=at_least(1), num_workers=at_least(0), seed=seed_constraint())
def fit_strategy(
    strategy: str | Strategy,
    splits: DatasetSplits,
    *,
    bank: SyntheticBank | None = None,
    synthetic_counts: Mapping[int, int] | None = None,
    classical: Callable | None = None,
    seed: int = 0,
    synthetic_share: float = SYNTHETIC_SHARE,
    synthetic_weight: float = 1.0,
    part_settings: Mapping[str, Mapping[str, Any]] | None = None,
    epochs: int = 30,
    batch_size: int = 128,
    model: Callable[..., pl.LightningModule] = ImageClassifier,
    model_kwargs: Mapping[str, Any] | None = None,
    trainer_kwargs: Mapping[str, Any] | None = None,
    num_workers: int = 0,
    name: str | None = None,
    checkpoint_dir: str | Path | None = None,
) -> FitResult:
    """Train a classifier with `strategy` on splits.train (validation logged on splits.val each epoch).

    Seeded with `pl.seed_everything(seed)` and a deterministic Trainer, so the same seed gives the same
    model on CPU. `model` is the classifier: ganaug's `ImageClassifier` (default), or any LightningModule
    class (or partial) meeting the protocol of `build_classifier`, with `model_kwargs`; `part_settings` go
    to the parts; `trainer_kwargs` to the Trainer over the quiet defaults (of the model's namespace);
    `name` names the fit for its loggers (default `<strategy>/seed<seed>`); `checkpoint_dir` makes it
    resumable after every epoch (see `fit`).
    """
    parsed = parse_strategy(strategy)
    pl.seed_everything(seed, verbose=False)
    train = splits.train
    plan = plan_training(
        parsed,
        train,
        bank=bank,
        synthetic_counts=synthetic_counts,
        classical=classical,
        seed=seed,
        synthetic_share=synthetic_share,
        synthetic_weight=synthetic_weight,
        part_settings=part_settings,
    )
    net = build_classifier(
        model,
        train.image_shape[0],
        train.num_classes,
        plan.loss,
        plan.batch_transform,
        needs=plan.model_kwargs,
        **(model_kwargs or {}),
    )
    loading = {"num_workers": num_workers, "pin_memory": accelerator_device(trainer_kwargs).type == "cuda"}
    shuffle = plan.sampler is None
    loader = DataLoader(plan.dataset, batch_size=batch_size, shuffle=shuffle, sampler=plan.sampler, **loading)
    val_loader = DataLoader(splits.val, batch_size=EVAL_BATCH, **loading) if len(splits.val) else None
    name = name or f"{parsed.name}/seed{seed}"
    fit_seconds = fit(net, loader, val_loader, epochs=epochs, trainer_kwargs=trainer_kwargs, name=name,
                      checkpoint_dir=checkpoint_dir)  # fmt: skip
    return FitResult(parsed.name, seed, net, plan, fit_seconds)


def train_and_evaluate(strategy: str | Strategy, splits: DatasetSplits, **kwargs: Any) -> MetricsRow:
    """Train a classifier with `strategy` on splits.train (`fit_strategy`, which takes the keywords) and
    score it on splits.test: one JSON-ready metrics row."""
    return fit_strategy(strategy, splits, **kwargs).row(splits)
