"""Metrics for imbalanced classification: balanced accuracy, macro-F1, per-class and rarest-class recall."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset
from torchmetrics import Metric
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score, MulticlassRecall

from ganaug.classify.results import ClassificationMetrics
from ganaug.errors import GanaugError


class BalancedAccuracy(Metric):
    """Mean recall over the classes present in the targets (scikit-learn's `balanced_accuracy_score`).

    torchmetrics' macro recall also averages in a class that is absent from the targets but predicted
    (as recall 0); balanced accuracy must not, so a split missing a class is still scored fairly.
    """

    full_state_update = False
    hits: torch.Tensor
    support: torch.Tensor

    def __init__(self, num_classes: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.add_state("hits", torch.zeros(num_classes, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("support", torch.zeros(num_classes, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch of predicted labels (or logits, N x K) and true labels."""
        preds = preds.argmax(dim=1) if preds.ndim == 2 else preds
        k = self.num_classes
        self.support += torch.bincount(target, minlength=k)[:k].to(self.support)
        self.hits += torch.bincount(target[preds == target], minlength=k)[:k].to(self.hits)

    def compute(self) -> torch.Tensor:
        """Mean per-class recall over classes with at least one target; NaN when there were none."""
        present = self.support > 0
        return (self.hits[present] / self.support[present]).mean()


def _validate(preds: torch.Tensor, targets: torch.Tensor, num_classes: int, train_counts: list[int]) -> None:
    if len(train_counts) != num_classes:
        raise GanaugError(
            f"train_counts has {len(train_counts)} entries but there are {num_classes} classes; "
            "pass one training count per class id (ImageDataset.counts())"
        )
    if len(targets) == 0:
        raise GanaugError("no test samples to score; the evaluation split is empty, use a larger test fraction")
    if len(preds) != len(targets):
        raise GanaugError(f"{len(preds)} predictions but {len(targets)} targets; they must match")
    if int(targets.min()) < 0 or int(targets.max()) >= num_classes:
        raise GanaugError(f"targets must lie in 0..{num_classes - 1}, got {int(targets.min())}..{int(targets.max())}")


def classification_metrics(
    preds: torch.Tensor, targets: torch.Tensor, num_classes: int, train_counts: list[int]
) -> ClassificationMetrics:
    """Score predicted labels (or logits, N x K) against targets; every value a plain Python number.

    `per_class_recall[c]` is None for a class with no test samples (its recall is undefined);
    `rarest_class` is the class with the fewest *training* images (ties: lowest id), because the
    rare classes are the ones augmentation is meant to help.
    """
    targets = torch.as_tensor(targets, dtype=torch.int64).reshape(-1).cpu()
    preds = torch.as_tensor(preds).cpu()
    preds = preds.argmax(dim=1) if preds.ndim == 2 else preds.reshape(-1).to(torch.int64)
    _validate(preds, targets, num_classes, train_counts)
    support = torch.bincount(targets, minlength=num_classes)
    local = {"num_classes": num_classes, "sync_on_compute": False}
    recall = MulticlassRecall(average="none", **local)(preds, targets)
    per_class = [float(r) if s > 0 else None for r, s in zip(recall.tolist(), support.tolist(), strict=True)]
    balanced = BalancedAccuracy(**local)
    balanced.update(preds, targets)
    rarest = min(range(num_classes), key=lambda c: (train_counts[c], c))
    return {
        "accuracy": float(MulticlassAccuracy(average="micro", **local)(preds, targets)),
        "balanced_accuracy": float(balanced.compute()),
        "macro_f1": float(MulticlassF1Score(average="macro", **local)(preds, targets)),
        "per_class_recall": per_class,
        "rarest_class": rarest,
        "rarest_class_recall": per_class[rarest],
    }


@torch.no_grad()
def evaluate(
    model: pl.LightningModule,
    dataset: Dataset,
    num_classes: int,
    train_counts: list[int],
    batch_size: int = 512,
) -> ClassificationMetrics:
    """Predict `dataset` with `model` (eval mode, no grad, on the model's device) and score it.

    The model's training/eval mode is restored afterwards.
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    preds, targets = [], []
    try:
        for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
            images, labels = batch[0], batch[1]
            preds.append(model(images.to(device)).argmax(dim=1).cpu())
            targets.append(torch.as_tensor(labels))
    finally:
        model.train(was_training)
    if not preds:
        raise GanaugError("no samples to evaluate; the evaluation split is empty, use a larger test fraction")
    return classification_metrics(torch.cat(preds), torch.cat(targets), num_classes, train_counts)
