"""Config composition: every option composes, schemas reject wrong keys and values, validation names the fix."""

from __future__ import annotations

import importlib.util

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import OmegaConf
from omegaconf.errors import MissingMandatoryValue

from ganaug.cli.config import config_dir
from ganaug.cli.config.validate import validate
from ganaug.errors import GanaugError

GROUP_OPTIONS = {
    "data": ["digits", "mnist", "npz", "image_folder", "torchvision", "datamodule"],
    "imbalance": ["long_tail", "step", "none"],
    "gan": ["dcgan", "resnet"],
    "augment": sorted(p.stem for p in (config_dir() / "augment").glob("*.yaml")),
    "classifier": ["small_cnn", "module"],
    "trainer": ["default", "cpu", "gpu"],
    "logger": ["csv", "tensorboard", "wandb", "none"],
    "callbacks": ["none", "early_stopping", "lr_monitor"],
    "experiment": ["quick", "mnist_lt"],
}
# Options that need what a machine may lack: validation must refuse them there, naming the fix.
NEEDS = {"gpu": ("torch.cuda", "trainer.accelerator=gpu"), "tensorboard": ("tensorboard", "logger"),
         "wandb": ("wandb", "logger")}  # fmt: skip


def _available(module: str) -> bool:
    if module == "torch.cuda":
        import torch

        return torch.cuda.is_available()
    return importlib.util.find_spec(module) is not None


def _compose(overrides: list[str]):
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        return compose("config", overrides=overrides)


def test_default_is_digits_long_tail_every_strategy() -> None:
    cfg = _compose([])
    assert cfg.data._target_.endswith("load_digits")
    assert cfg.imbalance.profile == "exponential"
    assert list(cfg.augment.strategies)[:4] == ["none", "oversample", "reweight", "classical"]
    assert "gan+la+classical" in cfg.augment.strategies and cfg.augment.strategies[-1] == "auto"
    validate(cfg)


@pytest.mark.parametrize(("group", "option"), [(g, o) for g, opts in GROUP_OPTIONS.items() for o in opts])
def test_every_option_composes_and_validates(group: str, option: str) -> None:
    overrides = [f"{group}={option}"]
    if option in ("mnist", "image_folder", "torchvision", "mnist_lt"):
        overrides.append("data.root=/somewhere")
    if option == "npz":
        overrides.append("data.path=/somewhere.npz")
    if option == "datamodule":
        overrides.append("data.datamodule._target_=helpers.user_data.ToyDataModule")
    if option == "module":
        overrides.append("classifier._target_=ganaug.classify.model.ImageClassifier")
    cfg = _compose(overrides)
    if option in NEEDS and not _available(NEEDS[option][0]):
        with pytest.raises(GanaugError, match=NEEDS[option][1]):
            validate(cfg)
        return
    validate(cfg)
    OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)


def test_strategy_with_plus_sign_parses() -> None:
    assert list(_compose(["augment=gan+classical"]).augment.strategies) == ["gan+classical"]


def test_required_path_is_reported_missing() -> None:
    cfg = _compose(["data=mnist"])
    with pytest.raises(MissingMandatoryValue):
        OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)


@pytest.mark.parametrize("override", ["data.foo=1", "gan.module.generatr=dcgan", "classifier.epoch=3"])
def test_unknown_key_is_rejected(override: str) -> None:
    with pytest.raises(ConfigCompositionException):
        _compose([override])


def test_wrong_type_is_rejected() -> None:
    with pytest.raises(ConfigCompositionException):
        _compose(["gan.steps=many"])


def test_unknown_option_is_rejected() -> None:
    with pytest.raises(MissingConfigException):
        _compose(["augment=smote"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("augment.strategies=[none,smote]", "augment.strategies: unknown strategy 'smote'"),
        ("augment.strategies=[]", "augment.strategies is empty"),
        ("imbalance.ratio=0.5", "imbalance.ratio=0.5: must be >= 1"),
        ("imbalance.profile=zipf", "imbalance.profile='zipf': unknown profile"),
        ("imbalance.target.mode=double", "imbalance.target.mode='double': unknown mode"),
        ("imbalance.minority.threshold=1.5", "imbalance.minority.threshold=1.5: must lie in"),
        ("gan.condition_on=some", "gan.condition_on='some': unknown condition_on"),
        ("gan.steps=0", "gan.steps=0: must be >= 1"),
        ("classifier.epochs=-1", "classifier.epochs=-1: must be >= 1"),
        ("data.val_fraction=1.5", "data.val_fraction=1.5: must lie strictly between 0 and 1"),
        ("gan.gate.min_confidence=2", "gan.gate.min_confidence=2.0: must lie in"),
        ("quality.k=0", "quality.k=0: must be >= 1"),
    ],
)
def test_bad_values_fail_validation_with_the_key(override: str, message: str) -> None:
    cfg = _compose([override])
    with pytest.raises(GanaugError, match=message.replace("[", r"\[").replace("+", r"\+")):
        validate(cfg)
