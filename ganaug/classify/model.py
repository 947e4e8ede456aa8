"""The reference classifier (a small CNN and the LightningModule that trains it on uint8 images), the training
step every classifier trains with in ganaug, and a user's LightningModule given that training step."""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganaug.classify.losses import ClassifierLoss, Mixup
from ganaug.classify.metrics import BalancedAccuracy
from ganaug.errors import GanaugError, at_least, checked, one_of, positive
from ganaug.lightning import Bindable, bound_getattr, module_namespace, with_func


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 images in [0, 255] as the float input in [-1, 1] the reference classifier takes."""
    return (images.float() / 255.0 - 0.5) / 0.5


def as_input(images: torch.Tensor) -> torch.Tensor:
    """The classifier's float input: uint8 images normalised, float images taken as already normalised."""
    return normalise(images) if images.dtype == torch.uint8 else images


class CosineHead(nn.Module):
    """A linear head on unit-length features and unit-length class weights: logits are cosines in [-1, 1]
    (the head LDAM is defined with, its scale applied by the loss)."""

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.in_features = in_features
        self.weight = nn.Parameter(torch.empty(num_classes, in_features))
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Cosine similarity of each feature vector with each class's weight vector."""
        return F.normalize(features, dim=1) @ F.normalize(self.weight, dim=1).t()


HEADS = ("linear", "cosine")


class SmallCNN(nn.Module):
    """Three conv-BN-ReLU blocks (2x downsampling after the first two), global average pooling, a head:
    linear, or cosine (unit-length features and class weights).

    Small enough to train in seconds on 8x8 to 32x32 images, the same network for every strategy.
    """

    @checked(in_channels=at_least(1), num_classes=at_least(2), width=at_least(1), head=one_of(HEADS))
    def __init__(self, in_channels: int, num_classes: int, width: int = 32, head: str = "linear") -> None:
        super().__init__()
        self.features = nn.Sequential(
            _block(in_channels, width),
            nn.MaxPool2d(2),
            _block(width, 2 * width),
            nn.MaxPool2d(2),
            _block(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(4 * width, num_classes) if head == "linear" else CosineHead(4 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Float images (N, C, H, W), H and W at least 4 -> logits (N, num_classes)."""
        return self.head(self.features(x))


class StrategyTraining:
    """The training step every classifier trains with in ganaug: the strategy's loss (`strategy_loss`, a
    ClassifierLoss) on the module's logits, after its batch mix (`strategy_mix`) when it has one.

    Batches are `(images, labels)` or `(images, labels, is_synthetic)`; the module's `forward` gets the
    images as float in [-1, 1] (uint8 images are normalised first). Its validation step logs what every
    strategy is compared and early-stopped on (a user's module keeps its own when it has one).
    """

    strategy_loss: ClassifierLoss
    strategy_mix: Mixup | None
    val_balanced_accuracy: BalancedAccuracy

    def on_train_epoch_start(self) -> None:
        """Tell the loss which epoch starts (deferred re-weighting switches by it)."""
        self.strategy_loss.start_epoch(self.current_epoch, self.trainer.max_epochs)  # type: ignore[attr-defined]
        super().on_train_epoch_start()  # type: ignore[misc]

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> torch.Tensor:
        """The strategy's loss on the batch, mixed first when the strategy mixes batches."""
        images, labels = batch[0], batch[1]
        is_synthetic = batch[2] if len(batch) > 2 else None
        if self.strategy_mix is None:
            loss = self.strategy_loss(self(as_input(images)), labels, is_synthetic)  # type: ignore[operator]
        else:
            mixed, terms = self.strategy_mix(as_input(images), labels, is_synthetic)
            logits = self(mixed)  # type: ignore[operator]
            loss = sum(share * self.strategy_loss(logits, y, synthetic) for share, y, synthetic in terms)
        self.log("train_loss", loss, prog_bar=True, batch_size=len(labels))  # type: ignore[attr-defined]
        return loss

    def validation_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> None:
        """Log `val_loss` and `val_balanced_accuracy`. The loss is the plain cross-entropy of the logits at
        the scale the strategy trains them (a cosine head's times LDAM's scale), unweighted and unadjusted,
        so it is comparable across strategies."""
        images, labels = batch[0], batch[1]
        logits = self(images)  # type: ignore[operator]
        self.val_balanced_accuracy.update(logits, labels)
        loss = F.cross_entropy(logits * self.strategy_loss.scale, labels)
        self.log("val_loss", loss, prog_bar=True, batch_size=len(labels))  # type: ignore[attr-defined]
        self.log("val_balanced_accuracy", self.val_balanced_accuracy, prog_bar=True, batch_size=len(labels))  # type: ignore[attr-defined]


class ImageClassifier(StrategyTraining, Bindable):
    """SmallCNN trained with a strategy's loss (`ClassifierLoss`), AdamW and a per-step one-cycle LR.

    A LightningModule of either Lightning namespace (`ganaug.lightning`). uint8 images are normalised
    inside (so datasets stay uint8), float images are taken as already normalised. `loss` weighs the
    samples (class weights, the weight of synthetic samples; default: plain cross-entropy).
    """

    lightning_base = "LightningModule"

    @checked(width=at_least(1), lr=positive(), weight_decay=at_least(0))
    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        width: int = 32,
        lr: float = 3e-3,
        weight_decay: float = 5e-4,
        loss: ClassifierLoss | None = None,
        batch_transform: Mixup | None = None,
        head: str = "linear",
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["loss", "batch_transform"])
        self.net = SmallCNN(in_channels, num_classes, width, head)
        self.strategy_loss = loss if loss is not None else ClassifierLoss()
        self.strategy_mix = batch_transform
        self.strategy_loss.check_classes(num_classes)
        self.val_balanced_accuracy = BalancedAccuracy(num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images (uint8 [0, 255] or normalised float) -> logits."""
        return self.net(as_input(images))

    def predict_step(self, batch, batch_idx: int) -> torch.Tensor:
        images = batch[0] if isinstance(batch, list | tuple) else batch
        return self(images)

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=self.hparams.lr,
            total_steps=max(int(self.trainer.estimated_stepping_batches), 1),
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


class _NormalisedInput:
    """Gives a user module's `forward` float images in [-1, 1], whatever the loader yields."""

    def forward(self, images: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        return super().forward(as_input(images), *args, **kwargs)  # type: ignore[misc]


@functools.cache
def _own_validation(user: type) -> bool:
    base = module_namespace(user)
    return base is not None and getattr(user, "validation_step", None) is not base.LightningModule.validation_step


def trained_class(user: type) -> type:
    """A user's LightningModule class with ganaug's training step (`StrategyTraining`, and its validation step
    when the class has none) and normalised input, registered in this module under its own name, so it
    pickles; `user_class` is the user's class."""
    name = f"Trained__{user.__module__.replace('.', '__dot__')}__{user.__qualname__}"
    attrs: dict[str, Any] = {"__module__": __name__, "__qualname__": name, "user_class": user}
    if _own_validation(user):
        attrs["validation_step"] = user.validation_step
    cls = type(name, (StrategyTraining, _NormalisedInput, user), attrs)
    globals()[name] = cls
    return cls


def classifier_name(model: Any) -> str:
    """The classifier's class as `module.QualName` (a user's own class for a user's module)."""
    cls = getattr(type(model), "user_class", type(model))
    return f"{cls.__module__}.{cls.__name__}"


def __getattr__(name: str) -> type:
    """Trained classes are made on first use; unpickling asks for them by name (and the bound ones)."""
    if name.startswith("Trained__"):
        module, _, qualname = name.removeprefix("Trained__").rpartition("__")
        owner: Any = importlib.import_module(module.replace("__dot__", "."))
        for part in qualname.split("."):
            owner = getattr(owner, part)
        return trained_class(owner)
    return _bound(name)


_bound = bound_getattr(__name__)


def check_classifier(factory: Any, kwargs: Mapping[str, Any] | None = None) -> type:
    """The LightningModule class `factory` (a class or a partial of one) makes, checked against the protocol
    a classifier meets in ganaug: a LightningModule of either namespace whose constructor takes `num_classes`
    (and `in_channels` if it wants it) besides `kwargs` and the partial's own arguments."""
    target = factory.func if isinstance(factory, functools.partial) else factory
    if module_namespace(target) is None and not (isinstance(target, type) and issubclass(target, ImageClassifier)):
        raise GanaugError(
            f"classifier {getattr(target, '__name__', target)!r} is not a LightningModule class; name one "
            "(of lightning or pytorch_lightning) in classifier._target_"
        )
    parameters = inspect.signature(target).parameters
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    if "num_classes" not in parameters and not open_ended:
        raise GanaugError(
            f"{target.__name__}'s constructor does not take num_classes; add it (ganaug passes the class count, "
            "and in_channels when the constructor takes it)"
        )
    given = {*(kwargs or {}), *(factory.keywords if isinstance(factory, functools.partial) else {})}
    unknown = sorted(given - set(parameters)) if not open_ended else []
    if unknown:
        raise GanaugError(
            f"{target.__name__}'s constructor takes no {', '.join(unknown)}; take them out of the classifier's "
            f"arguments (it takes {', '.join(parameters) or 'none'})"
        )
    return target


def unmet_needs(factory: Any, needs: Mapping[str, Any]) -> list[str]:
    """The constructor arguments a strategy needs (its `model_kwargs`) that the classifier `factory` does not
    take: a strategy with any cannot train that classifier."""
    target = factory.func if isinstance(factory, functools.partial) else factory
    if isinstance(target, type) and issubclass(target, ImageClassifier):
        return []
    return sorted(set(needs) - set(inspect.signature(target).parameters))


def build_classifier(
    factory: Callable[..., Any],
    in_channels: int,
    num_classes: int,
    loss: ClassifierLoss,
    batch_transform: Mixup | None = None,
    needs: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """A classifier from `factory` (ganaug's ImageClassifier, or a user's LightningModule class or partial)
    that trains with `loss` and `batch_transform`.

    A user's module (see `check_classifier`) is made with `num_classes` (and `in_channels`, if its
    constructor takes it) and trained with ganaug's training step on its own `forward` and
    `configure_optimizers`, and ganaug's validation step unless it has its own (see README: your own
    classifier). `needs` are what the strategy needs of the constructor (LDAM: `head="cosine"`); a
    constructor that cannot take them is refused with the reason.
    """
    target = check_classifier(factory, kwargs)
    needs = dict(needs or {})
    clash = {k: v for k, v in kwargs.items() if k in needs and v != needs[k]}
    if clash:
        given = ", ".join(f"{k}={v!r}" for k, v in clash.items())
        wanted = ", ".join(f"{k}={needs[k]!r}" for k in clash)
        raise GanaugError(f"the strategy needs {wanted} but the classifier is given {given}; drop {given} "
                          "or use a strategy without the part that needs it")  # fmt: skip
    kwargs = {k: v for k, v in kwargs.items() if k not in needs}
    if issubclass(target, ImageClassifier):
        extra = {"batch_transform": batch_transform} if batch_transform is not None else {}
        return factory(in_channels=in_channels, num_classes=num_classes, loss=loss, **extra, **needs, **kwargs)
    if unmet_needs(factory, needs):
        raise GanaugError(
            f"the strategy needs {target.__name__}({', '.join(f'{k}={v!r}' for k, v in needs.items())}), which "
            f"its constructor does not take; add the parameter or use a strategy without it"
        )
    accepted = inspect.signature(target).parameters
    given = {"num_classes": num_classes, **({"in_channels": in_channels} if "in_channels" in accepted else {})}
    net = with_func(factory, trained_class(target))(**given, **needs, **kwargs)
    loss.check_classes(num_classes)
    net.strategy_loss, net.strategy_mix = loss, batch_transform
    if not _own_validation(target):
        net.val_balanced_accuracy = BalancedAccuracy(num_classes)
    return net
