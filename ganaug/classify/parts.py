"""The parts a strategy is made of, each registered once, and parsing a strategy name into them.

A strategy name is its parts joined by `+` (`gan+la+classical`); `none` is the strategy with no part
(plain cross-entropy on the real images, shuffled). A part changes one thing about what the classifier
trains on or with, its `kind`:

- `sampler`: how the training loader draws samples (`oversample`: every class equally likely);
- `loss`: the loss (`reweight`: inverse-frequency class weights; `la`: logit adjustment, Menon et al.
  2021, balanced softmax at tau 1; `ldam`: the LDAM margin loss on a cosine head, Cao et al. 2019);
- `schedule`: a loss that changes during training (`drw`: plain cross-entropy, then effective-number class
  weights for the last share of the epochs, Cao et al. 2019);
- `batch`: a mix of each batch (`mixup`: input mixup, Zhang et al. 2018);
- `image`: a random transform of every training image (`classical`: shifts and rotations);
- `synthetic`: generated samples of the minority classes mixed into the real ones (`gan`).

Rules: at most one part of each kind, and the imbalance is corrected once: `oversample`, `reweight`,
`la`, `ldam` and `drw` each correct it, so `oversample+la` or `reweight+drw` is refused; `ldam+drw` is the
one pair allowed (LDAM's margins with deferred re-weighting, the method as published). `classical` alone
draws classes evenly as well (its meaning in the MNIST-LT protocol); beside a part that corrects the
imbalance in the loss, it keeps plain sampling, so `la+classical` is logit adjustment with the classical
augmentation. A part's settings (`tau`, `beta`, ...) are the keyword arguments of its `configure` (a loss
part) or of its batch mix's constructor, declared there with their defaults and constraints. A new part is
one entry in `PARTS`; one with settings also gets its config section, `augment.<name>` (`cli/config/schema.py`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ganaug.classify.classical import classical_transform, seeded
from ganaug.classify.losses import ClassifierLoss, Mixup, ldam_margins
from ganaug.data.imbalance import EFFECTIVE_NUMBER_BETA, effective_number_weights, inverse_frequency
from ganaug.errors import GanaugError, at_least, between, checked, positive

SAMPLER, LOSS, SCHEDULE, BATCH, IMAGE, SYNTHETIC = "sampler", "loss", "schedule", "batch", "image", "synthetic"
KINDS = (SAMPLER, LOSS, SCHEDULE, BATCH, IMAGE, SYNTHETIC)
NONE = "none"


@dataclass(frozen=True)
class Part:
    """One registered part: its name, what it changes (`kind`), whether it corrects the imbalance, and in
    words; `model_kwargs` are what it needs of the classifier (LDAM: a cosine head), `pairs_with` the
    correcting parts it may be combined with."""

    name: str
    kind: str
    corrects_imbalance: bool
    summary: str
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    pairs_with: tuple[str, ...] = ()

    def configurable(self) -> Callable | None:
        """What takes the part's settings as keyword arguments (None: the part has no settings)."""
        return None

    @property
    def setting_names(self) -> tuple[str, ...]:
        """The part's settings: the keyword parameters, with defaults, of what `configurable` gives."""
        target = self.configurable()
        if target is None:
            return ()
        params = inspect.signature(target).parameters.values()
        return tuple(p.name for p in params if p.default is not inspect.Parameter.empty)


class SamplerPart(Part):
    """Draws every class equally often."""


class LossPart(Part):
    """Shapes the loss from the classes' counts in one epoch of training; settings are `configure`'s keywords."""

    def configure(self, loss: ClassifierLoss, counts: Sequence[float]) -> None:
        """Set the loss for a training set whose epoch holds `counts[c]` samples of class c."""
        raise NotImplementedError

    def configurable(self) -> Callable:
        """`configure`, whose keywords are the settings."""
        return self.configure


class Reweight(LossPart):
    """Inverse-frequency class weights."""

    def configure(self, loss: ClassifierLoss, counts: Sequence[float]) -> None:
        """Class c weighs 1/counts[c], scaled to mean 1 over the classes present."""
        loss.class_weights = torch.tensor(inverse_frequency(counts), dtype=torch.float32)


class LogitAdjustment(LossPart):
    """Logit-adjusted cross-entropy: the log prior, times `tau`, added to the logits in training."""

    @checked(tau=at_least(0))
    def configure(self, loss: ClassifierLoss, counts: Sequence[float], tau: float = 1.0) -> None:
        """Class c's logit gets tau * log(counts[c] / total) in the loss."""
        loss.adjust_logits(counts, tau)


class LDAM(LossPart):
    """Label-distribution-aware margins: class c's margin is proportional to counts[c] ** -1/4."""

    @checked(max_margin=positive(), scale=positive())
    def configure(
        self, loss: ClassifierLoss, counts: Sequence[float], max_margin: float = 0.5, scale: float = 30.0
    ) -> None:
        """The rarest class's margin is `max_margin`; the cosine logits are multiplied by `scale`."""
        loss.add_margins(ldam_margins(counts, max_margin), scale)


class DeferredReweight(LossPart):
    """Deferred re-weighting: effective-number class weights for the last share of the epochs."""

    @checked(beta=EFFECTIVE_NUMBER_BETA, start=between(0, 1))
    def configure(
        self, loss: ClassifierLoss, counts: Sequence[float], beta: float = 0.9999, start: float = 0.8
    ) -> None:
        """Plain weights until round(start * epochs), then (1 - beta) / (1 - beta ** counts[c])."""
        loss.defer(effective_number_weights(counts, beta), start)


class BatchPart(Part):
    """Mixes each training batch."""

    def configurable(self) -> Callable:
        """The batch mix's constructor (`Mixup`), whose keywords are the settings."""
        return Mixup

    def transform(self, **settings: Any) -> Mixup:
        """Input mixup with the given settings (`alpha`: lam ~ Beta(alpha, alpha))."""
        return Mixup(**settings)


@dataclass(frozen=True)
class ImagePart(Part):
    """A random image transform; `balances` says whether, alone, it also draws classes evenly."""

    balances: bool = False

    def transform(self, image_shape: tuple[int, int, int], seed: int, given: Callable | None) -> Callable:
        """The transform seeded with `seed`: a seeded copy of `given`, else the classical recipe's."""
        return classical_transform(image_shape, seed=seed) if given is None else seeded(given, seed)


class SyntheticPart(Part):
    """Mixes generated samples from a bank into the real training set."""


PARTS: dict[str, Part] = {
    part.name: part
    for part in (
        SamplerPart("oversample", SAMPLER, True, "class-balanced sampling"),
        Reweight("reweight", LOSS, True, "inverse-frequency class weights in the loss"),
        LogitAdjustment("la", LOSS, True, "logit-adjusted cross-entropy (tau * log prior added in training)"),
        LDAM(
            "ldam",
            LOSS,
            True,
            "LDAM margins (counts ** -1/4) on a cosine head, scaled",
            model_kwargs={"head": "cosine"},
            pairs_with=("drw",),
        ),
        DeferredReweight("drw", SCHEDULE, True, "effective-number class weights for the last share of the epochs"),
        BatchPart("mixup", BATCH, False, "input mixup of each batch"),
        ImagePart(
            "classical",
            IMAGE,
            False,
            "random shifts and rotations (and class-balanced sampling, unless the loss corrects the imbalance)",
            balances=True,
        ),
        SyntheticPart("gan", SYNTHETIC, False, "generated minority-class samples mixed into the real ones"),
    )
}

# The strategies every run compares by default (`augment=all`), and the GAN one the benchmark's headline
# and `auto`'s candidates use.
STRATEGIES = ("none", "oversample", "reweight", "classical", "gan", "gan+classical")
GAN_STRATEGY = "gan+classical"


@dataclass(frozen=True)
class Strategy:
    """A parsed strategy: its name as given and its parts."""

    name: str
    parts: tuple[Part, ...]

    def part(self, kind: str) -> Part | None:
        """The strategy's part of `kind`, if it has one."""
        return next((p for p in self.parts if p.kind == kind), None)

    @property
    def synthetic(self) -> bool:
        """Whether the strategy trains on generated samples too."""
        return self.part(SYNTHETIC) is not None

    @property
    def corrects_in_loss(self) -> bool:
        """Whether a loss or schedule part corrects the imbalance."""
        return any(p.corrects_imbalance for p in self.parts if p.kind in (LOSS, SCHEDULE))

    @property
    def balanced(self) -> bool:
        """Whether the loader draws classes evenly: by a sampler part, or by an image part that balances
        when no loss part corrects the imbalance."""
        if self.part(SAMPLER) is not None:
            return True
        image = self.part(IMAGE)
        return isinstance(image, ImagePart) and image.balances and not self.corrects_in_loss

    @property
    def model_kwargs(self) -> dict[str, Any]:
        """What the parts need of the classifier's constructor."""
        return {k: v for p in self.parts for k, v in p.model_kwargs.items()}


def _known() -> str:
    return f"{', '.join(STRATEGIES)}, or parts joined with '+' ({', '.join(PARTS)})"


def _check_corrections(name: str, parts: Sequence[Part]) -> None:
    correcting = [p for p in parts if p.corrects_imbalance]
    names = {p.name for p in correcting}
    allowed = len(correcting) == 2 and any(names == {p.name, *p.pairs_with} for p in correcting)
    if len(correcting) > 1 and not allowed:
        names = " and ".join(p.name for p in correcting)
        raise GanaugError(
            f"strategy '{name}' corrects the imbalance twice ({names}); keep one of them "
            "(ldam+drw is the one pair allowed: LDAM's margins with deferred re-weighting)"
        )


def parse_strategy(strategy: str | Strategy) -> Strategy:
    """The parts of a strategy name; an unknown part, two of one kind or a double correction is refused."""
    if isinstance(strategy, Strategy):
        return strategy
    name = str(strategy)
    if name == NONE:
        return Strategy(name, ())
    names = name.split("+")
    unknown = [n for n in names if n not in PARTS]
    if unknown:
        which = f" (no part {', '.join(map(repr, unknown))})" if len(names) > 1 else ""
        raise GanaugError(f"unknown strategy '{name}'{which}; choose one of {_known()}")
    parts = tuple(PARTS[n] for n in names)
    for kind in KINDS:
        same = [p.name for p in parts if p.kind == kind]
        if len(same) > 1:
            raise GanaugError(f"strategy '{name}' has two {kind} parts ({', '.join(same)}); keep one of them")
    _check_corrections(name, parts)
    return Strategy(name, parts)


def is_synthetic(strategy: str) -> bool:
    """Whether a strategy name uses generated samples (an invalid name is refused as `parse_strategy` does)."""
    return parse_strategy(strategy).synthetic


CLASSICAL_STRATEGIES = tuple(s for s in STRATEGIES if not is_synthetic(s))
GAN_STRATEGIES = tuple(s for s in STRATEGIES if is_synthetic(s))


# The parts that take settings, each under its name in `part_settings` and in the config (`augment.<name>`).
PART_SETTINGS = tuple(name for name, part in PARTS.items() if part.setting_names)


def check_part_settings(settings: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse settings for a name that is no part with settings, or a setting the part does not take."""
    for name, values in settings.items():
        known = PARTS[name].setting_names if name in PARTS else ()
        if not known:
            raise GanaugError(
                f"part_settings names '{name}', which is no part with settings; use one of {', '.join(PART_SETTINGS)}"
            )
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise GanaugError(
                f"part_settings['{name}'] has unknown settings {unknown}; '{name}' takes {', '.join(known)}"
            )
