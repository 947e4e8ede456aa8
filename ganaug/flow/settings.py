"""Turning config sections into the objects and arguments the library takes, with `hydra.utils.instantiate`.

`classifier`, `gan.module` and `trainer` are `_target_` configs: the classifier and the GAN module are
built as partials (the data's shape and classes are added when they are built), the Trainer's arguments
are instantiated and given to each fit ganaug runs. The `logger` group (a partial) joins the GAN's and the
classifier's fits and the `callbacks` group (partials by name) the classifier's: each is made anew per fit
(`ganaug.lightning.build_trainer`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ganaug.classify.classical import classical_transform
from ganaug.classify.parts import PART_SETTINGS
from ganaug.errors import GanaugError
from ganaug.lightning import accelerator_device

# Keys of the classifier group that set its training, not its constructor.
TRAINING_KEYS = ("epochs", "batch_size", "checkpoint_dir")


@contextlib.contextmanager
def config_keys(cfg: DictConfig, *prefixes: str) -> Iterator[None]:
    """Errors raised inside name the parameters fed from the config sections `prefixes` by their config keys
    (`root=` becomes `data.root=`), since that is where the user sets them."""
    try:
        try:
            yield
        except InstantiationException as wrapped:
            if not isinstance(wrapped.__cause__, GanaugError):
                raise
            raise wrapped.__cause__ from None
    except GanaugError as exc:
        keys = {}
        for prefix in prefixes:
            node = OmegaConf.select(cfg, prefix)
            keys.update({str(k): f"{prefix}.{k}" for k in node} if OmegaConf.is_dict(node) else {})
        raise exc.renamed(keys) from None


def section(cfg: DictConfig, key: str) -> Any:
    """A config section as plain, resolved Python values."""
    return OmegaConf.to_container(OmegaConf.select(cfg, key), resolve=True)


def trainer_kwargs(cfg: DictConfig) -> dict[str, Any]:
    """The `trainer` group's arguments of every Lightning Trainer the flow builds (instantiated)."""
    return dict(instantiate(cfg.trainer, _partial_=True, _convert_="all").keywords)


def single_device_kwargs(cfg: DictConfig) -> dict[str, Any]:
    """`trainer_kwargs` on the first device only, without a distributed strategy: the small fits of the
    feature extractor and CAS, which rank zero of a distributed run makes alone while the others wait."""
    kwargs = trainer_kwargs(cfg)
    kwargs.pop("strategy", None)
    device = accelerator_device(kwargs)
    kwargs["devices"] = [device.index or 0] if device.type == "cuda" else 1
    return kwargs


def logged_trainer_kwargs(cfg: DictConfig, classifier: bool) -> dict[str, Any]:
    """`trainer_kwargs` with the run's logger and, for a classifier's fits, the run's callbacks (factories)."""
    kwargs = trainer_kwargs(cfg)
    if cfg.logger:
        kwargs["logger"] = instantiate(cfg.logger, _convert_="all")
    if classifier and cfg.callbacks:
        kwargs["callbacks"] = [instantiate(node, _convert_="all") for node in cfg.callbacks.values() if node]
    return kwargs


def gan_module(cfg: DictConfig) -> Callable[..., pl.LightningModule]:
    """The `gan.module` group as a partial of its `_target_` (the ConditionalGAN)."""
    return instantiate(cfg.gan.module, _partial_=True, _convert_="all")


@dataclass(frozen=True)
class ClassifierRecipe:
    """What every strategy's classifier training shares: the model, its length and batch, the classical
    transform, the seed, and how synthetic samples weigh and are drawn (train_and_evaluate's arguments)."""

    model: Callable[..., pl.LightningModule]
    epochs: int
    batch_size: int
    classical: Callable
    seed: int
    synthetic_share: float
    synthetic_weight: float
    part_settings: dict[str, dict[str, Any]]
    trainer_kwargs: dict[str, Any]
    checkpoint_dir: str | None = None

    def checkpoints(self, strategy: str) -> Path | None:
        """Where the fit of `strategy` keeps its resumable checkpoint (None: it keeps none)."""
        return None if self.checkpoint_dir is None else Path(self.checkpoint_dir) / strategy / f"seed{self.seed}"

    def kwargs(self) -> dict[str, Any]:
        """train_and_evaluate's keyword arguments."""
        return {
            "model": self.model,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "classical": self.classical,
            "seed": self.seed,
            "synthetic_share": self.synthetic_share,
            "synthetic_weight": self.synthetic_weight,
            "part_settings": self.part_settings,
            "trainer_kwargs": self.trainer_kwargs,
        }


def classifier_model(cfg: DictConfig) -> Callable[..., pl.LightningModule]:
    """The `classifier` group's model as a partial: ganaug's (its arguments beside `_target_`) or a user's
    module (`classifier=module`: its arguments under `kwargs`)."""
    node = cfg.classifier
    if "kwargs" in node:
        model_cfg = OmegaConf.create({"_target_": node._target_, **OmegaConf.to_container(node.kwargs)})
    else:
        model_cfg = OmegaConf.masked_copy(node, [k for k in node if k not in TRAINING_KEYS])
    return instantiate(model_cfg, _partial_=True, _convert_="all")


def classifier_recipe(cfg: DictConfig, image_shape: tuple[int, int, int]) -> ClassifierRecipe:
    """The recipe of `cfg`'s classifier, augment, trainer, logger and callbacks groups for images of
    `image_shape`."""
    classical = cfg.augment.classical
    return ClassifierRecipe(
        model=classifier_model(cfg),
        epochs=cfg.classifier.epochs,
        batch_size=cfg.classifier.batch_size,
        classical=classical_transform(image_shape, max_shift=classical.max_shift, max_rotation=classical.max_rotation),
        seed=cfg.seed,
        synthetic_share=cfg.augment.synthetic_share,
        synthetic_weight=cfg.augment.synthetic_weight,
        part_settings={name: section(cfg, f"augment.{name}") for name in PART_SETTINGS},
        trainer_kwargs=logged_trainer_kwargs(cfg, classifier=True),
        checkpoint_dir=cfg.classifier.checkpoint_dir,
    )
