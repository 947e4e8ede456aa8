"""Choosing what the GAN learns from, and training it with a real Lightning Trainer."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, Sampler, WeightedRandomSampler

from ganaug.data.dataset import ImageDataset
from ganaug.errors import GanaugError, at_least, between, checked, each, one_of, seed
from ganaug.gan import speed
from ganaug.gan.callbacks import SampleGridCallback, StepProgressBar
from ganaug.gan.module import ConditionalGAN
from ganaug.gan.monitor import GanStopped
from ganaug.gan.progressive import GrowthSchedule
from ganaug.gan.resume import (
    GanCheckpoint,
    RunSampler,
    discard_checkpoint,
    existing_checkpoint,
    join_curves,
    set_curves_aside,
)
from ganaug.lightning import accelerator_device, build_trainer, namespace_for
from ganaug.progress import shown

log = logging.getLogger("ganaug")

CONDITION_ON = ("minority", "all")
CLASS_BALANCE = ("sqrt", "balanced", "none")
# Trainer options train_gan sets itself: the run's length is `steps`.
_LENGTH_OPTIONS = {"max_steps", "max_epochs", "min_steps", "min_epochs"}
# DDP strategies by name: each update of the GAN uses one of its two networks, so DDP must expect parameters
# without gradients in a backward pass.
_DDP = ("ddp", "ddp_spawn", "ddp_fork", "ddp_notebook")


@checked(fractions=each(between(0, 1, low_open=True)))
def snapshot_steps(steps: int, fractions: Sequence[float]) -> list[int]:
    """The generator step counts at `fractions` of a run of `steps` updates (rounded, at least 1, distinct,
    sorted): where one run's snapshots are taken, so the training length can be chosen after it."""
    return sorted({max(1, round(f * steps)) for f in fractions})


def trained_classes(counts: Sequence[int], minority: Sequence[int], condition_on: str = "minority") -> list[int]:
    """The class ids a GAN is conditioned on: the minority classes, or ("all") every class with images."""
    return [c for c, n in enumerate(counts) if n > 0] if condition_on == "all" else sorted({int(c) for c in minority})


@checked(condition_on=one_of(CONDITION_ON))
def gan_training_set(
    train: ImageDataset, minority: list[int], condition_on: str = "minority"
) -> tuple[ImageDataset, list[int]]:
    """The images the GAN learns from and the class ids it is conditioned on.

    "minority": only the minority classes' images; "all": every class with images (more data for
    the shared layers; later only the minority classes are sampled).
    """
    counts = train.counts()
    minority = sorted({int(c) for c in minority})
    if not minority:
        raise GanaugError(
            "no minority classes to train the GAN on; list them (minority classes) or raise the minority threshold"
        )
    for c in minority:
        if not 0 <= c < train.num_classes:
            raise GanaugError(f"minority class id {c} is out of range 0..{train.num_classes - 1}")
        if counts[c] == 0:
            raise GanaugError(
                f"class '{train.class_names[c]}' has no training images; the GAN cannot learn it, "
                "drop it from the minority classes"
            )
    classes = trained_classes(counts, minority, condition_on)
    if condition_on == "all":
        return train, classes
    keep = torch.nonzero(torch.isin(train.labels, torch.tensor(minority))).flatten()
    return train.subset(keep), classes


def _epoch_sampler(dataset: ImageDataset, class_balance: str, seed: int) -> Sampler:
    gen = torch.Generator().manual_seed(seed)
    if class_balance == "none":
        return RandomSampler(dataset, generator=gen)
    counts = torch.tensor(dataset.counts(), dtype=torch.float64)[dataset.labels]
    weights = counts.reciprocal() if class_balance == "balanced" else counts.rsqrt()
    return WeightedRandomSampler(weights, num_samples=len(dataset), replacement=True, generator=gen)


class _Indices(Dataset):
    """Item i is the index i of `dataset`, whose images, labels and class names it shows (what the monitor
    and the sample grids read): the batches of a run whose images are resident in the module."""

    def __init__(self, dataset: ImageDataset) -> None:
        self.images, self.labels, self.class_names = dataset.images, dataset.labels, dataset.class_names

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> int:
        return index


@checked(
    steps=at_least(1), batch_size=at_least(1), class_balance=one_of(CLASS_BALANCE), sample_every_n_steps=at_least(1),
    seed=seed(), resident=one_of(speed.RESIDENT),
)
def train_gan(
    dataset: ImageDataset,
    trained_classes: list[int],
    *,
    steps: int,
    batch_size: int = 64,
    seed: int = 0,
    class_balance: str = "sqrt",
    module: Callable[..., ConditionalGAN] = ConditionalGAN,
    module_kwargs: Mapping[str, Any] | None = None,
    trainer_kwargs: Mapping[str, Any] | None = None,
    sample_dir: Path | None = None,
    sample_every_n_steps: int = 500,
    log_dir: Path | None = None,
    checkpoint_dir: Path | None = None,
    checkpoint_every_n_steps: int = 500,
    resident: str = "auto",
    progressive: bool = False,
    progressive_fade: float = 0.5,
) -> ConditionalGAN:
    """Train a ConditionalGAN on `dataset` for exactly `steps` generator updates and return it.

    `module(image_shape=, num_classes=, trained_classes=, **module_kwargs)` builds the GAN (default
    ConditionalGAN; a `functools.partial` of it carries settings, as `hydra.utils.instantiate` makes one).
    Each batch makes d_steps discriminator and one generator update, and Lightning's global_step
    counts every optimiser step, so the Trainer runs with max_steps = steps * (d_steps + 1).
    "sqrt" class balance samples each image with weight 1/sqrt(its class count), so rare classes are
    seen more often without being repeated as hard as full balancing ("balanced": weight 1/count, every
    class equally often) would; "none" draws the images as they come. Seeded: on the CPU the
    same seed gives the same generator weights. `trainer_kwargs` go to pl.Trainer (accelerator,
    devices, precision, logger, ...); the run length is set by `steps` only. Under DDP (`strategy="ddp"`, ...)
    the ranks train on their shares of each batch with their gradients averaged, the monitor's stop is agreed
    between them, and only rank zero writes sample grids and checkpoints. Progress is one bar over the
    generator steps (`StepProgressBar`), on a terminal only unless enable_progress_bar says otherwise.

    `log_dir` adds a CSVLogger writing the training curves to `log_dir/metrics.csv` (one row every
    trainer `log_every_n_steps` generator steps: step, epoch, d_loss, g_loss, d_real, d_fake, and
    d_acc / gp / g_fm when the loss and settings produce them) besides any logger objects given.
    `checkpoint_dir` makes the run resumable: every `checkpoint_every_n_steps` generator steps it saves
    `checkpoint_dir/last.ckpt` (weights, EMA, optimisers, RNG state, position in the data order), a
    run started with that file there resumes from it and ends with the weights an uninterrupted run
    ends with, and the file is removed once the run has finished.
    A run stopped by the TrainingMonitor (divergence, collapse) raises its one-line GanaugError here,
    after the Trainer has finished cleanly. `resident` ("auto", "on", "off"; `ganaug.gan.speed`) keeps the
    training images on the Trainer's device, the batches gathered there by index (the same batches); else a
    loader collates them, into pinned memory on CUDA. `progressive` grows the GAN from its generator's coarsest
    resolution, fading each finer one in over `progressive_fade` of its share of the steps (`GrowthSchedule`).
    """
    if len(dataset) == 0:
        raise GanaugError("the GAN training set is empty; check the minority classes have training images")
    stray = sorted(set(dataset.labels.unique().tolist()) - {int(c) for c in trained_classes})
    if stray:
        raise GanaugError(
            f"the GAN training set holds classes {stray} not in trained_classes {sorted(trained_classes)}; "
            "build both with gan_training_set"
        )
    settings = dict(trainer_kwargs or {})
    fixed = sorted(_LENGTH_OPTIONS & settings.keys())
    if fixed:
        raise GanaugError(f"trainer options {fixed} are set by ganaug for the GAN; set its length with steps=N")

    if settings.get("strategy") in _DDP:
        settings["strategy"] = f"{settings['strategy']}_find_unused_parameters_true"
    pl.seed_everything(seed, verbose=False)
    gan = module(
        image_shape=dataset.image_shape,
        num_classes=dataset.num_classes,
        trained_classes=list(trained_classes),
        **dict(module_kwargs or {}),
    )
    gan.use_class_counts(dataset.counts())
    if progressive:
        gan.grow(GrowthSchedule(getattr(gan.generator, "levels", 1), steps, progressive_fade))
    batch = min(batch_size, len(dataset))
    sampler = RunSampler(_epoch_sampler(dataset, class_balance, seed), batch, steps)
    device = accelerator_device(settings)
    if speed.resident_fits(dataset.images.nbytes, device, resident):
        gan.use_resident(dataset.images, dataset.labels)
        loader = DataLoader(_Indices(dataset), batch_size=batch, sampler=sampler, drop_last=True)
    else:
        pinned = device.type == "cuda"
        loader = DataLoader(dataset, batch_size=batch, sampler=sampler, drop_last=True, pin_memory=pinned)
    namespace = namespace_for(gan)
    if log_dir is not None:
        csv = namespace.loggers.CSVLogger(log_dir, name="", version="")
        settings["logger"] = [*_loggers(settings.get("logger")), csv]
    callbacks = list(settings.pop("callbacks", None) or [])
    if sample_dir is not None:
        grid = SampleGridCallback.bind(namespace)(Path(sample_dir), every_n_steps=sample_every_n_steps, real=dataset)
        callbacks.append(grid)
    settings["enable_progress_bar"] = shown(settings.get("enable_progress_bar"))
    if settings["enable_progress_bar"]:
        callbacks.append(StepProgressBar.bind(namespace)(steps))
    resume = None
    if checkpoint_dir is not None:
        run = {
            "steps": steps,
            "batch_size": batch,
            "seed": seed,
            "class_balance": class_balance,
            "images": len(dataset),
            "progressive": progressive_fade if progressive else None,
        }
        callbacks.append(GanCheckpoint.bind(namespace)(checkpoint_dir, checkpoint_every_n_steps, sampler, run))
        resume = existing_checkpoint(checkpoint_dir)
    length = {"max_steps": steps * (gan.hparams.d_steps + 1), "max_epochs": -1}
    trainer = build_trainer(settings, namespace, "gan_training", **length, callbacks=callbacks)
    if resume is not None:
        log.info("gan: resuming from %s", resume)
        if log_dir is not None:
            set_curves_aside(log_dir)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*(dataloader is not resumable|exists and is not empty).*")
        trainer.fit(gan, train_dataloaders=loader, ckpt_path=resume, weights_only=True)
    if resume is not None and log_dir is not None:
        join_curves(log_dir)
    if gan.failure is not None:
        raise GanStopped(gan.failure)
    if checkpoint_dir is not None:
        discard_checkpoint(checkpoint_dir)
    return gan


def _loggers(given: object) -> list[Any]:
    """The loggers (objects or factories) in a Trainer `logger` argument (True/False/None hold none)."""
    if given is None or isinstance(given, bool):
        return []
    return list(given) if isinstance(given, (list, tuple)) else [given]
