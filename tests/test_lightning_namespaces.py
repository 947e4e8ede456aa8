"""ganaug under both Lightning namespaces: `import lightning as L` (as Lightning's docs write it) and
`import pytorch_lightning as pl` alike, for the modules, datamodules, callbacks and Trainers it takes or gives."""

from __future__ import annotations

import functools
import logging
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers.data import make_toy_dataset
from torch import nn
from torch.utils.data import DataLoader, Dataset

import ganaug
from ganaug import ConditionalGAN, GANAugDataModule, ImageClassifier, augment
from ganaug.classify.model import check_classifier, unmet_needs
from ganaug.classify.training import fit_strategy, train_and_evaluate
from ganaug.data.dataset import DatasetSplits
from ganaug.data.raw import raw_view
from ganaug.errors import GanaugError
from ganaug.gan.training import train_gan
from ganaug.lightning import is_lightning, namespace_of, use
from ganaug.synth.bank import SyntheticBank

TINY = {"generator_kwargs": {"latent_dim": 8, "base_channels": 4}, "discriminator_kwargs": {"base_channels": 4}}
QUIET = {"accelerator": "cpu", "enable_progress_bar": False, "logger": False, "enable_checkpointing": False,
         "enable_model_summary": False, "num_sanity_val_steps": 0}  # fmt: skip


@pytest.fixture(params=["pytorch_lightning", "lightning"])
def ns(request):
    """The Lightning namespace a test runs in (ganaug's default for new objects, for the test)."""
    pytest.importorskip(request.param)
    with use(request.param) as namespace:
        yield namespace


class ToTensorNormalised(Dataset):
    """A torchvision-style dataset (`data`, `targets`, `classes`) that applies its own ToTensor/Normalize."""

    def __init__(self, counts: list[int]) -> None:
        toy = make_toy_dataset(counts)
        self.data = toy.images[:, 0].numpy()  # (N, H, W) uint8, as torchvision's MNIST keeps it
        self.targets = toy.labels.tolist()
        self.classes = toy.class_names
        self.transform = lambda image: (torch.from_numpy(np.asarray(image)).float()[None] / 255 - 0.5) / 0.5

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int):
        from PIL import Image

        return self.transform(Image.fromarray(self.data[index])), self.targets[index]


def _datamodule(namespace, dataset: Dataset):
    class UsersDataModule(namespace.LightningDataModule):
        def __init__(self) -> None:
            super().__init__()
            self.train_set = dataset

        def train_dataloader(self) -> DataLoader:
            return DataLoader(self.train_set, batch_size=16, shuffle=True)

    return UsersDataModule()


def _users_module(namespace):
    class UsersModel(namespace.LightningModule):
        """A user's classifier: forward gives logits, its own optimiser; no in_channels in its signature."""

        def __init__(self, num_classes: int, hidden: int = 16) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            assert images.dtype == torch.float32 and images.min() >= -1.0  # ganaug normalises its input
            return self.net(images)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-2)

    return UsersModel


def test_the_module_fits_with_the_namespaces_own_trainer(ns) -> None:
    gan = ConditionalGAN((1, 8, 8), 3, [0, 1, 2], **TINY)
    assert isinstance(gan, ns.LightningModule) and isinstance(gan, ConditionalGAN)
    assert isinstance(gan.monitor, ns.Callback)
    loader = DataLoader(make_toy_dataset([10, 10, 10]), batch_size=8, drop_last=True)
    ns.Trainer(max_steps=4, **QUIET).fit(gan, loader)
    assert gan.generator_steps == 2
    again = pickle.loads(pickle.dumps(ImageClassifier(1, 3, width=4)))
    assert isinstance(again, ns.LightningModule)


def test_train_gan_and_the_classifier_run_in_the_namespace(ns, tmp_path) -> None:
    toy = make_toy_dataset([12, 12, 12])
    gan = train_gan(toy, [0, 1, 2], steps=2, batch_size=8, module_kwargs=TINY, trainer_kwargs=QUIET,
                    sample_dir=tmp_path / "samples", log_dir=tmp_path / "logs")  # fmt: skip
    assert namespace_of(gan) is ns and (tmp_path / "samples" / "final.png").is_file()
    splits = DatasetSplits(toy, make_toy_dataset([4, 4, 4], seed=2), make_toy_dataset([4, 4, 4], seed=3))
    fit = fit_strategy("classical", splits, epochs=1, batch_size=8, model_kwargs={"width": 4}, trainer_kwargs=QUIET)
    assert namespace_of(fit.model) is ns


def test_the_wrapper_is_of_the_wrapped_datamodules_namespace(ns, tmp_path) -> None:
    fake = make_toy_dataset([0, 0, 8], seed=5)
    bank = SyntheticBank.from_arrays(fake.images, fake.labels, fake.class_names, tmp_path / "bank")
    dm = _datamodule(ns, make_toy_dataset([20, 10, 4]))
    wrapped = GANAugDataModule(dm, bank, {2: 8})
    assert isinstance(wrapped, ns.LightningDataModule)
    model = ImageClassifier(1, 3, width=4)
    ns.Trainer(max_epochs=1, **QUIET).fit(model, datamodule=wrapped)
    assert len(wrapped.train_dataset) == 34 + 8


@pytest.mark.parametrize("strategy", ["la+classical", "mixup+drw", "gan+classical"])
def test_a_users_own_module_is_trained_with_every_strategy(ns, tmp_path, strategy: str) -> None:
    toy = make_toy_dataset([30, 15, 6], seed=1)
    splits = DatasetSplits(toy, make_toy_dataset([5, 5, 5], seed=2), make_toy_dataset([8, 8, 8], seed=3))
    fake = make_toy_dataset([0, 0, 20], seed=5)
    bank = SyntheticBank.from_arrays(fake.images, fake.labels, fake.class_names, tmp_path / "bank")
    users = _users_module(ns)
    fit = fit_strategy(strategy, splits, bank=bank, synthetic_counts={2: 10}, epochs=2, batch_size=16, model=users,
                       model_kwargs={"hidden": 8}, trainer_kwargs=QUIET)  # fmt: skip
    assert isinstance(fit.model, users) and isinstance(fit.model, ns.LightningModule)
    row = fit.row(splits)
    assert row["strategy"] == strategy and 0.0 <= row["balanced_accuracy"] <= 1.0
    with pytest.raises(GanaugError, match=r"needs UsersModel\(head='cosine'\)"):
        train_and_evaluate("ldam+drw", splits, epochs=1, model=users, trainer_kwargs=QUIET)
    assert row["classifier"].endswith("UsersModel") and row["val_balanced_accuracy"] is not None


def test_loggers_and_callbacks_given_as_factories_are_made_per_fit_in_its_namespace(ns, tmp_path) -> None:
    import pytorch_lightning as pl  # the factories' namespace; the fits' is `ns`

    toy = make_toy_dataset([20, 10, 6])
    splits = DatasetSplits(toy, make_toy_dataset([5, 5, 5], seed=2), make_toy_dataset([5, 5, 5], seed=3))
    made = []
    settings = {**QUIET, "logger": functools.partial(pl.loggers.CSVLogger, tmp_path / "logs"),
                "callbacks": [functools.partial(pl.callbacks.EarlyStopping, "val_balanced_accuracy", mode="max")]}
    for seed in (0, 1):
        fit = fit_strategy("none", splits, seed=seed, epochs=2, batch_size=8, model_kwargs={"width": 4},
                           trainer_kwargs=settings)  # fmt: skip
        (stopper,) = [c for c in fit.model.trainer.callbacks if is_lightning(c, "callbacks.EarlyStopping")]
        made.append((stopper, fit.model.trainer.logger))
    (a, log_a), (b, log_b) = made
    assert a is not b and namespace_of(a) is ns and namespace_of(log_a) is ns
    assert (tmp_path / "logs" / "none" / "seed0" / "version_0" / "metrics.csv").is_file()
    assert (tmp_path / "logs" / "none" / "seed1" / "version_0" / "metrics.csv").is_file()


def test_the_classifier_protocol_names_what_is_wrong(ns) -> None:
    users = _users_module(ns)
    assert check_classifier(users, {"hidden": 4}) is users and unmet_needs(users, {"head": "cosine"}) == ["head"]
    assert unmet_needs(ImageClassifier, {"head": "cosine"}) == []
    with pytest.raises(GanaugError, match="not a LightningModule class"):
        check_classifier(nn.Linear)
    with pytest.raises(GanaugError, match="takes no depth"):
        check_classifier(users, {"depth": 3})

    class NoClasses(ns.LightningModule):
        def __init__(self, hidden: int = 3) -> None:
            super().__init__()

    with pytest.raises(GanaugError, match="does not take num_classes"):
        check_classifier(NoClasses)


def test_augment_adds_a_gan_in_one_call_and_reuses_it(ns, tmp_path, caplog) -> None:
    dm = _datamodule(ns, ToTensorNormalised([40, 20, 6]))
    caplog.set_level(logging.INFO, logger="ganaug")
    wrapped = augment(dm, cache_dir=tmp_path / "cache", steps=6, batch_size=16, module_kwargs=TINY,
                      trainer_kwargs=QUIET, fill_fraction=0.5)  # fmt: skip
    done = wrapped.augmentation
    assert isinstance(wrapped, ns.LightningDataModule) and done.minority == [2]  # below half the largest
    assert done.synthetic_counts == {2: 14} and (done.gan_dir / "generator" / "generator.safetensors").is_file()
    images, labels = next(iter(wrapped.train_dataloader()))
    assert images.dtype == torch.float32 and images.min() >= -1.0  # the dataset's own transform, on both kinds
    assert len(wrapped.train_dataset) == 66 + 14
    assert "minority classes ['class2']" in caplog.text and "gan: building" in caplog.text
    caplog.clear()
    again = augment(dm, cache_dir=tmp_path / "cache", steps=6, batch_size=16, module_kwargs=TINY,
                    trainer_kwargs=QUIET, fill_fraction=0.5)  # fmt: skip
    assert again.augmentation.gan_dir == done.gan_dir and "gan: reusing" in caplog.text
    with pytest.raises(GanaugError, match="ganaug reads a LightningDataModule"):
        augment(DataLoader(make_toy_dataset([2, 2])), cache_dir=tmp_path)


def test_raw_view_reads_the_documented_forms_and_names_the_fix() -> None:
    torchvision_like = raw_view(ToTensorNormalised([4, 2]))
    assert torchvision_like.transform is not None and torchvision_like.class_names == ["class0", "class1"]
    assert torchvision_like.images().images.shape == (6, 1, 8, 8)

    class WithRaw(ToTensorNormalised):
        def raw(self, index: int):
            return torch.from_numpy(self.data[index])[None], self.targets[index]

    assert torch.equal(raw_view(WithRaw([3, 3])).images().images, raw_view(ToTensorNormalised([3, 3])).images().images)

    class Floats(Dataset):
        def __len__(self) -> int:
            return 2

        def __getitem__(self, index: int):
            return torch.zeros(1, 8, 8), 0

    with pytest.raises(GanaugError, match="yields torch.float32 tensors .* give the dataset a raw\\(index\\)"):
        raw_view(Floats())


def test_the_default_namespace_follows_what_the_program_imported() -> None:
    code = "import ganaug, sys; print(type(ganaug.ImageClassifier(1, 2, width=2)).__mro__[-3].__module__)"
    plain = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    code_l = "import lightning; " + code
    with_l = subprocess.run([sys.executable, "-c", code_l], capture_output=True, text=True, check=True).stdout
    assert plain.startswith("pytorch_lightning") and with_l.startswith("lightning")
    assert ganaug.lightning.default_namespace().__name__ in ("pytorch_lightning", "lightning.pytorch")
