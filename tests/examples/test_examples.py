"""The examples a user copies run as they are (with tiny settings, to stay fast)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.slow


NAMESPACES = ["lightning", "pytorch_lightning"]


def _run(args: list[str], cwd: Path, lightning: str = "lightning") -> subprocess.CompletedProcess:
    env = {**os.environ, "GANAUG_CACHE_DIR": str(cwd / "cache"), "NO_ALBUMENTATIONS_UPDATE": "1",
           "LIGHTNING_PACKAGE": lightning}  # fmt: skip
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("lightning", NAMESPACES)
def test_existing_datamodule_example(tmp_path: Path, lightning: str) -> None:
    pytest.importorskip(lightning)
    proc = _run([sys.executable, str(EXAMPLES / "existing_datamodule.py"), "--gan-steps", "20", "--epochs", "1",
                 "--cache", str(tmp_path / "cache")], tmp_path, lightning)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "plain: test balanced accuracy" in proc.stdout
    assert "ganaug: test balanced accuracy" in proc.stdout
    assert "ganaug: training counts" in proc.stderr and "synthetic per class" in proc.stdout  # it says what it did
    assert len(list((tmp_path / "cache").glob("bank-*/images.npy"))) == 1
    assert len((EXAMPLES / "existing_datamodule.py").read_text().split("# the lines to copy")[1].split("\n\n")[0]
               .splitlines()) <= 4  # fmt: skip


def test_balance_image_folder_example(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    proc = _run([sys.executable, str(EXAMPLES / "balance_image_folder.py"), "--demo", str(folder),
                 "experiment=quick", "augment.strategies=[none,gan]", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in folder.iterdir()) == [f"digit_{i}" for i in range(6)]
    assert (tmp_path / "run" / "metrics.json").is_file()


def test_sweep_example(tmp_path: Path) -> None:
    env_sweep = tmp_path / "sweep"
    env = {**os.environ, "SWEEP_DIR": str(env_sweep), "SEEDS": "0,1", "GANAUG_CACHE_DIR": str(tmp_path / "c")}
    proc = subprocess.run(["bash", str(EXAMPLES / "sweep.sh"), "experiment=quick"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| gan+classical | 2 |" in proc.stdout


@pytest.mark.parametrize("lightning", NAMESPACES)
def test_auto_own_classifier_example(tmp_path: Path, lightning: str) -> None:
    pytest.importorskip(lightning)
    proc = _run([sys.executable, str(EXAMPLES / "auto_own_classifier.py"), "--gan-steps", "20", "--epochs", "1",
                 "--folds", "2", "--cache", str(tmp_path / "cache")], tmp_path, lightning)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("no synthetic", "30% of the fill", "full fill"):
        assert name in proc.stdout
    assert "train with: " in proc.stdout and "' is used." in proc.stdout
