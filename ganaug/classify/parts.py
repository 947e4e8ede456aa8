"""The parts a strategy is made of, each registered once, and parsing a strategy name into them.

A strategy name is its parts joined by `+` (`gan+classical`); `none` is the strategy with no part (plain
cross-entropy on the real images, shuffled). A part changes one thing about what the classifier trains on
or with, its `kind`:

- `sampler`: how the training loader draws samples (`oversample`: every class equally likely);
- `loss`: how the loss weighs them (`reweight`: inverse class frequency);
- `image`: a random transform of every training image (`classical`: shifts and rotations);
- `synthetic`: generated samples of the minority classes mixed into the real ones (`gan`).

Rules: at most one part of each kind; and the imbalance is corrected once. `oversample` and `reweight`
correct it, so `oversample+reweight` is refused. `classical` alone draws classes evenly as well (its
meaning in the MNIST-LT protocol); beside a part that corrects the imbalance in the loss, it keeps plain
sampling. A new part is one entry in `PARTS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ganaug.classify.classical import classical_transform, seeded
from ganaug.classify.losses import ClassifierLoss, inverse_frequency
from ganaug.errors import GanaugError

SAMPLER, LOSS, IMAGE, SYNTHETIC = "sampler", "loss", "image", "synthetic"
KINDS = (SAMPLER, LOSS, IMAGE, SYNTHETIC)
NONE = "none"


@dataclass(frozen=True)
class Part:
    """One registered part: its name, what it changes (`kind`), whether it corrects the imbalance, and in words."""

    name: str
    kind: str
    corrects_imbalance: bool
    summary: str


class SamplerPart(Part):
    """Draws every class equally often."""


class LossPart(Part):
    """Shapes the loss from the classes' counts in one epoch of training."""

    def configure(self, loss: ClassifierLoss, counts: Sequence[float]) -> None:
        """Set the loss's weights for a training set whose epoch holds `counts[c]` samples of class c."""
        raise NotImplementedError


class Reweight(LossPart):
    """Inverse-frequency class weights."""

    def configure(self, loss: ClassifierLoss, counts: Sequence[float]) -> None:
        """Class c weighs 1/counts[c], scaled to mean 1 over the classes present."""
        loss.class_weights = torch.tensor(inverse_frequency(counts), dtype=torch.float32)


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
    def balanced(self) -> bool:
        """Whether the loader draws classes evenly: by a sampler part, or by an image part that balances
        when no loss part corrects the imbalance."""
        if self.part(SAMPLER) is not None:
            return True
        image, loss = self.part(IMAGE), self.part(LOSS)
        return isinstance(image, ImagePart) and image.balances and not (loss and loss.corrects_imbalance)


def _known() -> str:
    return f"{', '.join(STRATEGIES)}, or parts joined with '+' ({', '.join(PARTS)})"


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
        raise GanaugError(f"unknown strategy '{name}'; choose one of {_known()}")
    parts = tuple(PARTS[n] for n in names)
    for kind in KINDS:
        same = [p.name for p in parts if p.kind == kind]
        if len(same) > 1:
            raise GanaugError(f"strategy '{name}' has two {kind} parts ({', '.join(same)}); keep one of them")
    correcting = [p.name for p in parts if p.corrects_imbalance]
    if len(correcting) > 1:
        raise GanaugError(
            f"strategy '{name}' corrects the imbalance twice ({' and '.join(correcting)}); keep one of them"
        )
    return Strategy(name, parts)


def is_synthetic(strategy: str) -> bool:
    """Whether a strategy name (valid or not yet checked) uses generated samples."""
    return parse_strategy(strategy).synthetic


CLASSICAL_STRATEGIES = tuple(s for s in STRATEGIES if not is_synthetic(s))
GAN_STRATEGIES = tuple(s for s in STRATEGIES if is_synthetic(s))
