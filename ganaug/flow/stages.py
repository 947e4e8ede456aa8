"""The flow's cached stages: the prepared data, the GAN, the feature extractor, the bank, the quality report.

Each declares what its output depends on (see `stage.Stage`); the flow builds one when its key is not in
the cache yet and reads it back otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytorch_lightning as pl
from hydra.utils import instantiate

from ganaug.data.dataset import DatasetSplits
from ganaug.data.imbalance import PROFILES, check_training_counts, make_imbalanced, select_minority, synthetic_targets
from ganaug.fileio import atomic_path, read_json, write_json
from ganaug.flow.cache import source_fingerprint
from ganaug.flow.settings import config_keys, gan_module, logged_trainer_kwargs, section, single_device_kwargs
from ganaug.flow.stage import Stage
from ganaug.gan.callbacks import SnapshotCallback, snapshot_dir
from ganaug.gan.export import GeneratorArtifact, export_generator
from ganaug.gan.module import ConditionalGAN
from ganaug.gan.resume import CHECKPOINTS
from ganaug.gan.training import gan_training_set, snapshot_steps, train_gan, trained_classes
from ganaug.lightning import is_rank_zero
from ganaug.quality.features import FeatureExtractor, train_feature_extractor
from ganaug.quality.gate import generate_gated
from ganaug.quality.report import quality_report
from ganaug.synth.bank import SyntheticBank

if TYPE_CHECKING:
    from ganaug.flow.context import Flow

log = logging.getLogger("ganaug")

SNAPSHOTS = "snapshots"


@dataclass
class Prepared:
    """The prepared splits, the minority classes, how many synthetic samples each gets, and their folder."""

    splits: DatasetSplits
    minority: list[int]
    targets: dict[int, int]
    directory: Path


class DataStage(Stage[Prepared]):
    """The source's splits, the training split made imbalanced (the minority and targets follow from them)."""

    name = "data"

    def declared_sections(self) -> tuple[str, ...]:
        """The source, and the imbalance profile with the parameters that profile uses."""
        profile = self.cfg.imbalance.profile
        return ("data", "imbalance.profile", *(f"imbalance.{p}" for p in PROFILES.get(profile, ())))

    def describe(self) -> dict[str, Any]:
        """The declared sections, the source's path made absolute, and the fingerprint of its files."""
        payload = super().describe()
        data = payload["config"]["data"]
        for key in ("root", "path"):
            if data.get(key):
                where = Path(data[key]).expanduser().resolve()
                data[key] = str(where)
                payload[f"{key}_files"] = source_fingerprint(where)
        return payload

    def build(self, folder: Path) -> None:
        with config_keys(self.cfg, "data"):
            splits: DatasetSplits = instantiate(self.cfg.data, _convert_="all")
        imb = self.cfg.imbalance
        with config_keys(self.cfg, "imbalance"):
            train = make_imbalanced(
                splits.train, imb.ratio, imb.profile, seed=imb.seed, step_fraction=imb.step_fraction
            )
        DatasetSplits(train, splits.val, splits.test).save(folder)

    def verify(self, folder: Path) -> None:
        """The prepared splits read back (the minority and targets are the config's, not the entry's)."""
        DatasetSplits.load(folder)

    def load(self, folder: Path) -> Prepared:
        splits = DatasetSplits.load(folder)
        counts, names = splits.train.counts(), splits.class_names
        check_training_counts(counts, names)
        minority_cfg = self.cfg.imbalance.minority
        classes = list(minority_cfg.classes) if minority_cfg.classes is not None else None
        with config_keys(self.cfg, "imbalance.minority"):
            minority = select_minority(counts, names, classes=classes, threshold=minority_cfg.threshold)
        target = self.cfg.imbalance.target
        with config_keys(self.cfg, "imbalance.target"):
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
        return Prepared(splits, minority, targets, folder)


class GanStage(Stage[Path]):
    """The trained GAN's folder: the exported generator (`generator/`), its snapshots at `gan.snapshots` of
    the run (`snapshots/step<S>/`), sample grids and training curves.

    The monitor's settings (`gan.module.monitor`) watch a run and may stop it, but never shape a generator
    that finished, so they are left out of the key. Resumable: a killed run saved a checkpoint every
    `gan.checkpoint_every_n_steps` in its unfinished folder, and the next run of the same GAN resumes it.
    """

    name = "gan"
    resumable = True
    distributed = True
    sections = (
        "gan.condition_on",
        "gan.steps",
        "gan.batch_size",
        "gan.seed",
        "gan.class_balance",
        "gan.snapshots",
        "gan.progressive",
        "gan.progressive_fade",
        "gan.module",
        "-gan.module.monitor",
        "trainer.precision",
    )

    @property
    def snapshot_steps(self) -> list[int]:
        """The generator step counts of the run's snapshots, the last one the whole run's length."""
        return snapshot_steps(self.cfg.gan.steps, self.cfg.gan.snapshots)

    def inputs(self) -> dict[str, Any]:
        """The prepared data's key and the classes the GAN is conditioned on."""
        prepared = self.flow.prepared
        counts = prepared.splits.train.counts()
        classes = trained_classes(counts, prepared.minority, self.cfg.gan.condition_on)
        return {"data": self.flow.stage(DataStage).key(), "trained_classes": classes}

    def train(self, directory: Path, callbacks: Sequence[pl.Callback] = ()) -> ConditionalGAN:
        """Train the GAN `gan` describes on the prepared training split, its sample grids and curves under
        `directory` (`samples/`, `logs/`); `callbacks` join the Trainer's."""
        gan = self.cfg.gan
        prepared = self.flow.prepared
        with config_keys(self.cfg, "gan", "gan.module"):
            dataset, trained = gan_training_set(prepared.splits.train, prepared.minority, condition_on=gan.condition_on)
            return train_gan(
                dataset,
                trained,
                steps=gan.steps,
                batch_size=gan.batch_size,
                seed=gan.seed,
                class_balance=gan.class_balance,
                module=gan_module(self.cfg),
                trainer_kwargs={
                    **logged_trainer_kwargs(self.cfg, classifier=False),
                    "callbacks": [*self._snapshots(directory), *callbacks],
                },
                sample_dir=directory / "samples",
                log_dir=directory / "logs",
                sample_every_n_steps=gan.sample_every_n_steps,
                checkpoint_dir=directory / CHECKPOINTS,
                checkpoint_every_n_steps=gan.checkpoint_every_n_steps,
                resident=gan.resident,
                progressive=gan.progressive,
                progressive_fade=gan.progressive_fade,
            )

    def _snapshots(self, directory: Path) -> list[pl.Callback]:
        early = [s for s in self.snapshot_steps if s < self.cfg.gan.steps]
        names = self.flow.prepared.splits.class_names
        return [SnapshotCallback(directory / SNAPSHOTS, early, names)] if early else []

    def generator_dir(self, step: int | None = None) -> Path:
        """The exported generator of snapshot `step` (None or the run's length: the final generator)."""
        folder = self.flow.output(GanStage)
        if step is None or step == self.cfg.gan.steps:
            return folder / "generator"
        return snapshot_dir(folder / SNAPSHOTS, step)

    def build(self, folder: Path) -> None:
        folder.mkdir(exist_ok=True)
        trained = self.train(folder)
        if is_rank_zero():
            names = self.flow.prepared.splits.class_names
            export_generator(trained, folder / "generator", names, config=self.payload())

    def verify(self, folder: Path) -> None:
        """The exported generator (and each snapshot) loads and fits the prepared data."""
        train = self.flow.prepared.splits.train
        for generator in [folder / "generator", *sorted((folder / SNAPSHOTS).glob("step*"))]:
            GeneratorArtifact.load(generator, expect=train)

    def load(self, folder: Path) -> Path:
        return folder


class ExtractorStage(Stage[FeatureExtractor]):
    """The domain classifier (trained on the real training split) that the gate and quality metrics use."""

    name = "extractor"
    sections = ("quality.extractor",)

    def inputs(self) -> dict[str, Any]:
        """The prepared data's key."""
        return {"data": self.flow.stage(DataStage).key()}

    def build(self, folder: Path) -> None:
        settings = section(self.cfg, "quality.extractor")
        splits = self.flow.prepared.splits
        train_feature_extractor(
            splits.train,
            val=splits.val,
            seed=settings["seed"],
            epochs=settings["epochs"],
            width=settings["width"],
            trainer_kwargs=single_device_kwargs(self.cfg),
        ).save(folder)

    def load(self, folder: Path) -> FeatureExtractor:
        return FeatureExtractor.load(folder, expect=self.flow.prepared.splits.train).to(self.flow.device)


class BankStage(Stage[SyntheticBank]):
    """The configured number of images per minority class sampled into a bank on disk, from the final
    generator or (`snapshot`) one of the run's snapshots.

    With the quality gate on, samples the domain classifier does not recognise as their class, and
    near-copies of training images, are dropped and replaced; the counts go to the bank's `gate.json`.
    """

    name = "bank"
    sections = ("gan.sample_seed", "gan.gate")

    def __init__(self, flow: Flow, snapshot: int | None = None) -> None:
        super().__init__(flow)
        self.snapshot = None if snapshot == self.cfg.gan.steps else snapshot

    def inputs(self) -> dict[str, Any]:
        """The GAN's key and snapshot, the targets, and (gate on) the extractor's key."""
        gate = self.cfg.gan.gate.enabled
        return {
            "gan": self.flow.stage(GanStage).key(),
            "snapshot": self.snapshot,
            "targets": {str(k): v for k, v in self.flow.prepared.targets.items()},
            "extractor": self.flow.stage(ExtractorStage).key() if gate else None,
        }

    def prerequisites(self) -> list[tuple[type[Stage], dict[str, Any]]]:
        """The GAN, then (gate on) the extractor."""
        return [(GanStage, {}), *([(ExtractorStage, {})] if self.cfg.gan.gate.enabled else [])]

    def build(self, folder: Path) -> None:
        prepared = self.flow.prepared
        directory = self.flow.stage(GanStage).generator_dir(self.snapshot)
        artifact = GeneratorArtifact.load(directory, expect=prepared.splits.train, device=self.flow.device)
        gate = self.cfg.gan.gate
        seed = self.cfg.gan.sample_seed
        if not gate.enabled:
            SyntheticBank.generate(
                artifact, prepared.targets, folder, seed=seed, progress=self.cfg.trainer.enable_progress_bar,
                source=self.payload(),
            )  # fmt: skip
            return
        _, report = generate_gated(
            artifact,
            prepared.targets,
            folder,
            extractor=self.flow.extractor,
            train=prepared.splits.train,
            heldout=prepared.splits.val,
            min_confidence=gate.min_confidence,
            drop_near_copies=gate.drop_near_copies,
            quantile=gate.quantile,
            max_rounds=gate.max_rounds,
            seed=seed,
            source=self.payload(),
            progress=self.cfg.trainer.enable_progress_bar,
        )
        log.info("quality gate: %s", report["totals"])
        write_json(folder / "gate.json", report)

    def load(self, folder: Path) -> SyntheticBank:
        return SyntheticBank.load(folder)


class QualityStage(Stage[dict]):
    """FID/KID, precision/recall/density/coverage, CAS and memorisation of the bank against real test images."""

    name = "quality"
    sections = ("quality",)

    def inputs(self) -> dict[str, Any]:
        """The bank's key."""
        return {"bank": self.flow.stage(BankStage).key()}

    def prerequisites(self) -> list[tuple[type[Stage], dict[str, Any]]]:
        """The bank, then the extractor."""
        return [(BankStage, {}), (ExtractorStage, {})]

    def build(self, folder: Path) -> None:
        settings = section(self.cfg, "quality")
        prepared = self.flow.prepared
        report = quality_report(
            self.flow.bank,
            self.flow.extractor,
            prepared.splits.train,
            prepared.splits.test,
            k=settings["k"],
            max_per_class=settings["max_per_class"],
            cas=settings["cas"],
            cas_kwargs={"steps": settings["cas_steps"], "trainer_kwargs": single_device_kwargs(self.cfg)},
            progress=self.cfg.trainer.enable_progress_bar,
        )
        with atomic_path(folder) as tmp:
            tmp.mkdir()
            write_json(tmp / "quality.json", report)

    def load(self, folder: Path) -> dict:
        return read_json(folder / "quality.json")
