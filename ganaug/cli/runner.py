"""What every Hydra entry point shares: validation, the run folder, and one-line errors."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, InstantiationException, MissingConfigException
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from ganaug.cli.config import config_dir
from ganaug.cli.config.validate import validate
from ganaug.errors import GanaugError

CONFIG_PATH = str(config_dir())
VERSION_BASE = "1.3"

log = logging.getLogger("ganaug")
T = TypeVar("T")


class Terminated(BaseException):
    """Raised by the SIGTERM and SIGINT handlers: a scheduler, `timeout` or Ctrl-C stopped the run."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


_OS_FIXES = {
    errno.ENOSPC: "free disk space, or point cache_dir= and hydra.run.dir= at a disk with room",
    errno.EACCES: "choose a folder you can write to (cache_dir=..., hydra.run.dir=...)",
    errno.EROFS: "choose a folder on a writable disk (cache_dir=..., hydra.run.dir=...)",
    errno.ENOTDIR: "a folder on that path is a file; choose another path",
    errno.EEXIST: "a file is in the way; move it or choose another path",
    errno.ENOENT: "create it, or fix the path",
}


def _os_message(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    fix = _OS_FIXES.get(exc.errno or 0, "check the path, its permissions and the disk")
    return f"{exc.strerror or exc}{where}; {fix}"


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """The last-resort handler of every entry point: an expected failure (bad input, a config error, a file
    system error, Lightning refusing a setting) ends in one line `ganaug: error: ...` and exit code 2;
    SIGTERM and SIGINT end in one line and 143 or 130 (a rerun resumes what was checkpointed). Anything else
    is a bug: its traceback prints, and a line says so."""
    main_thread = threading.current_thread() is threading.main_thread()  # only it may set signal handlers
    previous = {sig: signal.signal(sig, _raise_terminated) for sig in (signal.SIGTERM, signal.SIGINT) if main_thread}
    try:
        yield
    except Terminated as exc:
        name = signal.Signals(exc.signum).name
        print_error(f"terminated by {name}; rerun the same command to resume from the last checkpoints")
        sys.exit(128 + exc.signum)
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
    except OSError as exc:
        _fail(_os_message(exc))
    except Exception as exc:
        if type(exc).__name__ == "MisconfigurationException":  # Lightning refusing a setting, either namespace
            _fail(f"Lightning: {str(exc).splitlines()[0]}")
        traceback.print_exc()
        print_error(f"internal error ({type(exc).__name__}): a bug in ganaug; please report it with the traceback")
        sys.exit(1)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


FULL_ERROR = "GANAUG_FULL_ERROR"


def _hydra_message(exc: HydraException) -> str:
    """Hydra's composition error (6 to 19 lines) as one line: what is wrong, then the cause or the options."""
    lines = [line.strip() for line in str(exc).split("Config search path")[0].splitlines() if line.strip()]
    if isinstance(exc, MissingConfigException) and len(lines) > 1 and lines[1].startswith("Available options"):
        options = ", ".join(o for o in lines[2:] if not o.endswith("_schema"))
        return f"{lines[0]}; {lines[1].rstrip(':').lower()}: {options}"
    head = "; ".join(line.rstrip(".") for line in lines)
    cause = exc.__cause__
    if cause is not None:
        detail = [line.strip() for line in str(cause).splitlines() if line.strip()]
        head += f": {detail[0]}" + (f" ({detail[1]})" if len(detail) > 1 and detail[1].startswith("full_key") else "")
    return head


def hydra_entry(app: Callable[[], Any]) -> None:
    """Run a Hydra app (a `@hydra.main` function) so that even Hydra's own errors (an unknown key or option, a
    value of the wrong type, a run folder that cannot be made) end in one line and exit code 2. Set
    GANAUG_FULL_ERROR=1 (or Hydra's HYDRA_FULL_ERROR=1) for the full text."""
    full = bool(os.environ.get(FULL_ERROR) or os.environ.get("HYDRA_FULL_ERROR"))
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra raises instead of printing its own many lines
    with one_line_errors():
        try:
            app()
        except HydraException as exc:
            if full:
                raise
            _fail(_hydra_message(exc))


def run_task(cfg: DictConfig, task: Callable[[DictConfig, Path], T]) -> T:
    """Validate `cfg` and run `task(cfg, run_folder)` under `one_line_errors`."""
    _quiet_lightning()
    with one_line_errors():
        validate(cfg)
        return task(cfg, Path(HydraConfig.get().runtime.output_dir))


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
