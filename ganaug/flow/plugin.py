"""Adding ganaug to a Lightning project in one call: `augment(datamodule)` returns it with generated samples.

    import ganaug
    dm = ganaug.augment(YourDataModule(...), cache_dir="ganaug-cache", steps=3000, fill_fraction=0.3)
    trainer.fit(your_model, datamodule=dm)

It reads the raw images of the datamodule's training split (`ganaug.data.raw.raw_view`: works when the
dataset applies ToTensor/Normalize itself), picks the minority classes, trains the conditional GAN on the
training split (or reuses the one cached for the same images and settings), samples the synthetic bank and
wraps the datamodule in a `GANAugDataModule` of its own Lightning namespace. It logs what it did.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganaug.data.datamodule import training_images
from ganaug.data.dataset import ImageDataset
from ganaug.data.imbalance import select_minority, synthetic_targets
from ganaug.flow.cache import cache_key, cached_stage, rebuilt_if_damaged
from ganaug.gan.export import GeneratorArtifact, export_generator
from ganaug.gan.resume import CHECKPOINTS
from ganaug.gan.training import gan_training_set, train_gan
from ganaug.synth.bank import SyntheticBank
from ganaug.synth.datamodule import GANAugDataModule
from ganaug.synth.mixing import SYNTHETIC_SHARE

log = logging.getLogger("ganaug")

STEPS = 1200  # the GAN's length where a Python caller does not say: minutes on a CPU at 28x28
BATCH_SIZE = 64


@dataclass(frozen=True)
class Augmentation:
    """What `augment` did: the classes and their training counts, the minority classes and the synthetic
    samples each gets, and where the GAN and the bank are."""

    class_names: list[str]
    counts: list[int]
    minority: list[int]
    synthetic_counts: dict[int, int]
    gan_dir: Path
    bank_dir: Path


def fingerprint(data: ImageDataset) -> str:
    """A hash of a dataset's images, labels and class names: what a GAN trained on it depends on."""
    digest = hashlib.sha256(data.images.numpy().tobytes())
    digest.update(data.labels.numpy().tobytes())
    digest.update("\0".join(data.class_names).encode())
    return digest.hexdigest()[:16]


def synthesize(
    train: ImageDataset,
    minority: list[int],
    targets: Mapping[int, int],
    *,
    cache_dir: str | Path,
    steps: int = STEPS,
    batch_size: int = BATCH_SIZE,
    gan_seed: int = 0,
    condition_on: str = "all",
    module_kwargs: Mapping[str, Any] | None = None,
    trainer_kwargs: Mapping[str, Any] | None = None,
    sample_seed: int = 0,
) -> tuple[Path, SyntheticBank]:
    """The GAN folder and the bank of `targets[c]` generated images per class for the training set `train`.

    Trains the conditional GAN on `train` (conditioned as `condition_on` says, its minority classes
    `minority`) or reuses the one cached under `cache_dir` for the same images and settings, then samples
    the bank (cached too, keyed by the GAN, the targets and `sample_seed`). A killed GAN run resumes; a
    damaged cache entry is built again.
    """
    dataset, trained = gan_training_set(train, minority, condition_on=condition_on)
    gan_settings = {"steps": steps, "batch_size": batch_size, "seed": gan_seed, "condition_on": condition_on,
                    "module": dict(module_kwargs or {})}  # fmt: skip
    payload = {"data": fingerprint(train), "gan": gan_settings, "trained_classes": trained}

    def build_gan(folder: Path) -> None:
        folder.mkdir(exist_ok=True)
        gan = train_gan(
            dataset, trained, steps=steps, batch_size=batch_size, seed=gan_seed, module_kwargs=module_kwargs,
            trainer_kwargs=trainer_kwargs, sample_dir=folder / "samples", checkpoint_dir=folder / CHECKPOINTS,
        )  # fmt: skip
        export_generator(gan, folder / "generator", train.class_names, config=payload)

    gan_dir, artifact = rebuilt_if_damaged(
        "gan",
        lambda: cached_stage(cache_dir, "gan", payload, build_gan, resumable=True),
        lambda folder: GeneratorArtifact.load(folder / "generator", expect=train),
    )
    bank_payload = {"gan": cache_key(payload), "targets": {str(k): v for k, v in targets.items()}, "seed": sample_seed}

    def build_bank(folder: Path) -> None:
        SyntheticBank.generate(artifact, targets, folder, seed=sample_seed, source=bank_payload)

    _, bank = rebuilt_if_damaged(
        "bank", lambda: cached_stage(cache_dir, "bank", bank_payload, build_bank), SyntheticBank.load
    )
    return gan_dir, bank


def augment(
    datamodule: Any,
    *,
    cache_dir: str | Path = ".ganaug_cache",
    steps: int = STEPS,
    batch_size: int = BATCH_SIZE,
    gan_seed: int = 0,
    condition_on: str = "all",
    module_kwargs: Mapping[str, Any] | None = None,
    minority: Sequence[int | str] | None = None,
    threshold: float = 0.5,
    fill_fraction: float = 1.0,
    synthetic_share: float = SYNTHETIC_SHARE,
    balanced: bool = False,
    transform: Any = None,
    seed: int = 0,
    sample_seed: int = 0,
    trainer_kwargs: Mapping[str, Any] | None = None,
) -> GANAugDataModule:
    """`datamodule` (lightning or pytorch_lightning) with generated samples of its minority classes mixed
    into its training set; its validation and test loaders are untouched.

    The minority classes are `minority` (ids or names), else every class below `threshold` times the
    largest; each is filled to `fill_fraction` times the largest class's count. The GAN (`steps` updates,
    `module_kwargs` for ConditionalGAN, `trainer_kwargs` for its Trainer) and the bank are cached under
    `cache_dir`, keyed by the training images and the settings, so a second call trains nothing. The
    returned datamodule's `augmentation` says what was done (`Augmentation`); `synthetic_share`,
    `balanced`, `transform` (default: the dataset's own) and `seed` go to GANAugDataModule.
    """
    train = training_images(datamodule)
    counts, names = train.counts(), train.class_names
    minority_ids = select_minority(counts, names, classes=minority, threshold=threshold)
    targets = synthetic_targets(counts, minority_ids, fill_fraction=fill_fraction, class_names=names)
    log.info("ganaug: training counts %s; minority classes %s", dict(zip(names, counts, strict=True)),
             [names[c] for c in minority_ids])  # fmt: skip
    gan_dir, bank = synthesize(
        train, minority_ids, targets, cache_dir=cache_dir, steps=steps, batch_size=batch_size, gan_seed=gan_seed,
        condition_on=condition_on, module_kwargs=module_kwargs, trainer_kwargs=trainer_kwargs, sample_seed=sample_seed,
    )  # fmt: skip
    log.info("ganaug: synthetic samples per class %s; GAN %s; bank %s",
             {names[c]: n for c, n in targets.items()}, gan_dir, bank.directory)  # fmt: skip
    wrapped = GANAugDataModule(datamodule, bank, targets, transform=transform, balanced=balanced, seed=seed,
                               synthetic_share=synthetic_share)  # fmt: skip
    wrapped.augmentation = Augmentation(names, counts, minority_ids, targets, gan_dir, bank.directory)
    return wrapped
