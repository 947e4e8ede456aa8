"""The user's own objects from the command line: their LightningDataModule as the data, their LightningModule
as the classifier every strategy is compared on, and the Trainer's logger and callbacks groups."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers.cli import read_metrics, run_cli

pytestmark = pytest.mark.slow

TESTS = str(Path(__file__).parents[1])


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' helpers importable by the run, as a user's project is."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [TESTS, os.environ.get("PYTHONPATH")])))


def test_a_users_module_is_the_classifier_of_every_strategy(tmp_path: Path, on_path: None) -> None:
    run = tmp_path / "run"
    proc = run_cli(["experiment=quick", "classifier=module", "classifier._target_=helpers.user_model.TinyNet",
                    "+classifier.kwargs.hidden=8", "augment.strategies=[none,ldam+drw,gan+classical,auto]",
                    "augment.auto.baselines=[none,classical]", "callbacks=[early_stopping,lr_monitor]",
                    f"hydra.run.dir={run}"], tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = read_metrics(run)
    assert [r["strategy"] for r in rows] == ["none", "gan+classical", "auto"]
    assert {r["classifier"] for r in rows} == {"helpers.user_model.TinyNet"}
    assert "strategies compared on classifier helpers.user_model.TinyNet" in proc.stdout
    assert "| gan+classical | 0 |" in proc.stdout
    assert "strategy ldam+drw left out" in proc.stdout and "head='cosine'" in proc.stdout
    curves = (run / "logs" / "none" / "seed0" / "version_0" / "metrics.csv").read_text()
    assert "val_balanced_accuracy" in curves.splitlines()[0] and "lr-Adam" in curves.splitlines()[0]
    assert list((run / "logs" / "gan_training").rglob("metrics.csv"))
    assert list((run / "logs" / "auto").glob("*/seed*"))


def test_a_users_datamodule_is_the_data(tmp_path: Path, on_path: None) -> None:
    run = tmp_path / "run"
    proc = run_cli(["experiment=quick", "data=datamodule", "data.datamodule._target_=helpers.user_data.ToyDataModule",
                    "imbalance=none", "augment.strategies=[none,gan]", f"hydra.run.dir={run}"], tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = read_metrics(run)
    assert [r["strategy"] for r in rows] == ["none", "gan"]
    assert len(rows[0]["per_class_recall"]) == 6 and rows[0]["train_size"] + 54 == 540  # val carved: 10%
    assert rows[1]["synthetic_size"] > 0  # the two rare classes were filled with generated images
    bad = run_cli(["experiment=quick", "data=datamodule", "data.datamodule._target_=helpers.user_data.NormalisedDigits",
                   f"hydra.run.dir={tmp_path / 'bad'}"], tmp_path)  # fmt: skip
    assert bad.returncode != 0 and "not a LightningDataModule class" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_tensorboard_receives_the_fits(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    run = tmp_path / "run"
    proc = run_cli(["experiment=quick", "augment=gan", "logger=tensorboard", f"hydra.run.dir={run}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list((run / "tensorboard" / "gan_training").rglob("events.out.tfevents.*"))
    assert list((run / "tensorboard" / "gan" / "seed0").rglob("events.out.tfevents.*"))


def test_wandb_offline_receives_the_fits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = tmp_path / "run"
    proc = run_cli(["experiment=quick", "augment=none", "logger=wandb", "logger.offline=true", f"hydra.run.dir={run}"],
                   tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list((run / "wandb").glob("offline-run-*"))
