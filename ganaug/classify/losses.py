"""The classifier's training loss: cross-entropy weighted per sample, the one the strategies' loss parts shape.

Weights per sample are the class weight of its label (the `reweight` part: inverse frequency) times
`synthetic_weight` for generated samples; the mean is normalised by their sum, as torch's weighted
cross-entropy is, so a weight of 0 removes a sample exactly as if it were not in the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganaug.errors import GanaugError, at_least, checked


def inverse_frequency(counts: Sequence[float]) -> list[float]:
    """1/count per class, scaled to mean 1 over the classes present; 0 for a class with no images."""
    inverse = [1.0 / n if n > 0 else 0.0 for n in counts]
    present = sum(1 for n in counts if n > 0)
    total = sum(inverse)
    return [w * present / total for w in inverse]


class ClassifierLoss(nn.Module):
    """Cross-entropy weighted per sample by its class weight and, for generated samples, `synthetic_weight`.

    `forward(logits, labels, is_synthetic=None)`; `start_epoch(epoch, max_epochs)` is called at the start of
    every training epoch, for losses whose weights follow a schedule.
    """

    @checked(synthetic_weight=at_least(0))
    def __init__(self, class_weights: Sequence[float] | None = None, synthetic_weight: float = 1.0) -> None:
        super().__init__()
        weights = None if class_weights is None else torch.tensor(list(class_weights), dtype=torch.float32)
        self.register_buffer("class_weights", weights)
        self.synthetic_weight = float(synthetic_weight)

    @property
    def num_classes(self) -> int | None:
        """How many classes the weights are for (None: unweighted, any number)."""
        return None if self.class_weights is None else len(self.class_weights)

    def check_classes(self, num_classes: int) -> None:
        """Refuse weights that are not one per class of a `num_classes`-way classifier."""
        if self.num_classes is not None and self.num_classes != num_classes:
            raise GanaugError(
                f"class_weights has {self.num_classes} entries but there are {num_classes} classes; "
                "pass one weight per class id"
            )

    def start_epoch(self, epoch: int, max_epochs: int) -> None:
        """Called before each training epoch; the plain loss has no schedule."""

    def sample_weights(
        self, labels: torch.Tensor, dtype: torch.dtype, is_synthetic: torch.Tensor | None
    ) -> torch.Tensor:
        """Each sample's weight: its class weight, times synthetic_weight when it is generated."""
        weights = torch.ones_like(labels, dtype=dtype)
        if self.class_weights is not None:
            weights = self.class_weights.to(dtype)[labels]
        if is_synthetic is not None:
            scale = torch.where(is_synthetic.to(torch.bool), self.synthetic_weight, 1.0)
            weights = weights * scale.to(dtype)
        return weights

    def forward(
        self, logits: torch.Tensor, labels: torch.Tensor, is_synthetic: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The weighted mean cross-entropy of a batch."""
        weights = self.sample_weights(labels, logits.dtype, is_synthetic)
        per_sample = F.cross_entropy(logits, labels, reduction="none")
        return (weights * per_sample).sum() / weights.sum().clamp_min(1e-12)
