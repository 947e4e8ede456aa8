"""A user's LightningDataModule (either namespace) as a data source: the raw images behind its loaders."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.data import NormalisedDigits
from torch.utils.data import DataLoader

from ganaug.data.datamodule import load_datamodule
from ganaug.errors import GanaugError
from ganaug.lightning import use


@pytest.fixture(params=["pytorch_lightning", "lightning"])
def ns(request):
    pytest.importorskip(request.param)
    with use(request.param) as namespace:
        yield namespace


def _datamodule(ns, with_val: bool):
    class Users(ns.LightningDataModule):
        def setup(self, stage: str) -> None:
            self.train_set = NormalisedDigits([40, 20, 10], seed=0, size=8)
            self.val_set = NormalisedDigits([3, 3, 3], seed=2, size=8)

        def train_dataloader(self) -> DataLoader:
            return DataLoader(self.train_set, batch_size=8, shuffle=True)

    if with_val:
        Users.val_dataloader = lambda self: DataLoader(self.val_set, batch_size=8)
    return Users()


def test_the_loaders_raw_images_become_the_splits_and_a_missing_split_is_carved(ns) -> None:
    dm = _datamodule(ns, with_val=True)
    splits = load_datamodule(dm, test_fraction=0.2, split_seed=1)
    assert splits.class_names == ["class0", "class1", "class2"]
    assert splits.val.counts() == [3, 3, 3]  # its own val loader's
    assert splits.train.counts() == [32, 16, 8] and splits.test.counts() == [8, 4, 2]  # test carved from train
    assert splits.train.images.dtype == torch.uint8 and splits.train.images.shape[1:] == (1, 8, 8)
    every = {bytes(image) for image in dm.train_set.data}
    assert all(bytes(image[0].numpy()) in every for image in splits.train.images)  # raw pixels, not normalised


def test_the_datamodule_loaders_test_split_is_used_as_it_is() -> None:
    pytest.importorskip("lightning")
    from helpers.user_data import ToyDataModule  # imports lightning: not at collection, where it would become
    # every test's default namespace

    dm = ToyDataModule(size=8)
    splits = load_datamodule(dm, val_fraction=0.1)
    assert splits.test.counts() == [20] * 6 and len(splits.train) + len(splits.val) == 540
    assert np.array_equal(splits.test.images[:, 0].numpy(), dm.test_set.data)


def test_what_it_cannot_read_is_one_line_naming_the_fix(ns) -> None:
    class NoTrain(ns.LightningDataModule):
        pass

    class Listed(ns.LightningDataModule):
        def train_dataloader(self):
            return [DataLoader(NormalisedDigits([4, 4], seed=0, size=8))]

    with pytest.raises(GanaugError, match="NoTrain has no train_dataloader\\(\\); define one"):
        load_datamodule(NoTrain())
    with pytest.raises(GanaugError, match=r"Listed.train_dataloader\(\) returned list; ganaug reads a torch"):
        load_datamodule(Listed())
    with pytest.raises(GanaugError, match="ganaug reads a LightningDataModule .* got DataLoader"):
        load_datamodule(DataLoader(NormalisedDigits([4, 4], seed=0, size=8)))
