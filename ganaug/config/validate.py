"""Checks on config values that a schema's types cannot express, each failing with one clear line."""

from __future__ import annotations

from collections.abc import Iterable

from omegaconf import DictConfig, OmegaConf

from ganaug.auto.search import AutoSettings
from ganaug.classify.strategies import AUTO, STRATEGIES
from ganaug.data.imbalance import PROFILES, TARGET_MODES
from ganaug.errors import GanaugError
from ganaug.gan.training import CLASS_BALANCE, CONDITION_ON


def _one_of(key: str, value: object, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise GanaugError(f"{key}={value!r} is not known; use one of: {', '.join(allowed)}")


def _positive(key: str, value: float) -> None:
    if not value > 0:
        raise GanaugError(f"{key}={value} must be greater than 0")


def _fraction(key: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise GanaugError(f"{key}={value} must lie strictly between 0 and 1")


def validate(cfg: DictConfig) -> None:
    """Raise GanaugError naming the first config value that cannot work, and what to use instead."""
    known = (*STRATEGIES, AUTO)
    for strategy in cfg.augment.strategies:
        _one_of("augment.strategies", strategy, known)
    if not cfg.augment.strategies:
        raise GanaugError(f"augment.strategies is empty; name at least one of: {', '.join(known)}")
    if AUTO in cfg.augment.strategies:
        try:
            AutoSettings.from_mapping(OmegaConf.to_container(cfg.augment.auto, resolve=True))
        except GanaugError as exc:
            raise GanaugError(f"augment.auto: {exc}") from None
    for key in ("val_fraction", "test_fraction"):
        if key in cfg.data:
            _fraction(f"data.{key}", cfg.data[key])
    imb = cfg.imbalance
    _one_of("imbalance.profile", imb.profile, (*PROFILES, "none"))
    if imb.ratio < 1:
        raise GanaugError(f"imbalance.ratio={imb.ratio} must be at least 1 (largest class / smallest class)")
    _fraction("imbalance.step_fraction", imb.step_fraction)
    if not 0.0 < imb.minority.threshold <= 1.0:
        raise GanaugError(f"imbalance.minority.threshold={imb.minority.threshold} must lie in (0, 1]")
    _one_of("imbalance.target.mode", imb.target.mode, TARGET_MODES)
    _positive("imbalance.target.fill_fraction", imb.target.fill_fraction)
    _positive("imbalance.target.ratio", imb.target.ratio)
    gan = cfg.gan
    _one_of("gan.condition_on", gan.condition_on, CONDITION_ON)
    _one_of("gan.class_balance", gan.class_balance, CLASS_BALANCE)
    for key in ("steps", "batch_size", "sample_every_n_steps"):
        _positive(f"gan.{key}", gan[key])
    if not 0.0 <= gan.gate.min_confidence <= 1.0:
        raise GanaugError(f"gan.gate.min_confidence={gan.gate.min_confidence} must lie in [0, 1]")
    _fraction("gan.gate.quantile", gan.gate.quantile)
    _positive("gan.gate.max_rounds", gan.gate.max_rounds)
    for key in ("k", "cas_steps", "max_per_class"):
        _positive(f"quality.{key}", cfg.quality[key])
    for key in ("epochs", "batch_size", "width", "lr"):
        _positive(f"classifier.{key}", cfg.classifier[key])
    if cfg.augment.synthetic_weight < 0:
        raise GanaugError(f"augment.synthetic_weight={cfg.augment.synthetic_weight} must be 0 or more")
    if not 0.0 < cfg.augment.synthetic_share <= 1.0:
        raise GanaugError(
            f"augment.synthetic_share={cfg.augment.synthetic_share} must lie in (0, 1]: the largest share of a "
            "class's draws taken by synthetic samples (1 = no cap)"
        )
