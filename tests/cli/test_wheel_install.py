"""A wheel built from the repo, installed in a new virtual environment, runs the main job elsewhere."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from helpers.cli import REPO, read_metrics, run_cli

pytestmark = pytest.mark.slow


def test_wheel_runs_the_main_job_outside_the_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)], check=True)
    wheel = next(dist.glob("ganaug-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    # the heavy dependencies (torch, ...) come from this interpreter's site-packages (a venv's too), seen
    # through a .pth file; ganaug itself only from the wheel, installed into the new venv
    new_site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
    ours = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    (Path(new_site) / "outer_site.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([python, "-c", "import ganaug.cli.config as c; print(c.config_dir())"], cwd=elsewhere,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(venv)), f"configs must come from the installed wheel, not {where}"
    proc = run_cli(["experiment=quick", "augment=gan", f"hydra.run.dir={elsewhere / 'run'}"], elsewhere,
                   python=python)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert read_metrics(elsewhere / "run")[0]["strategy"] == "gan"
