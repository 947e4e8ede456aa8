"""The reference classifier: shapes, normalisation, the weighted loss, and that it learns toy data."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
from helpers.data import make_toy_dataset
from torch.utils.data import DataLoader

from ganaug.classify.losses import ClassifierLoss
from ganaug.classify.metrics import evaluate
from ganaug.classify.model import ImageClassifier, SmallCNN
from ganaug.errors import GanaugError
from ganaug.lightning import use


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 8, 8), (1, 28, 28), (3, 28, 28)])
def test_small_cnn_output_shape(shape):
    net = SmallCNN(shape[0], 5, width=4)
    assert net(torch.rand(2, *shape)).shape == (2, 5)


def test_uint8_is_normalised_inside():
    torch.manual_seed(0)
    model = ImageClassifier(1, 3, width=4).eval()
    u8 = torch.randint(0, 256, (4, 1, 8, 8), dtype=torch.uint8)
    expected = model(u8.float() / 127.5 - 1.0)
    torch.testing.assert_close(model(u8), expected)
    assert not torch.allclose(model(u8.float()), expected)


def test_class_weights_change_the_loss():
    torch.manual_seed(0)
    logits, labels = torch.randn(12, 3), torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    plain = ImageClassifier(1, 3).strategy_loss(logits, labels)
    torch.testing.assert_close(plain, torch.nn.functional.cross_entropy(logits, labels))
    weighted = ClassifierLoss(class_weights=[0.5, 1.0, 3.0])(logits, labels)
    assert not torch.isclose(weighted, plain)
    expected = torch.nn.functional.cross_entropy(logits, labels, weight=torch.tensor([0.5, 1.0, 3.0]))
    torch.testing.assert_close(weighted, expected)
    uniform = ClassifierLoss(class_weights=[2.0, 2.0, 2.0])(logits, labels)
    torch.testing.assert_close(uniform, plain)


def test_zero_synthetic_weight_ignores_synthetic_samples():
    torch.manual_seed(0)
    logits, labels = torch.randn(10, 3), torch.randint(0, 3, (10,))
    is_synthetic = torch.tensor([False, True] * 5)
    real_only = torch.nn.functional.cross_entropy(logits[~is_synthetic], labels[~is_synthetic])
    loss = ClassifierLoss(synthetic_weight=0.0)
    torch.testing.assert_close(loss(logits, labels, is_synthetic), real_only)
    full = ClassifierLoss(synthetic_weight=1.0)(logits, labels, is_synthetic)
    torch.testing.assert_close(full, torch.nn.functional.cross_entropy(logits, labels))
    half = ClassifierLoss(synthetic_weight=0.5)(logits, labels, is_synthetic)
    assert not torch.isclose(half, full) and not torch.isclose(half, real_only)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"loss": ClassifierLoss(class_weights=[1.0, 2.0])}, "class_weights has 2 entries but there are 3 classes"),
        ({"width": 0}, "width=0: must be >= 1"),
        ({"lr": float("nan")}, "lr=nan: must be > 0"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(GanaugError, match=match):
        ImageClassifier(1, 3, **kwargs)
    with pytest.raises(GanaugError, match="synthetic_weight=-1.0: must be >= 0"):
        ClassifierLoss(synthetic_weight=-1.0)


def test_learns_toy_data_and_logs_validation():
    pl.seed_everything(0, verbose=False)
    train = make_toy_dataset([30, 30, 30], seed=1)
    val, test = make_toy_dataset([8, 8, 8], seed=2), make_toy_dataset([20, 20, 20], seed=3)
    with use("pytorch_lightning"):  # made for this test's Trainer whatever other tests imported before it
        model = ImageClassifier(1, 3, width=8, lr=1e-2)
    trainer = pl.Trainer(
        max_epochs=3,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
    )
    trainer.fit(model, DataLoader(train, batch_size=16, shuffle=True), DataLoader(val, batch_size=32))
    assert {"val_loss", "val_balanced_accuracy", "train_loss"} <= set(trainer.callback_metrics)
    config = trainer.lr_scheduler_configs[0]
    assert config.interval == "step" and config.scheduler.total_steps == trainer.estimated_stepping_batches == 18
    logged = float(trainer.callback_metrics["val_balanced_accuracy"])
    assert logged == pytest.approx(evaluate(model, val, 3, train.counts())["balanced_accuracy"])
    metrics = evaluate(model, test, 3, train.counts())
    assert metrics["balanced_accuracy"] > 0.8  # chance is 1/3
    logits = trainer.predict(model, DataLoader(test, batch_size=32))
    assert torch.cat(logits).shape == (60, 3)
