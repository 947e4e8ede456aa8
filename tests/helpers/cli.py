"""Running ganaug's command line in a subprocess, as a user does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_cli(
    args: list[str], cwd: Path, module: str = "ganaug", python: str = sys.executable, timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run `python -m <module> <args>` in `cwd` with a private cache, offline; return the finished process."""
    env = {**os.environ, "GANAUG_CACHE_DIR": str(cwd / "cache"), "NO_ALBUMENTATIONS_UPDATE": "1"}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [python, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def read_metrics(run_dir: Path) -> list[dict]:
    """The rows of a run folder's metrics.json."""
    return json.loads((run_dir / "metrics.json").read_text())
