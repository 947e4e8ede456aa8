"""Metrics on hand-computed answers, checked against scikit-learn where it defines the same number."""

from __future__ import annotations

import pytest
import torch
from sklearn.metrics import balanced_accuracy_score, f1_score

from ganaug.classify.metrics import BalancedAccuracy, classification_metrics, evaluate
from ganaug.errors import GanaugError

KEYS = {
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "per_class_recall",
    "rarest_class",
    "rarest_class_recall",
}


def test_perfect_predictions_score_one():
    targets = torch.tensor([0, 1, 2, 2, 1, 0, 2])
    m = classification_metrics(targets.clone(), targets, 3, [10, 5, 2])
    assert set(m) == KEYS
    assert m["accuracy"] == m["balanced_accuracy"] == m["macro_f1"] == 1.0
    assert m["per_class_recall"] == [1.0, 1.0, 1.0]
    assert m["rarest_class"] == 2 and m["rarest_class_recall"] == 1.0


def test_hand_computed_confusion():
    targets = torch.tensor([0, 0, 0, 0, 0, 1, 1, 2])
    preds = torch.tensor([0, 0, 0, 0, 1, 1, 0, 0])
    m = classification_metrics(preds, targets, 3, [50, 20, 3])
    assert m["accuracy"] == pytest.approx(5 / 8)
    assert m["per_class_recall"] == pytest.approx([4 / 5, 1 / 2, 0.0])
    assert m["balanced_accuracy"] == pytest.approx((4 / 5 + 1 / 2 + 0.0) / 3)
    # class 0: tp 4, fp 2, fn 1; class 1: tp 1, fp 1, fn 1; class 2: tp 0
    assert m["macro_f1"] == pytest.approx((8 / 11 + 0.5 + 0.0) / 3)
    assert m["rarest_class"] == 2 and m["rarest_class_recall"] == 0.0
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(targets, preds))
    assert m["macro_f1"] == pytest.approx(f1_score(targets, preds, average="macro"))
    assert all(isinstance(v, float) for v in m["per_class_recall"])


def test_logits_are_reduced_to_labels():
    targets = torch.tensor([0, 1, 1, 2])
    logits = torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 2]), 3).float()
    assert classification_metrics(logits, targets, 3, [1, 1, 1]) == classification_metrics(
        torch.tensor([0, 1, 2, 2]), targets, 3, [1, 1, 1]
    )


def test_rarest_class_by_train_counts_ties_lowest_id():
    targets = torch.tensor([0, 1, 2, 3])
    preds = torch.tensor([0, 0, 2, 3])
    m = classification_metrics(preds, targets, 4, [9, 3, 3, 7])
    assert m["rarest_class"] == 1 and m["rarest_class_recall"] == 0.0
    assert classification_metrics(preds, targets, 4, [9, 3, 3, 0])["rarest_class"] == 3


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_class_absent_from_test():
    targets = torch.tensor([0, 0, 1, 1, 2, 2])
    preds = torch.tensor([0, 3, 1, 1, 2, 0])  # class 3 predicted once, never a target
    m = classification_metrics(preds, targets, 4, [10, 10, 10, 1])
    assert m["per_class_recall"] == [0.5, 1.0, 0.5, None]
    assert m["balanced_accuracy"] == pytest.approx(2 / 3)
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(targets, preds))
    assert m["macro_f1"] == pytest.approx(f1_score(targets, preds, average="macro"))
    assert m["rarest_class"] == 3 and m["rarest_class_recall"] is None


def test_balanced_accuracy_metric_accumulates_batches():
    metric = BalancedAccuracy(3)
    metric.update(torch.tensor([0, 0]), torch.tensor([0, 1]))
    metric.update(torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), torch.tensor([1, 0]))
    assert float(metric.compute()) == pytest.approx((1 / 2 + 1 / 2) / 2)


@pytest.mark.parametrize(
    ("preds", "targets", "counts", "match"),
    [
        ([0, 1], [0, 1], [1, 1], "train_counts has 2 entries but there are 3 classes"),
        ([], [], [1, 1, 1], "evaluation split is empty"),
        ([0, 1, 1], [0, 1], [1, 1, 1], "3 predictions but 2 targets"),
        ([0, 1], [0, 5], [1, 1, 1], "targets must lie in 0..2"),
    ],
)
def test_bad_input(preds, targets, counts, match):
    with pytest.raises(GanaugError, match=match):
        classification_metrics(torch.tensor(preds), torch.tensor(targets), 3, counts)


class _Oracle(torch.nn.Module):
    """Predicts class = brightest row band of a toy image (3 bands over 8 rows)."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.float().mean(dim=(1, 3))
        return torch.stack([rows[:, 0:2].mean(1), rows[:, 2:4].mean(1), rows[:, 5:7].mean(1)], dim=1)


def test_evaluate_scores_dataset_and_restores_mode(toy_dataset):
    model = _Oracle()
    model.train()
    m = evaluate(model, toy_dataset, 3, toy_dataset.counts(), batch_size=16)
    assert m["balanced_accuracy"] == 1.0 and m["rarest_class"] == 2
    assert model.training
    with pytest.raises(GanaugError, match="evaluation split is empty"):
        evaluate(model, toy_dataset.subset([]), 3, toy_dataset.counts())
