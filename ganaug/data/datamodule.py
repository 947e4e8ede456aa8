"""A user's own LightningDataModule as a data source: the raw images behind its train, val and test loaders.

    python -m ganaug data=datamodule data.datamodule._target_=my_project.data.MyDataModule \
        +data.datamodule.data_dir=/data/xray

Each loader's dataset is read through `raw_view`, so datasets that apply ToTensor/Normalize themselves
work as they are. A split the datamodule has no loader for is carved from its training split.
"""

from __future__ import annotations

from typing import Any

from ganaug.data.dataset import DatasetSplits, ImageDataset
from ganaug.data.raw import raw_view
from ganaug.data.sources import FRACTION, assemble_splits
from ganaug.errors import GanaugError, at_least, checked
from ganaug.lightning import is_lightning

SPLITS = ("train", "val", "test")


def _defines(datamodule: Any, method: str) -> bool:
    """Whether the datamodule's class (not Lightning's base class) defines `method`."""
    for cls in type(datamodule).__mro__:
        if cls.__name__ == "LightningDataModule":
            return False
        if method in vars(cls):
            return True
    return False


def datamodule_images(datamodule: Any, split: str, class_names: list[str] | None = None) -> ImageDataset | None:
    """The raw images of `datamodule`'s `split` loader ("train", "val" or "test"; the datamodule set up for
    it), named `class_names` when given; None where the datamodule defines no such loader."""
    method = f"{split}_dataloader"
    if not _defines(datamodule, method):
        if split == "train":
            name = type(datamodule).__name__
            raise GanaugError(f"{name} has no train_dataloader(); define one that returns a DataLoader")
        return None
    loader = getattr(datamodule, method)()
    dataset = getattr(loader, "dataset", None)
    if dataset is None:
        raise GanaugError(
            f"{type(datamodule).__name__}.{method}() returned {type(loader).__name__}; ganaug reads a torch "
            "DataLoader (one per split)"
        )
    return raw_view(dataset).images(class_names)


def training_images(datamodule: Any) -> ImageDataset:
    """The raw images of `datamodule`'s training split, after its prepare_data and setup("fit")."""
    if not is_lightning(datamodule, "LightningDataModule"):
        raise GanaugError(
            f"ganaug reads a LightningDataModule (of lightning or pytorch_lightning), got {type(datamodule).__name__}"
        )
    datamodule.prepare_data()
    datamodule.setup("fit")
    train = datamodule_images(datamodule, "train")
    assert train is not None
    return train


@checked(val_fraction=FRACTION, test_fraction=FRACTION, split_seed=at_least(0))
def load_datamodule(
    datamodule: Any, val_fraction: float = 0.1, test_fraction: float = 0.2, split_seed: int = 0
) -> DatasetSplits:
    """The splits of a LightningDataModule: its train loader's images, and its val and test loaders' where it
    defines them (named as the training split's classes). A missing split is carved from the training
    split, stratified and seeded by `split_seed`: `val_fraction` and `test_fraction` of it."""
    train = training_images(datamodule)
    val = datamodule_images(datamodule, "val", train.class_names)
    datamodule.setup("test")
    test = datamodule_images(datamodule, "test", train.class_names)
    return assemble_splits(train, val, test, val_fraction, test_fraction, split_seed)
