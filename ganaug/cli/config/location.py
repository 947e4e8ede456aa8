"""Where the `conf/` folder is: inside the installed package (a wheel) or beside it (a checkout)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[2]


def config_dir() -> Path:
    """The folder holding `config.yaml` and the config groups."""
    for candidate in (_PACKAGE / "conf", _PACKAGE.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"ganaug's conf/ folder is missing beside {_PACKAGE}; reinstall ganaug")
