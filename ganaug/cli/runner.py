"""What every Hydra entry point shares: validation, the run folder, and one-line errors."""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from ganaug.cli.config import config_dir
from ganaug.cli.config.validate import validate
from ganaug.errors import GanaugError

CONFIG_PATH = str(config_dir())
VERSION_BASE = "1.3"

log = logging.getLogger("ganaug")
T = TypeVar("T")


def run_task(cfg: DictConfig, task: Callable[[DictConfig, Path], T]) -> T:
    """Validate `cfg`, run `task(cfg, run_folder)`, and turn bad input into one line and exit code 2."""
    _quiet_lightning()
    try:
        validate(cfg)
        return task(cfg, Path(HydraConfig.get().runtime.output_dir))
    except MissingMandatoryValue as exc:
        _fail(f"{exc.full_key} is required: add {exc.full_key}=... to the command line")
    except GanaugError as exc:
        _fail(str(exc))
    except InstantiationException as exc:
        if not isinstance(exc.__cause__, GanaugError):
            raise
        _fail(str(exc.__cause__))
    except OmegaConfBaseException as exc:
        _fail(f"config error at {getattr(exc, 'full_key', '?')}: {str(exc).splitlines()[0]}")

def _quiet_lightning() -> None:
    """Keep Lightning's per-Trainer banners and tips out of the run's output; warnings still show."""
    for namespace in ("pytorch_lightning", "lightning.pytorch", "lightning.fabric", "lightning_fabric"):
        logging.getLogger(f"{namespace}.utilities.rank_zero").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*treespec, LeafSpec.*")


def print_error(error: object) -> None:
    """Print `error` to stderr as the command line's one line: `ganaug: error: ...`."""
    print(f"ganaug: error: {' '.join(str(error).split())}", file=sys.stderr)


def _fail(message: str) -> NoReturn:
    print_error(message)
    sys.exit(2)
