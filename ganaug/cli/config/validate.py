"""Checking a composed config before anything runs, against the constraints the library declares.

Each rule lives once, next to the parameter it constrains (`ganaug.errors.checked`); this module only
says which config key feeds which parameter, checks the values there, and names the key in the error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, OmegaConf

from ganaug.auto.search import AUTO, AutoSettings
from ganaug.classify.classical import classical_transform
from ganaug.classify.losses import ClassifierLoss
from ganaug.classify.model import check_classifier
from ganaug.classify.parts import PART_SETTINGS, PARTS, parse_strategy
from ganaug.classify.summary import optimized_value
from ganaug.classify.training import fit_strategy
from ganaug.data.imbalance import make_imbalanced, select_minority, synthetic_targets
from ganaug.errors import GanaugError, check_arguments
from ganaug.flow.settings import TRAINING_KEYS, section, trainer_kwargs
from ganaug.gan.monitor import TrainingMonitor
from ganaug.gan.training import gan_training_set, snapshot_steps, train_gan
from ganaug.lightning import build_trainer
from ganaug.quality.cas import classification_accuracy_score
from ganaug.quality.features import train_feature_extractor
from ganaug.quality.gate import generate_gated
from ganaug.quality.report import quality_report
from ganaug.synth.bank import SyntheticBank
from ganaug.synth.mixing import mixing_weights

# The Trainer arguments that choose where and how a fit runs, named in the error when Lightning refuses them.
_DEVICE_KEYS = ("accelerator", "strategy", "devices", "num_nodes", "precision")


def check_keys(target: Callable, cfg: DictConfig, keys: Mapping[str, str]) -> None:
    """Check the config values at `keys` (parameter name -> config key) against `target`'s constraints."""
    values = {param: OmegaConf.select(cfg, key) for param, key in keys.items()}
    values = {p: OmegaConf.to_container(v) if OmegaConf.is_config(v) else v for p, v in values.items()}
    try:
        check_arguments(target, values)
    except GanaugError as exc:
        raise exc.renamed(keys) from None


def keys_in(prefix: str, names: Iterable[str]) -> dict[str, str]:
    """{name: prefix.name} for parameters whose config keys sit in one section."""
    return {name: f"{prefix}.{name}" for name in names}


def _check_target(cfg: DictConfig, key: str, skip: Iterable[str] = ()) -> None:
    """A `_target_` section's values against the constraints of the function or class it names."""
    node = OmegaConf.select(cfg, key)
    names = [k for k in node if k != "_target_" and k not in set(skip)]
    check_keys(get_object(node._target_), cfg, keys_in(key, names))


def _check_strategies(cfg: DictConfig) -> None:
    strategies = list(cfg.augment.strategies)
    if not strategies:
        raise GanaugError("augment.strategies is empty; name at least one strategy (or use augment=all)")
    for strategy in strategies:
        if strategy == AUTO:
            continue
        try:
            parse_strategy(strategy)
        except GanaugError as exc:
            raise GanaugError(f"augment.strategies: {exc}") from None
    if AUTO in strategies:
        try:
            AutoSettings.from_mapping(section(cfg, "augment.auto"))
        except GanaugError as exc:
            raise exc.renamed(keys_in("augment.auto", cfg.augment.auto)) from None


def _importable(key: str, path: str) -> Any:
    try:
        return get_object(path)
    except Exception:
        raise GanaugError(
            f"{key}={path}: cannot import it; give its full import path (package.module.Name) on the Python path"
        ) from None


def _check_data(cfg: DictConfig) -> None:
    _check_target(cfg, "data")
    node = cfg.data.get("datamodule")
    if node is None:
        return
    target = _importable("data.datamodule._target_", node._target_)
    if not (isinstance(target, type) and any(c.__name__ == "LightningDataModule" for c in target.__mro__)):
        raise GanaugError(
            f"data.datamodule._target_={node._target_}: not a LightningDataModule class; name your datamodule's class"
        )


def _check_classifier(cfg: DictConfig) -> None:
    node = cfg.classifier
    check_keys(fit_strategy, cfg, {**keys_in("classifier", TRAINING_KEYS), "seed": "seed"})
    if "kwargs" not in node:
        _check_target(cfg, "classifier", skip=TRAINING_KEYS)
        return
    target = _importable("classifier._target_", node._target_)
    try:
        check_classifier(target, node.kwargs)
    except GanaugError as exc:
        raise GanaugError(f"classifier._target_={node._target_}: {exc}") from None
    check_keys(target, cfg, keys_in("classifier.kwargs", node.kwargs))


def _check_trainer(cfg: DictConfig) -> None:
    """Build a Trainer, a logger and the callbacks from the config as the fits will, so that a value Lightning
    refuses (an accelerator this machine lacks, an unknown strategy or precision) stops the run before it starts."""
    settings = trainer_kwargs(cfg)
    try:
        build_trainer(settings)
    except Exception as exc:
        keys = ", ".join(f"trainer.{k}={v}" for k, v in settings.items() if k in _DEVICE_KEYS)
        raise GanaugError(
            f"{keys}: {str(exc).splitlines()[0]}; set them to values Lightning supports on this machine"
        ) from None
    for key in ("logger", *(f"callbacks.{name}" for name in cfg.callbacks or {})):
        node = OmegaConf.select(cfg, key)
        if not node:
            continue
        _importable(f"{key}._target_", node._target_)
        try:
            made = instantiate(node, _convert_="all")
            made(name="check") if key == "logger" else made()
        except Exception as exc:
            cause = exc.__cause__ or exc
            raise GanaugError(f"{key} ({node._target_}): {str(cause).splitlines()[0]}") from None


def _check_auto_workers(cfg: DictConfig) -> None:
    """auto's worker processes train on one device each: they cannot join a distributed Trainer."""
    trainer = cfg.trainer
    devices = trainer.devices
    many = (isinstance(devices, int) and devices > 1) or (OmegaConf.is_list(devices) and len(devices) > 1)
    distributed = many or trainer.num_nodes > 1 or any(k in str(trainer.strategy) for k in ("ddp", "fsdp", "deepspeed"))
    if cfg.augment.auto.workers > 1 and distributed:
        raise GanaugError(
            f"augment.auto.workers={cfg.augment.auto.workers} with a distributed trainer (trainer.strategy="
            f"{trainer.strategy}, trainer.devices={devices}): auto's workers train on one device each; set "
            "augment.auto.workers=1, or train on one device"
        )


def _check_objective(cfg: DictConfig) -> None:
    check_keys(optimized_value, cfg, {"metric": "optimized_metric"})
    strategy, strategies = cfg.optimized_strategy, list(cfg.augment.strategies)
    if strategy is not None and strategy not in strategies:
        raise GanaugError(
            f"optimized_strategy={strategy} is not run; name one of augment.strategies ({', '.join(strategies)})"
        )


def validate(cfg: DictConfig) -> None:
    """Raise GanaugError naming the first config value that cannot work, and what to use instead."""
    _check_strategies(cfg)
    _check_objective(cfg)
    _check_data(cfg)
    check_keys(make_imbalanced, cfg, keys_in("imbalance", ("ratio", "profile", "seed", "step_fraction")))
    check_keys(select_minority, cfg, keys_in("imbalance.minority", ("threshold",)))
    check_keys(synthetic_targets, cfg, keys_in("imbalance.target", ("mode", "fill_fraction", "ratio")))
    check_keys(gan_training_set, cfg, keys_in("gan", ("condition_on",)))
    check_keys(snapshot_steps, cfg, {"fractions": "gan.snapshots"})
    gan_keys = ("steps", "batch_size", "seed", "class_balance", "sample_every_n_steps", "checkpoint_every_n_steps",
                "resident")
    check_keys(train_gan, cfg, keys_in("gan", gan_keys))
    _check_target(cfg, "gan.module", skip=("monitor",))
    check_keys(TrainingMonitor, cfg, keys_in("gan.module.monitor", cfg.gan.module.monitor))
    check_keys(generate_gated, cfg, keys_in("gan.gate", ("min_confidence", "quantile", "max_rounds")))
    check_keys(SyntheticBank.generate, cfg, {"seed": "gan.sample_seed"})
    check_keys(quality_report, cfg, keys_in("quality", ("k", "max_per_class")))
    check_keys(classification_accuracy_score, cfg, {"steps": "quality.cas_steps"})
    check_keys(train_feature_extractor, cfg, keys_in("quality.extractor", ("epochs", "width", "seed")))
    _check_classifier(cfg)
    _check_trainer(cfg)
    _check_auto_workers(cfg)
    check_keys(ClassifierLoss, cfg, {"synthetic_weight": "augment.synthetic_weight"})
    check_keys(mixing_weights, cfg, {"synthetic_share": "augment.synthetic_share"})
    check_keys(classical_transform, cfg, keys_in("augment.classical", ("max_shift", "max_rotation")))
    for name in PART_SETTINGS:
        check_keys(PARTS[name].configurable(), cfg, keys_in(f"augment.{name}", cfg.augment[name]))
