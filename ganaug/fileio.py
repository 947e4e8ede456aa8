"""Atomic file and folder writes, so a failed run never leaves a half-written output behind."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    Works for a file or a folder written at the yielded path. On error the temporary is removed.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    tmp.rmdir()
    try:
        yield tmp
        if target.is_dir() and tmp.is_dir():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write `obj` as indented JSON to `path`, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file, turning a missing or corrupt file into a one-line GanaugError."""
    from ganaug.errors import GanaugError

    p = Path(path)
    if not p.is_file():
        raise GanaugError(f"{p}: file not found; check the path or run the stage that writes it")
    try:
        return json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GanaugError(f"{p}: not valid JSON ({exc}); delete it and run the stage that writes it") from None


def prune_empty(directory: str | os.PathLike, root: str | os.PathLike | None = None) -> None:
    """Remove `directory` if it is empty, then each parent that is left empty, up to and including `root`
    (default: `directory` alone); a missing folder is passed over, one that holds anything ends the walk."""
    here, top = Path(directory).resolve(), Path(root or directory).resolve()
    while here == top or top in here.parents:
        try:
            here.rmdir()
        except FileNotFoundError:
            pass
        except OSError:
            return
        here = here.parent
