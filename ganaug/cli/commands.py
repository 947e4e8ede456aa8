"""`ganaug`, the console script: the whole flow, or one stage or tool as a subcommand.

    ganaug [OVERRIDES]              the whole flow (python -m ganaug), Hydra overrides and flags as usual
    ganaug prepare [OVERRIDES]      one stage: prepare, train-gan, generate (Hydra apps, the same config)
    ganaug report SWEEP_DIR         the tools: report, summarize, benchmark, tune (their own --help)
    ganaug --version                ganaug's version
    ganaug commands                 this list
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from ganaug import __version__
from ganaug.cli.runner import hydra_entry

# name: (module, whether it is a Hydra app, what it does)
COMMANDS = {
    "prepare": ("ganaug.cli.prepare", True, "load the data, make it imbalanced, choose the minority classes"),
    "train-gan": ("ganaug.cli.train_gan", True, "train the conditional GAN and export its generator"),
    "generate": ("ganaug.cli.generate", True, "sample the generator into a synthetic bank"),
    "report": ("ganaug.cli.report", False, "the benchmark report of a multirun (report.md, figures)"),
    "summarize": ("ganaug.cli.summarize", False, "mean and standard deviation per strategy over a multirun"),
    "benchmark": ("ganaug.cli.benchmark", False, "the MNIST-LT protocol (or it on your data), then its report"),
    "tune": ("ganaug.cli.tune", False, "choose GAN and mixing settings on the validation split"),
}


def commands_text() -> str:
    """The subcommands, one per line."""
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {what}" for name, (_, _, what) in COMMANDS.items()]
    head = "ganaug subcommands (ganaug <command> --help for each; without one, ganaug runs the whole flow):"
    return "\n".join([head, *lines])


def main(argv: Sequence[str] | None = None) -> int | None:
    """Dispatch `argv` (default: the command line) to the flow, a stage or a tool."""
    args = list(sys.argv[1:] if argv is None else argv)
    first = args[0] if args else ""
    if first in ("--version", "-V"):
        print(f"ganaug {__version__}")
        return 0
    if first == "commands":
        print(commands_text())
        return 0
    module_name, hydra_app = ("ganaug.cli.main", True)
    if first in COMMANDS:
        module_name, hydra_app, _ = COMMANDS[first]
        args = args[1:]
    module = importlib.import_module(module_name)
    if not hydra_app:
        return module.main(args)
    sys.argv = [sys.argv[0], *args]
    hydra_entry(module.main)
    return None


def console() -> None:
    """The console script's entry point: `main`, its return value as the exit code."""
    sys.exit(main())
