"""Launching Hydra multiruns of `python -m ganaug` from a command (the benchmark, the settings search).

The pieces both commands share: quoting override values, the MNIST-LT base overrides for `--data-root`,
the seed list, refusing an output folder that already holds runs, and running the sweeps in turn.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ganaug.errors import GanaugError

_SAFE_VALUE = re.compile(r"^[\w/.\-:~+@]+$")


def override_key(override: str) -> str:
    """The key of a Hydra override: '+gan.steps=10' -> 'gan.steps'."""
    return override.split("=", 1)[0].lstrip("+~")


def hydra_value(value: str) -> str:
    """`value` quoted for a Hydra override when it holds characters the override grammar treats specially."""
    if _SAFE_VALUE.match(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def check_overrides(overrides: Sequence[str], owned: dict[str, str]) -> None:
    """Refuse an argument that is not an override, or one the command sets itself (`owned`: key -> option)."""
    for override in overrides:
        if "=" not in override and not override.startswith("~"):
            raise GanaugError(f"{override!r} is not a Hydra override; write key=value (e.g. data=npz)")
        key = override_key(override)
        if key in owned:
            raise GanaugError(f"{override}: the command sets {key} itself; use {owned[key]} instead")


def data_root_overrides(data_root: str | None, keys: set[str]) -> list[str]:
    """The overrides `--data-root DIR` stands for: experiment=mnist_lt (unless given), data=mnist, data.root."""
    if data_root is None:
        return []
    if not Path(data_root).expanduser().is_dir():
        raise GanaugError(f"--data-root {data_root}: folder not found; pass the folder holding the MNIST IDX files")
    base = [] if "experiment" in keys else ["experiment=mnist_lt"]
    return [*base, "data=mnist", f"data.root={hydra_value(str(Path(data_root).expanduser().resolve()))}"]


def parse_ratios(text: str) -> list[str] | None:
    """'100,10' -> ['100', '10']; 'none' -> None (keep the data's own imbalance)."""
    if text.strip().lower() == "none":
        return None
    ratios = [r.strip() for r in text.split(",") if r.strip()]
    try:
        values = [float(r) for r in ratios]
    except ValueError:
        values = []
    if not values or any(v < 1 for v in values):
        raise GanaugError(f"--ratios {text}: give comma-separated numbers of at least 1 (e.g. 100,10), or none")
    return ratios


def seed_range(seeds: int) -> range:
    """The classifier seeds 0..seeds-1 of `--seeds`, at least one."""
    if seeds < 1:
        raise GanaugError(f"--seeds {seeds}: give at least 1 (the protocol in docs/benchmark.md asks for 5)")
    return range(seeds)


def seed_list(seeds: int) -> str:
    """The override sweeping the classifier seed over 0..seeds-1."""
    return "seed=" + ",".join(str(s) for s in seed_range(seeds))


def multirun(python: str = sys.executable) -> list[str]:
    """The start of a multirun command line of the main job."""
    return [python, "-m", "ganaug", "-m"]


def check_fresh(out: Path) -> None:
    """Refuse an output folder that already holds job folders: a summary would mix two sweeps."""
    if out.is_dir() and next(out.rglob("metrics.json"), None) is not None:
        raise GanaugError(f"--out {out}: already holds runs; pass a new folder (cached GANs and data are reused)")


def run_sweeps(sweeps: Sequence[Sequence[str]], label: str) -> None:
    """Run each multirun command in turn, its output going to ours; stop at the first that fails."""
    for sweep in sweeps:
        print(f"ganaug {label}: {shlex.join(sweep)}", flush=True)
        code = subprocess.run(list(sweep), check=False).returncode
        if code != 0:
            raise GanaugError(f"this sweep failed with exit code {code} (its output is above): {shlex.join(sweep)}")


def sweep_parser(prog: str, description: str | None, *, seeds: int, ratios: str, out: str) -> argparse.ArgumentParser:
    """A parser with the options every sweep command takes (the command adds its own): --data-root,
    --seeds (default `seeds`), --ratios (default `ratios`), --out (what goes there: `out`), --dry-run,
    and the Hydra overrides."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-root", help="MNIST IDX folder: runs experiment=mnist_lt data=mnist data.root=DIR")
    parser.add_argument("--seeds", type=int, default=seeds, help=f"classifier seeds 0..N-1 (default {seeds})")
    parser.add_argument(
        "--ratios",
        default=ratios,
        help=f"imbalance ratios to make (default {ratios}), or none to keep the data's own imbalance",
    )
    parser.add_argument("--out", help=f"folder for {out} (default multirun/NAME-DATE-TIME)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and run nothing")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every job; key=a,b,c sweeps a setting")
    return parser


def default_out(name: str) -> Path:
    """multirun/NAME-DATE-TIME, the output folder of a sweep command run without --out."""
    return Path(f"multirun/{name}-{time.strftime('%Y-%m-%d_%H-%M-%S')}")
