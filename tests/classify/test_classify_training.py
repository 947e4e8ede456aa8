"""One classifier fit: its Trainer's defaults."""

from __future__ import annotations

import csv
import functools
import warnings
from pathlib import Path

import pytorch_lightning as pl
from helpers.data import make_toy_dataset

from ganaug.classify.training import fit_strategy
from ganaug.data.dataset import DatasetSplits


def test_an_epoch_shorter_than_the_logging_interval_logs_once_an_epoch_without_a_warning(tmp_path: Path) -> None:
    toy = make_toy_dataset([20, 10, 6])  # 36 images: 5 batches of 8
    splits = DatasetSplits(toy, make_toy_dataset([5, 5, 5], seed=2), make_toy_dataset([5, 5, 5], seed=3))
    logger = functools.partial(pl.loggers.CSVLogger, tmp_path / "logs")
    settings = {"accelerator": "cpu", "enable_progress_bar": False, "logger": logger, "log_every_n_steps": 10}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_strategy("none", splits, epochs=2, batch_size=8, model_kwargs={"width": 4}, trainer_kwargs=settings)
    assert not [w for w in caught if "logging interval" in str(w.message)]
    assert fit.model.trainer.log_every_n_steps == 5
    with open(tmp_path / "logs" / "none" / "seed0" / "version_0" / "metrics.csv") as f:
        steps = [row["step"] for row in csv.DictReader(f) if row.get("train_loss")]
    assert steps == ["4", "9"]  # the training curve once an epoch (steps count from 0)
