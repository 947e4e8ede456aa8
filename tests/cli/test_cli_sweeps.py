"""Sweeps with the shipped launcher and sweeper configs: parallel jobs share one GAN, Optuna maximises a
validation metric, and the SLURM config composes (its jobs run through submitit, tried with its local
executor)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from helpers.cli import read_metrics, run_cli

pytestmark = pytest.mark.slow


def _jobs(sweep: Path) -> list[Path]:
    return sorted(p.parent for p in sweep.glob("*/metrics.json"))


def test_parallel_jobs_of_a_local_sweep_train_one_gan(tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    sweep = tmp_path / "sweep"
    proc = run_cli(["-m", "experiment=quick", "augment=gan", "seed=0,1", "hydra/launcher=local",
                    f"hydra.sweep.dir={sweep}"], tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = _jobs(sweep)
    assert len(jobs) == 2 and [read_metrics(j)[0]["seed"] for j in jobs] == [0, 1]
    logs = [(j / "main.log").read_text() for j in jobs]
    assert sum("gan: building" in log for log in logs) == 1
    assert sum("a parallel job built" in log for log in logs) == 1
    assert len([p for p in (tmp_path / "cache").glob("gan-*") if p.is_dir()]) == 1


def test_optuna_maximises_the_validation_metric(tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    sweep = tmp_path / "sweep"
    proc = run_cli(["-m", "experiment=quick", "augment=none", "hydra/sweeper=optuna_val", "hydra.sweeper.n_trials=2",
                    "classifier.lr=interval(0.001,0.01)", f"hydra.sweep.dir={sweep}"], tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())["best_value"]
    rows = [read_metrics(j)[-1] for j in _jobs(sweep)]
    assert len(rows) == 2
    assert best == max(r["val_balanced_accuracy"] for r in rows)


def test_the_slurm_launcher_config_composes(tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    proc = run_cli(["--cfg", "hydra", "-p", "hydra.launcher", "hydra/launcher=slurm", "hydra.launcher.partition=gpu"],
                   tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    launcher = yaml.safe_load(proc.stdout)
    assert launcher["_target_"].endswith("SlurmLauncher")
    assert launcher["partition"] == "gpu" and launcher["gpus_per_node"] == 1 and launcher["max_num_timeout"] > 0


def test_a_run_launched_through_submitit(tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    sweep = tmp_path / "sweep"
    proc = run_cli(["-m", "experiment=quick", "augment=none", "hydra/launcher=submitit_local",
                    "hydra.launcher.timeout_min=10", f"hydra.sweep.dir={sweep}"], tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (job,) = _jobs(sweep)
    assert read_metrics(job)[0]["strategy"] == "none"
    assert json.loads((job / "artifacts.json").read_text())["data_dir"]
