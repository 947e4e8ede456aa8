"""GANAugDataModule around a user's LightningDataModule: delegation, loader settings, real fits, DDP split."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from helpers.data import make_toy_dataset
from helpers.fakes import tagged_bank
from torch.utils.data import DataLoader, RandomSampler, WeightedRandomSampler
from torch.utils.data.dataloader import default_collate

from ganaug.data.dataset import ImageDataset
from ganaug.errors import GanaugError
from ganaug.synth.bank import SyntheticBank
from ganaug.synth.datamodule import GANAugDataModule
from ganaug.synth.mixing import MixedDataset

QUIET = {
    "logger": False,
    "enable_checkpointing": False,
    "enable_progress_bar": False,
    "enable_model_summary": False,
}


def tagged_real(counts: list[int]) -> ImageDataset:
    """Real images whose pixel (0,0,0) is their index and pixel (0,0,1) is 0 (bank images carry 1)."""
    ds = make_toy_dataset(counts)
    ds.images[:, 0, 0, 0] = torch.arange(len(ds), dtype=torch.uint8)
    ds.images[:, 0, 0, 1] = 0
    return ds


def collate(batch):
    return default_collate(batch)


class ToyDataModule(pl.LightningDataModule):
    """A user's datamodule: builds its loaders in setup, so the tests can check identity."""

    num_classes = 3

    def __init__(self, counts: list[int], batch_size: int = 8, drop_last: bool = False) -> None:
        super().__init__()
        self.counts, self.batch_size, self.drop_last = counts, batch_size, drop_last
        self.stages: list[str] = []

    def prepare_data(self) -> None:
        self.stages.append("prepare")

    def setup(self, stage: str) -> None:
        self.stages.append(stage)
        self.train = tagged_real(self.counts)
        self.val_loader = DataLoader(make_toy_dataset([4, 4, 4], seed=1), batch_size=5)
        self.test_loader = DataLoader(make_toy_dataset([2, 2, 2], seed=2), batch_size=5)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(
            self.train, batch_size=self.batch_size, shuffle=True, collate_fn=collate, drop_last=self.drop_last
        )

    def val_dataloader(self) -> DataLoader:
        return self.val_loader

    def test_dataloader(self) -> DataLoader:
        return self.test_loader

    def predict_dataloader(self) -> DataLoader:
        return self.test_loader


class Recorder(pl.LightningModule):
    """A tiny classifier that records every training sample's source tag (is it synthetic, which index)."""

    def __init__(self, out_dir: str | None = None) -> None:
        super().__init__()
        self.net = torch.nn.Linear(64, 3)
        self.out_dir = out_dir
        self.seen: list[tuple[int, int]] = []
        self.val_samples = self.test_samples = 0

    def training_step(self, batch, batch_idx):
        images, labels = batch[0], batch[1]
        self.seen += list(zip(images[:, 0, 0, 1].tolist(), images[:, 0, 0, 0].tolist(), strict=True))
        return torch.nn.functional.cross_entropy(self.net(images.flatten(1).float() / 255), labels)

    def validation_step(self, batch, batch_idx):
        self.val_samples += len(batch[1])

    def test_step(self, batch, batch_idx):
        self.test_samples += len(batch[1])

    def on_train_epoch_end(self) -> None:
        if self.out_dir is not None:
            Path(self.out_dir, f"rank{self.global_rank}.json").write_text(json.dumps(self.seen))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


@pytest.fixture
def bank(tmp_path: Path) -> SyntheticBank:
    return tagged_bank(tmp_path / "bank", [0, 8, 12])


def wrapped(counts: list[int] | None = None, kind: type[ToyDataModule] = ToyDataModule, **kwargs) -> ToyDataModule:
    dm = kind(counts or [10, 4, 2], **kwargs)
    dm.setup("fit")
    return dm


def test_eval_loaders_are_the_wrapped_ones(bank: SyntheticBank) -> None:
    inner = wrapped()
    dm = GANAugDataModule(inner, bank, {1: 2}, synthetic_share=1.0)
    assert dm.val_dataloader() is inner.val_loader
    assert dm.test_dataloader() is inner.test_loader
    assert dm.predict_dataloader() is inner.test_loader
    assert dm.num_classes == 3  # attributes of the wrapped datamodule read through


def test_train_loader_reuses_wrapped_settings(bank: SyntheticBank) -> None:
    inner = wrapped(batch_size=6, drop_last=True)
    loader = GANAugDataModule(inner, bank, {1: 2, 2: 12}, synthetic_share=1.0).train_dataloader()
    assert isinstance(loader.dataset, MixedDataset) and loader.dataset.real is inner.train
    assert loader.batch_size == 6 and loader.drop_last and loader.collate_fn is collate
    assert loader.num_workers == 0 and not loader.pin_memory
    assert isinstance(loader.sampler, RandomSampler)
    assert loader.dataset.counts() == [10, 6, 14]
    assert sum(len(batch[1]) for batch in loader) == 30  # 32 samples, drop_last with batches of 6


def test_balanced_sampler_draws_classes_equally(bank: SyntheticBank) -> None:
    loader = GANAugDataModule(wrapped(), bank, {2: 4}, balanced=True, seed=3, synthetic_share=1.0).train_dataloader()
    assert isinstance(loader.sampler, WeightedRandomSampler)
    labels = loader.dataset.labels
    weights = loader.sampler.weights
    per_class = [float(weights[labels == c].sum()) for c in range(3)]
    assert per_class == pytest.approx([1.0, 1.0, 1.0])
    again = GANAugDataModule(wrapped(), bank, {2: 4}, balanced=True, seed=3, synthetic_share=1.0).train_dataloader()
    assert list(loader.sampler) == list(again.sampler)


@pytest.mark.parametrize("balanced", [False, True])
def test_synthetic_share_caps_generated_draws(bank: SyntheticBank, balanced: bool) -> None:
    loader = GANAugDataModule(wrapped(), bank, {2: 12}, balanced=balanced, synthetic_share=0.25).train_dataloader()
    assert isinstance(loader.sampler, WeightedRandomSampler)
    mixed, weights = loader.dataset, loader.sampler.weights
    in_class = mixed.labels == 2
    assert float(weights[in_class & mixed.is_synthetic].sum() / weights[in_class].sum()) == pytest.approx(0.25)
    class_mass = float(weights[in_class].sum() / weights.sum())
    assert class_mass == pytest.approx(1 / 3 if balanced else in_class.double().mean().item())
    with pytest.raises(GanaugError, match="synthetic_share=1.5: must lie in"):
        GANAugDataModule(wrapped(), bank, {2: 12}, synthetic_share=1.5)


def test_mixed_set_is_built_once_per_train_set(bank: SyntheticBank) -> None:
    dm = GANAugDataModule(wrapped(), bank, {1: 2}, synthetic_share=1.0)
    first = dm.train_dataloader().dataset
    assert dm.train_dataloader().dataset is first
    dm.datamodule.setup("fit")  # a fresh train set (e.g. reload_dataloaders_every_n_epochs)
    assert dm.train_dataloader().dataset is not first


def test_bank_by_path_and_source_tags(tmp_path: Path, bank: SyntheticBank) -> None:
    dm = GANAugDataModule(wrapped(), str(bank.directory), {2: 3}, return_source=True, synthetic_share=1.0)
    assert isinstance(dm.bank.images, np.memmap)
    images, labels, synthetic = next(iter(DataLoader(dm.train_dataloader().dataset, batch_size=100)))
    assert synthetic.tolist() == [False] * 16 + [True] * 3
    assert torch.equal(images[:, 0, 0, 1].bool(), synthetic)


def test_trainer_fit_over_the_mixed_set(bank: SyntheticBank) -> None:
    inner = ToyDataModule([10, 4, 2])
    dm = GANAugDataModule(inner, bank, {1: 4, 2: 6}, synthetic_share=1.0)
    model = Recorder()
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", num_sanity_val_steps=0, **QUIET)
    trainer.fit(model, datamodule=dm)
    assert inner.stages == ["prepare", "fit"]
    assert inner.trainer is trainer
    assert model.val_samples == 12  # the wrapped validation loader, untouched
    real = sorted(i for tag, i in model.seen if tag == 0)
    synthetic = sorted(i for tag, i in model.seen if tag == 1)
    assert real == list(range(16))
    assert sorted(synthetic) == sorted(dm.train_dataset.synthetic_indices.tolist())
    trainer.test(model, datamodule=dm, verbose=False)
    assert inner.stages[-1] == "test" and model.test_samples == 6


def test_ddp_ranks_split_the_mixed_set(tmp_path: Path, bank: SyntheticBank) -> None:
    dm = GANAugDataModule(ToyDataModule([10, 4, 2], batch_size=4), bank, {1: 4, 2: 6}, synthetic_share=1.0)
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=2, strategy="ddp_spawn", limit_val_batches=0, **QUIET)
    trainer.fit(Recorder(out_dir=str(tmp_path)), datamodule=dm)
    seen = [[tuple(x) for x in json.loads((tmp_path / f"rank{r}.json").read_text())] for r in (0, 1)]
    assert [len(s) for s in seen] == [13, 13]  # 26 mixed samples over 2 ranks
    assert not set(seen[0]) & set(seen[1])
    real = {(0, i) for i in range(16)}
    chosen = MixedDataset(tagged_real([10, 4, 2]), bank, {1: 4, 2: 6}).synthetic_indices  # same seed
    synthetic = {(1, int(j)) for j in chosen}
    assert set(seen[0]) | set(seen[1]) == real | synthetic


def test_distributed_sampler_replacement_keeps_balanced_sampling(bank: SyntheticBank) -> None:
    from lightning_fabric.utilities.distributed import DistributedSamplerWrapper
    from pytorch_lightning.trainer.states import RunningStage

    trainer = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp_spawn", **QUIET)
    loader = GANAugDataModule(wrapped(), bank, {2: 5}, balanced=True, synthetic_share=1.0).train_dataloader()
    replaced = trainer._data_connector._prepare_dataloader(loader, shuffle=True, mode=RunningStage.TRAINING)
    assert isinstance(replaced.sampler, DistributedSamplerWrapper)
    assert len(replaced.sampler) == math.ceil(len(loader.dataset) / 2)
    assert replaced.dataset is loader.dataset and replaced.collate_fn is collate


def test_rejects_non_datamodule(bank: SyntheticBank) -> None:
    with pytest.raises(GanaugError, match=r"LightningDataModule \(of lightning or pytorch_lightning\), got DataLoader"):
        GANAugDataModule(DataLoader(make_toy_dataset([2, 2])), bank)


def test_rejects_missing_bank(tmp_path: Path) -> None:
    with pytest.raises(GanaugError, match="folder not found"):
        GANAugDataModule(wrapped(), tmp_path / "none")


def test_rejects_unusable_train_loaders(bank: SyntheticBank) -> None:
    class Lists(ToyDataModule):
        def train_dataloader(self):
            return [super().train_dataloader()]

    with pytest.raises(GanaugError, match="returned list; GANAugDataModule needs one torch DataLoader"):
        GANAugDataModule(wrapped(kind=Lists), bank).train_dataloader()

    class Batched(ToyDataModule):
        def train_dataloader(self):
            sampler = torch.utils.data.BatchSampler(RandomSampler(self.train), batch_size=2, drop_last=False)
            return DataLoader(self.train, batch_sampler=sampler)

    with pytest.raises(GanaugError, match="uses a custom batch_sampler; give it a batch_size"):
        GANAugDataModule(wrapped(kind=Batched), bank).train_dataloader()

    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter([])

    class Iterable(ToyDataModule):
        def train_dataloader(self):
            return DataLoader(Stream(), batch_size=2)

    with pytest.raises(GanaugError, match="returned DataLoader; GANAugDataModule needs one torch DataLoader"):
        GANAugDataModule(wrapped(kind=Iterable), bank).train_dataloader()


def test_bad_counts_surface_at_train_loader(bank: SyntheticBank) -> None:
    with pytest.raises(GanaugError, match=r"asks for 9 samples of class 1 \('class1'\) but the bank"):
        GANAugDataModule(wrapped(), bank, {1: 9}).train_dataloader()


def test_worker_settings_are_copied(bank: SyntheticBank) -> None:
    class Workers(ToyDataModule):
        def train_dataloader(self):
            return DataLoader(self.train, batch_size=4, num_workers=1, persistent_workers=True, prefetch_factor=3)

    loader = GANAugDataModule(wrapped(kind=Workers), bank, {2: 4}, synthetic_share=1.0).train_dataloader()
    assert (loader.num_workers, loader.persistent_workers, loader.prefetch_factor) == (1, True, 3)
    assert sum(len(batch[1]) for batch in loader) == 20  # the bank travels to the worker and is read there
