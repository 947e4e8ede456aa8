"""Stage outputs on disk, keyed by the configuration that produced them, so sweeps reuse them."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganaug.fileio import write_json

log = logging.getLogger("ganaug")

CACHE_FORMAT = 1


def cache_key(payload: Any) -> str:
    """A short stable hash of a JSON-able payload (the config sections a stage depends on)."""
    text = json.dumps({"format": CACHE_FORMAT, "payload": payload}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def source_fingerprint(path: Path) -> str | None:
    """A hash of every file at or under `path` (relative name, size, modification time), or None
    when nothing is there. A file rewritten in place changes it; a folder's own timestamp, which
    moves only when entries are added, removed or renamed, would not have."""
    if not path.exists():
        return None
    files = [path] if path.is_file() else sorted(f for f in path.rglob("*") if f.is_file())
    digest = hashlib.sha256()
    for file in files:
        stat = file.stat()
        digest.update(f"{file.relative_to(path).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def cached_stage(root: str | Path, stage: str, payload: Any, build: Callable[[Path], None]) -> Path:
    """Return `root/<stage>-<key>`, calling `build(folder)` first when it does not exist yet.

    `build` writes into a private folder that is renamed into place only when it is complete, and
    only if no parallel job got there first (the first writer wins, so a folder another job is
    reading is never replaced). The payload is kept beside it in `<folder>.json` for people reading
    the cache.
    """
    path = Path(root) / f"{stage}-{cache_key(payload)}"
    if path.is_dir():
        log.info("%s: reusing %s", stage, path)
        return path
    log.info("%s: building %s", stage, path)
    building = path.with_name(f".{path.name}.{os.getpid()}.building")
    shutil.rmtree(building, ignore_errors=True)
    try:
        build(building)
        os.rename(building, path)
    except OSError:
        if not path.is_dir():
            raise
        log.info("%s: a parallel job built %s first; using it", stage, path)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    write_json(path.with_suffix(".json"), payload)
    return path
