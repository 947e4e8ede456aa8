"""The flow's stages (prepare, train_gan, generate, evaluate), each reading the previous one's files.

Every stage's output lands under `cfg.cache_dir`, keyed by the config sections it depends on, so a
sweep over later stages (strategies, classifier seeds, amounts of synthetic data) reuses one GAN.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ganaug.apps.cache import cached_stage, source_fingerprint
from ganaug.auto.report import decision_record, decision_table
from ganaug.auto.search import AutoSettings, GatedBanks, auto_search, fit_choice
from ganaug.classify.classical import classical_transform
from ganaug.classify.strategies import AUTO, GAN_STRATEGIES, train_and_evaluate
from ganaug.data.dataset import DatasetSplits
from ganaug.data.imbalance import make_imbalanced, select_minority, synthetic_targets
from ganaug.fileio import atomic_path, read_json, write_json
from ganaug.gan.export import GeneratorArtifact, export_generator
from ganaug.gan.module import ConditionalGAN
from ganaug.gan.training import gan_training_set, train_gan
from ganaug.quality.features import FeatureExtractor, train_feature_extractor
from ganaug.quality.gate import generate_gated, own_class_confidence
from ganaug.quality.report import quality_report
from ganaug.synth.bank import SyntheticBank

log = logging.getLogger("ganaug")


@dataclass
class Prepared:
    """The prepared splits, the minority classes, how many synthetic samples each gets, and what the
    splits depend on (`data_payload`, part of every later stage's cache key; computed once, since it
    walks the source's files)."""

    splits: DatasetSplits
    minority: list[int]
    targets: dict[int, int]
    directory: Path
    data_payload: dict


def _section(cfg: DictConfig, key: str) -> Any:
    return OmegaConf.to_container(cfg[key], resolve=True)


def _data_payload(cfg: DictConfig) -> dict:
    """What the prepared splits depend on: the source (its absolute path and the fingerprint of its
    files, so a replaced or rewritten file is read again) and the settings of the imbalance profile."""
    data = _section(cfg, "data")
    for key in ("root", "path"):
        if data.get(key):
            where = Path(data[key]).expanduser().resolve()
            data[key] = str(where)
            data[f"{key}_files"] = source_fingerprint(where)
    imb = cfg.imbalance
    imbalance: dict = {"profile": imb.profile}
    if imb.profile != "none":
        imbalance.update(ratio=imb.ratio, seed=imb.seed)
    if imb.profile == "step":
        imbalance["step_fraction"] = imb.step_fraction
    return {"data": data, "imbalance": imbalance}


def prepare(cfg: DictConfig) -> Prepared:
    """Load the source, make its training split imbalanced as configured, choose the minority classes."""

    def build(path: Path) -> None:
        splits: DatasetSplits = instantiate(cfg.data, _convert_="all")
        imb = cfg.imbalance
        train = splits.train
        if imb.profile != "none":
            train = make_imbalanced(train, imb.ratio, imb.profile, seed=imb.seed, step_fraction=imb.step_fraction)
        DatasetSplits(train, splits.val, splits.test).save(path)

    payload = _data_payload(cfg)
    directory = cached_stage(cfg.cache_dir, "data", payload, build)
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
    return Prepared(splits, minority, targets, directory, payload)


def trainer_settings(cfg: DictConfig) -> dict:
    """The `trainer` group: arguments of every Lightning Trainer the flow builds."""
    return dict(_section(cfg, "trainer"))


def _gan_payload(cfg: DictConfig, prepared: Prepared) -> dict:
    """What the trained generator depends on (not how it is sampled, monitored or gated)."""
    gan = {k: v for k, v in _section(cfg, "gan").items() if k not in ("sample_seed", "sample_every_n_steps", "gate")}
    gan["module"].pop("monitor")
    payload = {**prepared.data_payload, "gan": gan, "precision": cfg.trainer.precision}
    if cfg.gan.condition_on == "minority":
        payload["minority"] = prepared.minority
    return payload


def train_configured_gan(
    cfg: DictConfig, prepared: Prepared, directory: Path, callbacks: Sequence[pl.Callback] = ()
) -> ConditionalGAN:
    """Train the GAN `cfg.gan` describes on the prepared training split, writing its sample grids and
    training curves under `directory` (`samples/`, `logs/`); `callbacks` join the Trainer's."""
    gan_cfg = cfg.gan
    dataset, trained = gan_training_set(prepared.splits.train, prepared.minority, condition_on=gan_cfg.condition_on)
    module_kwargs = _section(cfg, "gan")["module"]
    module_kwargs["betas"] = tuple(module_kwargs["betas"])
    return train_gan(
        dataset,
        trained,
        steps=gan_cfg.steps,
        batch_size=gan_cfg.batch_size,
        seed=gan_cfg.seed,
        class_balance=gan_cfg.class_balance,
        module_kwargs=module_kwargs,
        trainer_kwargs={**trainer_settings(cfg), "callbacks": list(callbacks)},
        sample_dir=directory / "samples",
        log_dir=directory / "logs",
        sample_every_n_steps=gan_cfg.sample_every_n_steps,
    )


def gan_dir(cfg: DictConfig, prepared: Prepared) -> Path:
    """The folder of this config's trained GAN (`generator/`, `samples/`), training it when it is missing."""
    payload = _gan_payload(cfg, prepared)

    def build(path: Path) -> None:
        with atomic_path(path) as tmp:
            gan = train_configured_gan(cfg, prepared, tmp)
            export_generator(gan, tmp / "generator", prepared.splits.class_names, config=payload)

    return cached_stage(cfg.cache_dir, "gan", payload, build)


def load_generator(directory: Path, prepared: Prepared) -> GeneratorArtifact:
    """The generator exported in a GAN folder, checked against the prepared data's shape and classes."""
    train = prepared.splits.train
    return GeneratorArtifact.load(
        directory / "generator", expect_image_shape=train.image_shape, expect_class_names=train.class_names
    )


def feature_extractor(cfg: DictConfig, prepared: Prepared) -> FeatureExtractor:
    """The domain classifier (trained on the real training split) that the gate and quality metrics use."""
    settings = _section(cfg, "quality")["extractor"]
    payload = {**prepared.data_payload, "extractor": settings}

    def build(path: Path) -> None:
        splits = prepared.splits
        train_feature_extractor(
            splits.train,
            val=splits.val,
            seed=settings["seed"],
            epochs=settings["epochs"],
            width=settings["width"],
            trainer_kwargs=trainer_settings(cfg),
        ).save(path)

    train = prepared.splits.train
    return FeatureExtractor.load(
        cached_stage(cfg.cache_dir, "extractor", payload, build),
        expect_image_shape=train.image_shape,
        expect_class_names=train.class_names,
    )


def generate(cfg: DictConfig, prepared: Prepared, artifact: GeneratorArtifact) -> SyntheticBank:
    """Sample the configured number of images per minority class into a bank on disk.

    With the quality gate on, samples the domain classifier does not recognise as their class, and
    near-copies of training images, are dropped and replaced; the counts go to the bank's `gate.json`.
    """
    gate = cfg.gan.gate
    payload = {
        **_gan_payload(cfg, prepared),
        "targets": {str(k): v for k, v in prepared.targets.items()},
        "sample_seed": cfg.gan.sample_seed,
        "gate": {**_section(cfg, "gan")["gate"], "extractor": _section(cfg, "quality")["extractor"]}
        if gate.enabled
        else None,
    }

    def build(path: Path) -> None:
        if not gate.enabled:
            SyntheticBank.generate(
                artifact,
                prepared.targets,
                path,
                seed=cfg.gan.sample_seed,
                progress=cfg.trainer.enable_progress_bar,
                source=payload,
            )
            return
        _, report = generate_gated(
            artifact,
            prepared.targets,
            path,
            extractor=feature_extractor(cfg, prepared),
            train=prepared.splits.train,
            heldout=prepared.splits.val,
            min_confidence=gate.min_confidence,
            drop_near_copies=gate.drop_near_copies,
            quantile=gate.quantile,
            max_rounds=gate.max_rounds,
            seed=cfg.gan.sample_seed,
            source=payload,
        )
        log.info("quality gate: %s", report["totals"])
        write_json(path / "gate.json", report)

    return SyntheticBank.load(cached_stage(cfg.cache_dir, "bank", payload, build))


def sample_quality(cfg: DictConfig, prepared: Prepared, bank: SyntheticBank) -> dict:
    """FID/KID, precision/recall/density/coverage, CAS and memorisation of the bank against real test images."""
    settings = _section(cfg, "quality")
    payload = {"bank": bank.directory.name, "quality": settings}

    def build(path: Path) -> None:
        report = quality_report(
            bank,
            feature_extractor(cfg, prepared),
            prepared.splits.train,
            prepared.splits.test,
            k=settings["k"],
            max_per_class=settings["max_per_class"],
            cas=settings["cas"],
            cas_kwargs={"steps": settings["cas_steps"], "trainer_kwargs": trainer_settings(cfg)},
        )
        with atomic_path(path) as tmp:
            tmp.mkdir()
            write_json(tmp / "quality.json", report)

    return read_json(cached_stage(cfg.cache_dir, "quality", payload, build) / "quality.json")


@dataclass
class Evaluation:
    """The metrics rows of a run, and the `auto` strategy's decision (record and table) when it ran."""

    rows: list[dict]
    auto_record: dict | None = None
    auto_table: str | None = None


def classifier_settings(cfg: DictConfig, prepared: Prepared) -> dict:
    """train_and_evaluate's settings shared by every strategy (the classical recipe, the classifier, the seed,
    the synthetic share)."""
    classical_cfg = cfg.augment.classical
    classical = classical_transform(
        prepared.splits.train.image_shape, max_shift=classical_cfg.max_shift, max_rotation=classical_cfg.max_rotation
    )
    clf = cfg.classifier
    return {
        "classical": classical,
        "seed": cfg.seed,
        "synthetic_share": cfg.augment.synthetic_share,
        "batch_size": clf.batch_size,
        "model_kwargs": {
            "width": clf.width,
            "lr": clf.lr,
            "weight_decay": clf.weight_decay,
            "synthetic_weight": cfg.augment.synthetic_weight,
        },
        "trainer_kwargs": trainer_settings(cfg),
    }


def run_auto(
    cfg: DictConfig, prepared: Prepared, bank: SyntheticBank, targets: dict[int, int], train_kwargs: dict
) -> tuple[dict, dict, str]:
    """Decide on folds of the training split, train the choice on all of it; (metrics row, record, table)."""
    settings = AutoSettings.from_mapping(_section(cfg, "augment")["auto"], seed=cfg.seed)
    confidences = None
    if settings.min_confidences:
        confidences = own_class_confidence(bank.images, bank.labels, feature_extractor(cfg, prepared))
    banks = GatedBanks(bank, confidences)
    epochs = cfg.classifier.epochs
    result = auto_search(
        prepared.splits.train,
        banks,
        targets,
        settings=settings,
        val=prepared.splits.val,
        epochs=epochs,
        progress=log.info,
        **train_kwargs,
    )
    choice = result.decision.chosen_candidate
    log.info("auto: training the choice '%s' on the whole training split", result.decision.chosen)
    row = fit_choice(choice, prepared.splits, banks, epochs=epochs, **train_kwargs)
    record = decision_record(result, prepared.splits.train.class_names, row["fit_seconds"])
    summary = {k: record[k] for k in ("chosen", "reference", "improved", "decision_seconds")}
    row = {**row, "strategy": AUTO, "auto": {**summary, "settings": choice.to_json()}}
    return row, record, decision_table(result, row["fit_seconds"])


def evaluate(cfg: DictConfig, prepared: Prepared, bank: SyntheticBank | None) -> Evaluation:
    """Train the classifier under every configured strategy and measure it on the test split."""
    train_kwargs = classifier_settings(cfg, prepared)
    # the quality gate may leave a class short of its target: use what the bank holds
    held = bank.counts() if bank is not None else []
    synthetic_counts = {c: min(n, held[c]) for c, n in prepared.targets.items()} if bank is not None else None
    out = Evaluation([])
    for strategy in cfg.augment.strategies:
        log.info("strategy %s, seed %d: training the classifier", strategy, cfg.seed)
        if strategy == AUTO:
            row, out.auto_record, out.auto_table = run_auto(cfg, prepared, bank, synthetic_counts, train_kwargs)
        else:
            row = train_and_evaluate(
                strategy,
                prepared.splits,
                bank=bank if strategy in GAN_STRATEGIES else None,
                synthetic_counts=synthetic_counts if strategy in GAN_STRATEGIES else None,
                epochs=cfg.classifier.epochs,
                **train_kwargs,
            )
        out.rows.append(row)
    return out


def needs_gan(cfg: DictConfig) -> bool:
    """Whether any configured strategy uses generated samples (auto may)."""
    return any(s in (*GAN_STRATEGIES, AUTO) for s in cfg.augment.strategies)


def synthetic_bank(cfg: DictConfig, prepared: Prepared) -> tuple[SyntheticBank, Path]:
    """The bank for this config and its GAN's folder, training and sampling what is not cached yet."""
    directory = gan_dir(cfg, prepared)
    return generate(cfg, prepared, load_generator(directory, prepared)), directory


def run_flow(cfg: DictConfig) -> tuple[Evaluation, dict, dict | None]:
    """The whole flow: prepare, train the GAN and sample it when a strategy needs it, evaluate.

    Returns the evaluation (metrics rows, auto decision), where the stages' outputs are (data_dir,
    gan_dir, bank_dir), and the bank's sample-quality report when `quality.enabled`.
    """
    prepared = prepare(cfg)
    artifacts = {"data_dir": str(prepared.directory)}
    bank = None
    quality = None
    if needs_gan(cfg):
        bank, directory = synthetic_bank(cfg, prepared)
        artifacts.update(gan_dir=str(directory), bank_dir=str(bank.directory))
        if cfg.quality.enabled:
            quality = sample_quality(cfg, prepared, bank)
    return evaluate(cfg, prepared, bank), artifacts, quality
