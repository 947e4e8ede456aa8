"""GANAugDataModule: adds a synthetic bank to the training set of any LightningDataModule."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch.utils.data import DataLoader, IterableDataset

from ganaug.data.raw import raw_view
from ganaug.errors import GanaugError, checked
from ganaug.lightning import Bindable, bound_getattr, is_lightning, namespace_for
from ganaug.synth.bank import SyntheticBank
from ganaug.synth.mixing import SHARE, SYNTHETIC_SHARE, MixedDataset, balanced_sampler

__all__ = ["GANAugDataModule"]

# DataLoader settings carried over from the wrapped train loader (besides batch_size and the sampler).
_LOADER_SETTINGS = (
    "num_workers",
    "collate_fn",
    "pin_memory",
    "drop_last",
    "timeout",
    "worker_init_fn",
    "multiprocessing_context",
    "persistent_workers",
)


class GANAugDataModule(Bindable):
    """Wrap a user's datamodule: its val/test/predict loaders untouched, its train set mixed with a bank.

    The train loader serves `MixedDataset(raw images of the wrapped train dataset, bank, synthetic_counts,
    transform)` with the wrapped train loader's batch size and worker settings; the raw images and, when
    `transform` is None, the dataset's own transform come from `ganaug.data.raw.raw_view` (so a dataset that
    applies ToTensor/Normalize itself works: real and generated images go through that transform alike).
    It is shuffled, or class-balanced with a seeded WeightedRandomSampler when `balanced`. `synthetic_share`
    below 1 caps the share of a class's draws that its synthetic samples take (a seeded weighted sampler
    too; see `mixing_weights`).
    It is a plain DataLoader, so Lightning's distributed sampler replacement (use_distributed_sampler)
    splits it across processes. It is a LightningDataModule of the wrapped one's namespace (`pytorch_lightning`
    or `lightning.pytorch`, see `ganaug.lightning`).
    """

    lightning_base = "LightningDataModule"
    binding_source = "datamodule"

    @checked(synthetic_share=SHARE)
    def __init__(
        self,
        datamodule: Any,
        bank: SyntheticBank | str | Path,
        synthetic_counts: Mapping[int, int] | None = None,
        transform: Any = None,
        balanced: bool = False,
        return_source: bool = False,
        seed: int = 0,
        synthetic_share: float = SYNTHETIC_SHARE,
    ) -> None:
        super().__init__()
        if not is_lightning(datamodule, "LightningDataModule"):
            raise GanaugError(
                f"datamodule must be a LightningDataModule (of lightning or pytorch_lightning), got "
                f"{type(datamodule).__name__}; wrap plain datasets with MixedDataset instead"
            )
        self.datamodule = datamodule
        self.bank = bank if isinstance(bank, SyntheticBank) else SyntheticBank.load(bank)
        self.synthetic_counts = None if synthetic_counts is None else dict(synthetic_counts)
        self.transform = transform
        self.balanced = bool(balanced)
        self.synthetic_share = float(synthetic_share)
        self.return_source = bool(return_source)
        self.seed = int(seed)
        self.prepare_data_per_node = datamodule.prepare_data_per_node
        self.train_dataset: MixedDataset | None = None
        self._wrapped: Any = None

    def prepare_data(self) -> None:
        self.datamodule.trainer = self.trainer
        self.datamodule.prepare_data()

    def setup(self, stage: str) -> None:
        self.datamodule.trainer = self.trainer
        self.datamodule.setup(stage)

    def teardown(self, stage: str) -> None:
        self.datamodule.teardown(stage)

    def state_dict(self) -> dict[str, Any]:
        return self.datamodule.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.datamodule.load_state_dict(state_dict)

    def on_exception(self, exception: BaseException) -> None:
        self.datamodule.on_exception(exception)

    def train_dataloader(self) -> DataLoader:
        """A loader over the wrapped train set plus synthetic samples, with the wrapped loader's settings."""
        loader = self.datamodule.train_dataloader()
        if not isinstance(loader, DataLoader) or isinstance(loader.dataset, IterableDataset):
            raise GanaugError(
                f"the wrapped train_dataloader() returned {type(loader).__name__}; GANAugDataModule needs "
                "one torch DataLoader over a map-style dataset"
            )
        if loader.batch_size is None:
            raise GanaugError(
                "the wrapped train loader uses a custom batch_sampler; give it a batch_size so the mixed set "
                "can be batched the same way"
            )
        if self._wrapped is not loader.dataset:
            view = raw_view(loader.dataset)
            self.train_dataset = MixedDataset(
                view.items,
                self.bank,
                self.synthetic_counts,
                transform=self.transform if self.transform is not None else view.transform,
                seed=self.seed,
                return_source=self.return_source,
            )
            self._wrapped = loader.dataset
        settings = {name: getattr(loader, name) for name in _LOADER_SETTINGS}
        if loader.num_workers > 0:
            settings["prefetch_factor"] = loader.prefetch_factor
        mixed = self.train_dataset
        sampler = None
        if self.balanced or self.synthetic_share < 1.0:
            sampler = balanced_sampler(
                mixed.labels,
                mixed.num_classes,
                self.seed,
                is_synthetic=mixed.is_synthetic,
                synthetic_share=self.synthetic_share,
                balanced=self.balanced,
            )
        return DataLoader(
            self.train_dataset,
            batch_size=loader.batch_size,
            shuffle=sampler is None,
            sampler=sampler,
            **settings,
        )

    def _wrapped_loader(self, name: str) -> Any:
        """The wrapped datamodule's loader `name`, or none (an empty list) when it does not define it."""
        base = namespace_for(self.datamodule).LightningDataModule
        if getattr(type(self.datamodule), name) is getattr(base, name):
            return []
        return getattr(self.datamodule, name)()

    def val_dataloader(self) -> Any:
        return self._wrapped_loader("val_dataloader")

    def test_dataloader(self) -> Any:
        return self._wrapped_loader("test_dataloader")

    def predict_dataloader(self) -> Any:
        return self._wrapped_loader("predict_dataloader")

    def __getattr__(self, name: str) -> Any:
        # Attributes the wrapped datamodule defines (num_classes, dims, ...) read through the wrapper.
        if name.startswith("__") or name == "datamodule" or "datamodule" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["datamodule"], name)


__getattr__ = bound_getattr(__name__)
