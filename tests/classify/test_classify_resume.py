"""A classifier fit stopped part-way resumes after its last epoch and ends with the uninterrupted fit's weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from helpers.data import make_toy_dataset
from helpers.fakes import tagged_bank

from ganaug.classify.training import FitResult, fit_strategy
from ganaug.data.dataset import DatasetSplits
from ganaug.errors import GanaugError
from ganaug.gan.resume import checkpoint_path

QUIET = {"enable_progress_bar": False}


class EpochsSeen(pl.Callback):
    """Record the epochs a fit trains."""

    def __init__(self) -> None:
        self.epochs: list[int] = []

    def on_train_epoch_start(self, trainer: pl.Trainer, *args: object) -> None:
        self.epochs.append(trainer.current_epoch)


class Stopped(Exception):
    """Raised by `StopAtEpoch` to interrupt a fit, as a crash would."""


class StopAtEpoch(pl.Callback):
    """Raise `Stopped` halfway through epoch `epoch` (after the checkpoint of the epoch before)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, trainer: pl.Trainer, *args: object) -> None:
        if trainer.current_epoch == self.epoch and args[-1] == 1:
            raise Stopped


def _splits() -> DatasetSplits:
    return DatasetSplits(make_toy_dataset([40, 12, 8]), make_toy_dataset([4, 4, 4], seed=1),
                         make_toy_dataset([4, 4, 4], seed=2))  # fmt: skip


def _fit(strategy: str, tmp: Path, callbacks: list = (), **kwargs: object) -> FitResult:
    bank = tagged_bank(tmp / "bank", [0, 10, 10]) if "gan" in strategy else None
    return fit_strategy(strategy, _splits(), bank=bank, seed=4, epochs=4, batch_size=8,
                        model_kwargs={"width": 4}, trainer_kwargs={**QUIET, "callbacks": list(callbacks)},
                        checkpoint_dir=tmp / "checkpoints", **kwargs)  # fmt: skip


def _same_weights(a: FitResult, b: FitResult) -> bool:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# drw from epoch 2 (start 0.5 of 4): stopped in epoch 3, the fit resumes from a checkpoint taken after the switch.
AFTER_SWITCH = {"drw": {"start": 0.5}}


@pytest.mark.parametrize(("strategy", "stop", "settings"), [
    ("none", 2, None), ("classical", 1, None), ("classical", 3, None), ("gan+mixup+drw", 2, None),
    ("drw", 3, AFTER_SWITCH), ("gan+ldam+drw", 3, AFTER_SWITCH),
])  # fmt: skip
def test_a_resumed_fit_ends_with_the_uninterrupted_weights(
    tmp_path: Path, strategy: str, stop: int, settings: dict | None
) -> None:
    whole = _fit(strategy, tmp_path / "whole", part_settings=settings)
    with pytest.raises(Stopped):
        _fit(strategy, tmp_path, callbacks=[StopAtEpoch(stop)], part_settings=settings)
    assert checkpoint_path(tmp_path / "checkpoints").is_file()
    seen = EpochsSeen()
    resumed = _fit(strategy, tmp_path, callbacks=[seen], part_settings=settings)
    assert seen.epochs == list(range(stop, 4))  # resumed after the checkpoint before, not from the start
    assert resumed.model.trainer.current_epoch == whole.model.trainer.current_epoch == 4
    assert _same_weights(whole, resumed)
    assert not checkpoint_path(tmp_path / "checkpoints").exists()


def test_a_checkpoint_of_another_fit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Stopped):
        _fit("none", tmp_path, callbacks=[StopAtEpoch(2)])
    with pytest.raises(GanaugError, match="the checkpoint is of another fit .*delete it to train from the start"):
        _fit("classical", tmp_path, name="other/seed4")
