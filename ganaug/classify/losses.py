"""The classifier's training loss, the one the strategies' loss and schedule parts shape, and input mixup.

The loss is cross-entropy weighted per sample: the class weight of its label (`reweight`: inverse frequency;
`drw`: effective-number weights from a given epoch on) times `synthetic_weight` for generated samples; the
mean is normalised by the weights' sum, as torch's weighted cross-entropy is, so a weight of 0 removes a
sample exactly as if it were not in the batch. Before it, the logits may be adjusted: by `tau * log prior`
(`la`, Menon et al. 2021) or by a per-class margin subtracted from the true class's logit and a scale
(`ldam`, Cao et al. 2019). Only training sees these adjustments; predictions use the plain logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganaug.errors import GanaugError, at_least, checked, positive


def ldam_margins(counts: Sequence[float], max_margin: float) -> list[float]:
    """Margin n_c ** -1/4 per class, scaled so the rarest class's is `max_margin` (a class with no images: 0)."""
    raw = [n**-0.25 if n > 0 else 0.0 for n in counts]
    top = max(raw)
    return [m * max_margin / top for m in raw]


def _tensor(values: Sequence[float] | None) -> torch.Tensor | None:
    return None if values is None else torch.tensor(list(values), dtype=torch.float32)


class ClassifierLoss(nn.Module):
    """Cross-entropy of (adjusted) logits, weighted per sample by its class weight and, for generated
    samples, `synthetic_weight`.

    `forward(logits, labels, is_synthetic=None)`; `start_epoch(epoch, max_epochs)` is called at the start of
    every training epoch: deferred class weights (`defer`) replace the first ones from the epoch
    `round(start * max_epochs)` on.
    """

    @checked(synthetic_weight=at_least(0))
    def __init__(self, class_weights: Sequence[float] | None = None, synthetic_weight: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("class_weights", _tensor(class_weights))
        self.register_buffer("logit_adjustment", None)
        self.register_buffer("margins", None)
        self.register_buffer("deferred_weights", None)
        self.synthetic_weight = float(synthetic_weight)
        self.scale = 1.0
        self.defer_start: float | None = None
        self.deferred = False

    @property
    def num_classes(self) -> int | None:
        """How many classes the loss's per-class terms are for (None: none set, any number)."""
        for values in (self.class_weights, self.logit_adjustment, self.margins, self.deferred_weights):
            if values is not None:
                return len(values)
        return None

    def check_classes(self, num_classes: int) -> None:
        """Refuse per-class terms that are not one per class of a `num_classes`-way classifier."""
        if self.num_classes is not None and self.num_classes != num_classes:
            raise GanaugError(
                f"class_weights has {self.num_classes} entries but there are {num_classes} classes; "
                "pass one weight per class id"
            )

    def adjust_logits(self, prior: Sequence[float], tau: float) -> None:
        """Add `tau * log prior[c]` to class c's logit in training (logit adjustment; tau 1 = balanced softmax)."""
        shares = torch.tensor(list(prior), dtype=torch.float64)
        shares = shares / shares.sum()
        self.logit_adjustment = (tau * torch.log(shares.clamp_min(1e-12))).to(torch.float32)

    def add_margins(self, margins: Sequence[float], scale: float) -> None:
        """Subtract `margins[y]` from the true class's logit and multiply all logits by `scale` (LDAM)."""
        self.margins = _tensor(margins)
        self.scale = float(scale)

    def defer(self, weights: Sequence[float], start: float) -> None:
        """Use `weights` as the class weights from the share `start` of the epochs on (deferred re-weighting)."""
        self.deferred_weights = _tensor(weights)
        self.defer_start = float(start)

    def start_epoch(self, epoch: int, max_epochs: int) -> None:
        """Use the deferred class weights in `epoch` when it is at or after round(start * max_epochs).

        The switch is a plain flag set from the epoch alone, never saved state, so a fit resumed from a
        checkpoint on either side of the switch weighs its epochs as an uninterrupted fit does.
        """
        self.deferred = self.defer_start is not None and epoch >= round(self.defer_start * max_epochs)

    @property
    def active_weights(self) -> torch.Tensor | None:
        """The class weights in use now: the deferred ones once switched, else the first (None: all 1)."""
        return self.deferred_weights if self.deferred else self.class_weights

    def sample_weights(
        self, labels: torch.Tensor, dtype: torch.dtype, is_synthetic: torch.Tensor | None
    ) -> torch.Tensor:
        """Each sample's weight: its class weight, times synthetic_weight when it is generated."""
        weights = torch.ones_like(labels, dtype=dtype)
        active = self.active_weights
        if active is not None:
            weights = active.to(dtype)[labels]
        if is_synthetic is not None:
            scale = torch.where(is_synthetic.to(torch.bool), self.synthetic_weight, 1.0)
            weights = weights * scale.to(dtype)
        return weights

    def training_logits(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The logits the loss is computed on: adjusted by the prior, the margins and the scale when set."""
        if self.logit_adjustment is not None:
            logits = logits + self.logit_adjustment.to(logits.dtype)
        if self.margins is not None:
            true = F.one_hot(labels, logits.shape[1]).to(logits.dtype)
            logits = (logits - true * self.margins.to(logits.dtype)[labels][:, None]) * self.scale
        return logits

    def forward(
        self, logits: torch.Tensor, labels: torch.Tensor, is_synthetic: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The weighted mean cross-entropy of a batch."""
        weights = self.sample_weights(labels, logits.dtype, is_synthetic)
        per_sample = F.cross_entropy(self.training_logits(logits, labels), labels, reduction="none")
        return (weights * per_sample).sum() / weights.sum().clamp_min(1e-12)


class Mixup(nn.Module):
    """Input mixup (Zhang et al. 2018): each batch mixed with a shuffled copy of itself, lam ~ Beta(alpha, alpha).

    `forward(images, labels, is_synthetic)` returns the mixed float images and the loss terms
    [(lam, labels, is_synthetic), (1 - lam, shuffled labels, shuffled is_synthetic)]: the loss is the
    lam-weighted sum of the loss on each. Draws come from torch's global generator (seeded per run).
    """

    @checked(alpha=positive())
    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(
        self, images: torch.Tensor, labels: torch.Tensor, is_synthetic: torch.Tensor | None
    ) -> tuple[torch.Tensor, list[tuple[float, torch.Tensor, torch.Tensor | None]]]:
        """The mixed batch and its two loss terms."""
        concentration = torch.tensor(self.alpha, dtype=torch.float64)
        lam = float(torch.distributions.Beta(concentration, concentration).sample())
        order = torch.randperm(len(labels), device=labels.device)
        mixed = lam * images + (1.0 - lam) * images[order]
        shuffled = None if is_synthetic is None else is_synthetic[order]
        return mixed, [(lam, labels, is_synthetic), (1.0 - lam, labels[order], shuffled)]

