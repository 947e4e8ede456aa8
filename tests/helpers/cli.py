"""Running ganaug's command line in a subprocess, as a user does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cli_env(cache: Path) -> dict[str, str]:
    """The environment of a command-line run: the cache at `cache`, offline, errors as users see them."""
    env = {**os.environ, "GANAUG_CACHE_DIR": str(cache), "NO_ALBUMENTATIONS_UPDATE": "1"}
    env.pop("HYDRA_FULL_ERROR", None)
    return env


def run_cli(
    args: list[str], cwd: Path, module: str = "ganaug", python: str = sys.executable, timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run `python -m <module> <args>` in `cwd` with a private cache, offline; return the finished process."""
    return subprocess.run(
        [python, "-m", module, *args], cwd=cwd, env=cli_env(cwd / "cache"), capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def start_cli(args: list[str], cwd: Path, cache: Path, module: str = "ganaug") -> subprocess.Popen:
    """Start `python -m <module> <args>` in `cwd` with the cache at `cache`; return the running process
    (its output, merged, at `.stdout`)."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args], cwd=cwd, env=cli_env(cache), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def read_metrics(run_dir: Path) -> list[dict]:
    """The rows of a run folder's metrics.json."""
    return json.loads((run_dir / "metrics.json").read_text())


def exit_code(main: Callable[[list[str]], int | None], argv: list[str]) -> int:
    """The exit code of a command's `main(argv)`: what it returns, or the code of the SystemExit it raises
    (every failure of an entry point exits through `one_line_errors`)."""
    try:
        return int(main(argv) or 0)
    except SystemExit as exc:
        return int(exc.code or 0)
