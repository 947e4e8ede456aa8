"""A wheel built from the repo, installed in a new virtual environment, runs the main job elsewhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import REPO, read_metrics, run_cli

pytestmark = pytest.mark.slow


def test_wheel_runs_the_main_job_outside_the_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)], check=True)
    wheel = next(dist.glob("ganaug-*.whl"))
    venv = tmp_path / "venv"
    # the heavy dependencies (torch, ...) come from this interpreter; ganaug itself only from the wheel
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([python, "-c", "import ganaug.config as c; print(c.config_dir())"], cwd=elsewhere,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(venv)), f"configs must come from the installed wheel, not {where}"
    proc = run_cli(["experiment=quick", "augment=gan", f"hydra.run.dir={elsewhere / 'run'}"], elsewhere,
                   python=python)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert read_metrics(elsewhere / "run")[0]["strategy"] == "gan"
