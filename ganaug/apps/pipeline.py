"""The flow's stages (prepare, train_gan, generate, evaluate), each reading the previous one's files.

Every stage's output lands under `cfg.cache_dir`, keyed by the config sections it depends on, so a
sweep over later stages (strategies, classifier seeds, amounts of synthetic data) reuses one GAN.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ganaug.apps.cache import cached_stage
from ganaug.classify.classical import classical_transform
from ganaug.classify.strategies import train_and_evaluate
from ganaug.data.dataset import DatasetSplits
from ganaug.data.imbalance import make_imbalanced, select_minority, synthetic_targets
from ganaug.fileio import atomic_path
from ganaug.gan.export import GeneratorArtifact, export_generator
from ganaug.gan.training import gan_training_set, train_gan
from ganaug.synth.bank import SyntheticBank

log = logging.getLogger("ganaug")

GAN_STRATEGIES = ("gan", "gan+classical")


@dataclass
class Prepared:
    """The prepared splits, the minority classes and how many synthetic samples each gets."""

    splits: DatasetSplits
    minority: list[int]
    targets: dict[int, int]
    directory: Path


def _section(cfg: DictConfig, key: str) -> Any:
    return OmegaConf.to_container(cfg[key], resolve=True)


def _data_payload(cfg: DictConfig) -> dict:
    imbalance = _section(cfg, "imbalance")
    return {
        "data": _section(cfg, "data"),
        "imbalance": {k: v for k, v in imbalance.items() if k not in ("minority", "target")},
    }


def prepare(cfg: DictConfig) -> Prepared:
    """Load the source, make its training split imbalanced as configured, choose the minority classes."""

    def build(path: Path) -> None:
        splits: DatasetSplits = instantiate(cfg.data, _convert_="all")
        imb = cfg.imbalance
        train = splits.train
        if imb.profile != "none":
            train = make_imbalanced(train, imb.ratio, imb.profile, seed=imb.seed, step_fraction=imb.step_fraction)
        DatasetSplits(train, splits.val, splits.test).save(path)

    directory = cached_stage(cfg.cache_dir, "data", _data_payload(cfg), build)
    splits = DatasetSplits.load(directory)
    counts = splits.train.counts()
    names = splits.class_names
    minority_cfg = cfg.imbalance.minority
    classes = list(minority_cfg.classes) if minority_cfg.classes is not None else None
    minority = select_minority(counts, names, classes=classes, threshold=minority_cfg.threshold)
    target = cfg.imbalance.target
    targets = synthetic_targets(
        counts,
        minority,
        mode=target.mode,
        fill_fraction=target.fill_fraction,
        ratio=target.ratio,
        explicit=dict(target.counts) or None,
        class_names=names,
    )
    log.info("train counts %s; minority classes %s; synthetic per class %s", counts, minority, targets)
    return Prepared(splits, minority, targets, directory)


def _trainer_kwargs(cfg: DictConfig) -> dict:
    return dict(_section(cfg, "trainer"))


def _gan_payload(cfg: DictConfig, prepared: Prepared) -> dict:
    gan = {k: v for k, v in _section(cfg, "gan").items() if k != "sample_seed"}
    return {**_data_payload(cfg), "minority": prepared.minority, "gan": gan, "precision": cfg.trainer.precision}


def gan_dir(cfg: DictConfig, prepared: Prepared) -> Path:
    """The folder of this config's trained GAN (`generator/`, `samples/`), training it when it is missing."""
    gan_cfg = cfg.gan
    payload = _gan_payload(cfg, prepared)

    def build(path: Path) -> None:
        train = prepared.splits.train
        dataset, trained = gan_training_set(train, prepared.minority, condition_on=gan_cfg.condition_on)
        module_kwargs = _section(cfg, "gan")["module"]
        module_kwargs["betas"] = tuple(module_kwargs["betas"])
        with atomic_path(path) as tmp:
            gan = train_gan(
                dataset,
                trained,
                steps=gan_cfg.steps,
                batch_size=gan_cfg.batch_size,
                seed=gan_cfg.seed,
                class_balance=gan_cfg.class_balance,
                module_kwargs=module_kwargs,
                trainer_kwargs=_trainer_kwargs(cfg),
                sample_dir=tmp / "samples",
                sample_every_n_steps=gan_cfg.sample_every_n_steps,
            )
            export_generator(gan, tmp / "generator", prepared.splits.class_names, config=payload)

    return cached_stage(cfg.cache_dir, "gan", payload, build)


def load_generator(directory: Path, prepared: Prepared) -> GeneratorArtifact:
    """The generator exported in a GAN folder, checked against the prepared data's shape and classes."""
    train = prepared.splits.train
    return GeneratorArtifact.load(
        directory / "generator", expect_image_shape=train.image_shape, expect_class_names=train.class_names
    )


def generate(cfg: DictConfig, prepared: Prepared, artifact: GeneratorArtifact) -> SyntheticBank:
    """Sample the configured number of images per minority class into a bank on disk."""
    payload = {
        **_gan_payload(cfg, prepared),
        "targets": {str(k): v for k, v in prepared.targets.items()},
        "sample_seed": cfg.gan.sample_seed,
    }

    def build(path: Path) -> None:
        SyntheticBank.generate(
            artifact,
            prepared.targets,
            path,
            seed=cfg.gan.sample_seed,
            progress=cfg.trainer.enable_progress_bar,
            source=payload,
        )

    return SyntheticBank.load(cached_stage(cfg.cache_dir, "bank", payload, build))


def evaluate(cfg: DictConfig, prepared: Prepared, bank: SyntheticBank | None) -> list[dict]:
    """Train the classifier under every configured strategy and measure it on the test split."""
    train = prepared.splits.train
    classical_cfg = cfg.augment.classical
    classical = classical_transform(
        train.image_shape, max_shift=classical_cfg.max_shift, max_rotation=classical_cfg.max_rotation
    )
    clf = cfg.classifier
    rows = []
    for strategy in cfg.augment.strategies:
        log.info("strategy %s, seed %d: training the classifier", strategy, cfg.seed)
        row = train_and_evaluate(
            strategy,
            prepared.splits,
            bank=bank if strategy in GAN_STRATEGIES else None,
            synthetic_counts=prepared.targets if strategy in GAN_STRATEGIES else None,
            classical=classical,
            seed=cfg.seed,
            epochs=clf.epochs,
            batch_size=clf.batch_size,
            model_kwargs={
                "width": clf.width,
                "lr": clf.lr,
                "weight_decay": clf.weight_decay,
                "synthetic_weight": cfg.augment.synthetic_weight,
            },
            trainer_kwargs=_trainer_kwargs(cfg),
        )
        rows.append(row)
    return rows


def needs_gan(cfg: DictConfig) -> bool:
    """Whether any configured strategy uses generated samples."""
    return any(s in GAN_STRATEGIES for s in cfg.augment.strategies)


def synthetic_bank(cfg: DictConfig, prepared: Prepared) -> tuple[SyntheticBank, Path]:
    """The bank for this config and its GAN's folder, training and sampling what is not cached yet."""
    directory = gan_dir(cfg, prepared)
    return generate(cfg, prepared, load_generator(directory, prepared)), directory


def run_flow(cfg: DictConfig) -> tuple[list[dict], dict]:
    """The whole flow: prepare, train the GAN and sample it when a strategy needs it, evaluate.

    Returns the metrics rows and where the stages' outputs are (data_dir, gan_dir, bank_dir).
    """
    prepared = prepare(cfg)
    artifacts = {"data_dir": str(prepared.directory)}
    bank = None
    if needs_gan(cfg):
        bank, directory = synthetic_bank(cfg, prepared)
        artifacts.update(gan_dir=str(directory), bank_dir=str(bank.directory))
    return evaluate(cfg, prepared, bank), artifacts
