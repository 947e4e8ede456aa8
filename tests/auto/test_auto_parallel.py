"""auto's candidates trained in worker processes: the same scores, decision and final model as one at a time."""

from __future__ import annotations

import pytest
import torch
from helpers.data import make_toy_dataset

from ganaug.auto.parallel import FitPool, threads_per_worker
from ganaug.auto.search import AutoSettings, GatedBanks, auto_search
from ganaug.data.dataset import DatasetSplits
from ganaug.errors import GanaugError
from ganaug.synth.bank import SyntheticBank

TRAIN_KW = {
    "batch_size": 32,
    "model_kwargs": {"width": 4},
    "trainer_kwargs": {"accelerator": "cpu", "enable_progress_bar": False, "num_sanity_val_steps": 0},
}


def _pow(x: int, y: int) -> int:
    return x**y


def test_the_pool_gives_results_in_the_order_of_the_calls() -> None:
    calls = [(2, 3), (3, 2), (5, 1), (1, 7)]
    with FitPool(1) as inline:
        assert list(inline.map(_pow, calls)) == [8, 9, 5, 1]
    with FitPool(2) as pool:
        assert list(pool.map(_pow, calls)) == [8, 9, 5, 1]
    assert threads_per_worker(2, 5) == 2 and threads_per_worker(4, 2) == 1
    with pytest.raises(GanaugError, match="workers=0: must be >= 1"):
        FitPool(0)


def test_workers_decide_as_one_fit_at_a_time(tmp_path) -> None:
    train = make_toy_dataset([40, 20, 8, 6])
    fake = make_toy_dataset([0, 0, 30, 30], seed=1)
    bank = SyntheticBank.from_arrays(fake.images.numpy(), fake.labels.numpy(), train.class_names, tmp_path / "bank")
    splits = DatasetSplits(train, make_toy_dataset([6, 6, 6, 6], seed=2), make_toy_dataset([5, 5, 5, 5], seed=3))
    banks = {None: GatedBanks(bank)}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the workers' share of a 2-core machine: the fits then do the same arithmetic
    try:
        results = {}
        for workers in (1, 2):
            settings = AutoSettings(baselines=("none", "classical"), rungs=(0.5, 1.0), workers=workers, seed=4)
            results[workers] = auto_search(splits, banks, {2: 30, 3: 30}, settings=settings, epochs=2, seed=4,
                                           **TRAIN_KW)  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    one, two = results[1], results[2]
    assert [r.to_json() for r in two.rungs] == [r.to_json() for r in one.rungs]
    assert two.decision.verdict == one.decision.verdict and two.trainings == one.trainings
    assert two.final is not None and one.final is not None
    assert two.final.row(splits)["balanced_accuracy"] == one.final.row(splits)["balanced_accuracy"]
