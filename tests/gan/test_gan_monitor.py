"""Training monitor (divergence, saturation, collapse) and the CSV training curves."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
import pytorch_lightning as pl
import torch

from ganaug.data.dataset import ImageDataset
from ganaug.errors import GanaugError
from ganaug.gan.losses import HingeLoss
from ganaug.gan.monitor import GanStopped, TrainingMonitor, mean_pairwise_distance
from ganaug.gan.training import train_gan

TINY = {"generator_kwargs": {"latent_dim": 8, "base_channels": 8}, "discriminator_kwargs": {"base_channels": 8}}
QUIET = {"enable_progress_bar": False}


@pytest.fixture(autouse=True)
def _quiet() -> None:
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)


def test_mean_pairwise_distance_is_an_rms_pixel_gap() -> None:
    x = torch.zeros(2, 1, 4, 4)
    x[1] = 2.0
    assert mean_pairwise_distance(x) == pytest.approx(2.0)
    assert mean_pairwise_distance(torch.ones(5, 3, 4, 4)) == 0.0
    assert mean_pairwise_distance(torch.ones(1, 3, 4, 4)) == 0.0


class _FakeGAN:
    """Stands in for a ConditionalGAN: class 0's samples are copies, class 1's are diverse."""

    trained_classes = [0, 1]

    def __init__(self) -> None:
        self.failure: str | None = None
        self.step_stats: dict[str, torch.Tensor] = {}
        self.generator_steps = 0
        self.hparams = SimpleNamespace(d_steps=1)

    def sample(self, labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        diverse = torch.randint(0, 256, (len(labels), 1, 8, 8), generator=generator, dtype=torch.uint8)
        copies = torch.full((len(labels), 1, 8, 8), 128, dtype=torch.uint8)
        copies[:, :, 2:4] = 250
        return torch.where((labels == 0)[:, None, None, None], copies, diverse)


def _trainer() -> SimpleNamespace:
    return SimpleNamespace(should_stop=False, train_dataloader=None)


def test_collapse_is_warned_then_stops_after_patience(toy_dataset: ImageDataset, caplog) -> None:
    monitor = TrainingMonitor(collapse_patience=2, collapse_samples=8)
    monitor.reference = monitor.real_diversity(toy_dataset.images, toy_dataset.labels, [0, 1])
    assert set(monitor.reference) == {0, 1} and min(monitor.reference.values()) > 0
    gan, trainer = _FakeGAN(), _trainer()
    with caplog.at_level(logging.WARNING, logger="ganaug"):
        monitor.check_collapse(trainer, gan, step=250)
    assert "samples of class '0' collapsed to near-copies at generator step 250" in caplog.text
    assert "class '1'" not in caplog.text and "check 1 of 2" in caplog.text
    assert not trainer.should_stop and gan.failure is None
    assert monitor.diversity[0] == 0.0 and monitor.diversity[1] / monitor.reference[1] > 0.5
    monitor.check_collapse(trainer, gan, step=500)
    assert trainer.should_stop
    assert gan.failure.startswith("GAN samples of class '0' collapsed to near-copies at generator step 500")
    assert "for 2 checks in a row; try lower lr_g/lr_d" in gan.failure and "\n" not in gan.failure


def test_a_diverse_generator_is_not_flagged_and_a_recovery_resets_the_count(toy_dataset: ImageDataset, caplog) -> None:
    monitor = TrainingMonitor(collapse_patience=2, collapse_samples=8)
    monitor.reference = monitor.real_diversity(toy_dataset.images, toy_dataset.labels, [1])
    gan, trainer = _FakeGAN(), _trainer()
    with caplog.at_level(logging.WARNING, logger="ganaug"):
        for step in (250, 500, 750):
            monitor.check_collapse(trainer, gan, step)
    assert caplog.text == "" and not trainer.should_stop
    monitor.reference = monitor.real_diversity(toy_dataset.images, toy_dataset.labels, [0])
    monitor.check_collapse(trainer, gan, 1000)
    monitor._streaks[0] = 0  # as after a check where class 0 recovered
    monitor.check_collapse(trainer, gan, 1250)
    assert not trainer.should_stop, "the count restarts after a check that passed"


def _feed(monitor: TrainingMonitor, gan: _FakeGAN, trainer, accuracies: list[float]) -> None:
    for acc in accuracies:
        gan.generator_steps += 1
        gan.step_stats = {"d_loss": torch.tensor(0.1), "g_loss": torch.tensor(1.0), "d_acc": torch.tensor(acc)}
        monitor.on_train_batch_end(trainer, gan)


def test_discriminator_saturation_is_warned_once_per_episode(caplog) -> None:
    monitor = TrainingMonitor(check_every_n_steps=5, saturation_window=20, collapse_every_n_steps=0)
    gan, trainer = _FakeGAN(), _trainer()
    with caplog.at_level(logging.WARNING, logger="ganaug"):
        _feed(monitor, gan, trainer, [0.7] * 40)
        assert caplog.text == ""
        _feed(monitor, gan, trainer, [1.0] * 40)
    assert caplog.text.count("discriminator saturated") == 1 and "accuracy 1.000 over the last 20 steps" in caplog.text
    with caplog.at_level(logging.WARNING, logger="ganaug"):
        _feed(monitor, gan, trainer, [0.6] * 20 + [1.0] * 20)
    assert caplog.text.count("discriminator saturated") == 2
    assert not trainer.should_stop, "saturation only warns"


def test_non_finite_losses_stop_at_the_next_check() -> None:
    monitor = TrainingMonitor(check_every_n_steps=4, collapse_every_n_steps=0)
    gan, trainer = _FakeGAN(), _trainer()
    _feed(monitor, gan, trainer, [0.5, 0.5])
    gan.generator_steps += 1
    gan.step_stats = {"d_loss": torch.tensor(float("inf")), "g_loss": torch.tensor(1.0), "d_acc": torch.tensor(0.5)}
    monitor.on_train_batch_end(trainer, gan)
    assert not trainer.should_stop, "checked every 4 steps"
    _feed(monitor, gan, trainer, [0.5])
    assert trainer.should_stop and gan.failure.startswith("GAN training diverged: non-finite loss by generator step 4")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"check_every_n_steps": 0}, "check_every_n_steps"),
        ({"collapse_samples": 1}, "collapse_samples=1: must be >= 2"),
        ({"collapse_every_n_steps": -1}, "collapse_every_n_steps=-1: must be >= 0"),
        ({"saturation_accuracy": 1.5}, r"saturation_accuracy=1.5: must lie in \(0, 1\]"),
    ],
)
def test_bad_monitor_settings_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(GanaugError, match=match):
        TrainingMonitor(**kwargs)


class _Recorder(pl.Callback):
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.trainer = trainer


def _read_csv(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_divergence_stops_the_run_cleanly_and_train_gan_raises(toy_dataset: ImageDataset, tmp_path: Path) -> None:
    recorder = _Recorder()
    with pytest.raises(GanStopped, match=r"^GAN training diverged: non-finite loss by generator step 5 \(d_loss=nan"):
        train_gan(
            toy_dataset, [0, 1, 2], steps=100, batch_size=16, log_dir=tmp_path / "logs",
            module_kwargs={**TINY, "lr_g": 1e30, "lr_d": 1e30, "monitor": {"check_every_n_steps": 5}},
            trainer_kwargs={**QUIET, "callbacks": [recorder], "log_every_n_steps": 1},
        )  # fmt: skip
    assert recorder.trainer.state.finished and recorder.trainer.global_step == 5 * 2
    rows = _read_csv(tmp_path / "logs" / "metrics.csv")
    assert len(rows) == 5 and rows[-1]["d_loss"] == "nan"


def test_a_loss_that_turns_nan_is_caught_at_the_end_of_the_run(
    toy_dataset: ImageDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    hinge = HingeLoss.g_loss

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        return hinge(self, fake_logits) * (float("nan") if calls["n"] == 7 else 1.0)

    monkeypatch.setattr(HingeLoss, "g_loss", g_loss)
    with pytest.raises(GanaugError, match="non-finite loss by generator step 8 .*g_loss=nan"):
        train_gan(toy_dataset, [0, 1, 2], steps=8, batch_size=16, module_kwargs=TINY, trainer_kwargs=QUIET)


def test_a_collapsed_generator_stops_the_run(toy_dataset: ImageDataset, caplog) -> None:
    """A generator that ignores its noise (noise weights zeroed, no G learning) makes copies: stopped."""

    class IgnoreNoise(pl.Callback):
        def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
            for gen in (pl_module.generator, pl_module.ema.module):
                with torch.no_grad():
                    gen.project.weight[:, :8] = 0.0

    monitor = {"collapse_every_n_steps": 2, "collapse_patience": 2, "collapse_samples": 8}
    with caplog.at_level(logging.WARNING, logger="ganaug"), pytest.raises(
        GanStopped, match=r"samples of class 'class\d' collapsed .* at generator step 4 .*for 2 checks in a row"
    ):  # a GanaugError whose own type tells a stopped run from bad input
        train_gan(
            toy_dataset, [0, 1, 2], steps=50, batch_size=16,
            module_kwargs={**TINY, "lr_g": 1e-12, "monitor": monitor},
            trainer_kwargs={**QUIET, "callbacks": [IgnoreNoise()]},
        )  # fmt: skip
    assert "check 1 of 2 before stopping" in caplog.text


def test_training_curves_are_written_to_csv(toy_dataset: ImageDataset, tmp_path: Path) -> None:
    train_gan(
        toy_dataset, [0, 1, 2], steps=6, batch_size=16, log_dir=tmp_path / "logs",
        module_kwargs={**TINY, "loss": "wgan_gp", "feature_matching": 1.0},
        trainer_kwargs={**QUIET, "log_every_n_steps": 2},
    )  # fmt: skip
    rows = _read_csv(tmp_path / "logs" / "metrics.csv")
    assert set(rows[0]) == {"step", "epoch", "d_loss", "g_loss", "d_real", "d_fake", "gp", "g_fm"}
    assert [int(r["step"]) for r in rows] == [1, 3, 5]  # 0-based: rows after generator updates 2, 4, 6
    assert all(float(r["gp"]) >= 0 for r in rows)
    hinge = train_gan(
        toy_dataset, [0, 1, 2], steps=2, batch_size=16, log_dir=tmp_path / "hinge", module_kwargs=TINY,
        trainer_kwargs={**QUIET, "log_every_n_steps": 1},
    )  # fmt: skip
    assert set(_read_csv(tmp_path / "hinge" / "metrics.csv")[0]) == {"step", "epoch", "d_loss", "g_loss", "d_real",
                                                                      "d_fake", "d_acc"}  # fmt: skip
    assert Path(hinge.trainer.loggers[0].log_dir) == tmp_path / "hinge"
    plain = train_gan(toy_dataset, [0, 1, 2], steps=1, batch_size=16, module_kwargs=TINY, trainer_kwargs=QUIET)
    assert plain.logger is None
