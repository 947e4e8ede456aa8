"""Stage outputs on disk, keyed by the configuration that produced them, so sweeps reuse them."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock, Timeout

from ganaug.errors import GanaugError
from ganaug.fileio import write_json
from ganaug.lightning import is_rank_zero

log = logging.getLogger("ganaug")

CACHE_FORMAT = 1
T = TypeVar("T")


def cache_key(payload: Any) -> str:
    """A short stable hash of a JSON-able payload (the config sections a stage depends on)."""
    text = json.dumps({"format": CACHE_FORMAT, "payload": payload}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def source_fingerprint(path: Path) -> str | None:
    """A hash of every file at or under `path` (relative name and content), or None when nothing is there.
    Content, not modification times: a copy of the same files (a dataset re-synced, unpacked again, moved to
    another machine) keeps its stage outputs, and a file rewritten in place changes them."""
    if not path.exists():
        return None
    files = [path] if path.is_file() else sorted(f for f in path.rglob("*") if f.is_file())
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.relative_to(path).as_posix()}\0".encode())
        with file.open("rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _locked(lock: FileLock, stage: str, path: Path) -> Iterator[None]:
    """Hold `lock` in the block: at once when it is free, else after saying a parallel job holds it."""
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.info("%s: waiting for the parallel job building %s", stage, path)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _sweep_orphans(path: Path) -> None:
    """Remove what processes that died building `path` left beside it: their temporary folders and files
    (`.<entry>.*.tmp`, `..<entry>.building.*.tmp`). Called with the entry's lock held, so no live job owns them."""
    for pattern in (f".{path.name}.*.tmp", f"..{path.name}.building.*.tmp"):
        for orphan in path.parent.glob(pattern):
            log.info("cache: removing %s, left by a job that died", orphan)
            if orphan.is_dir():
                shutil.rmtree(orphan, ignore_errors=True)
            else:
                orphan.unlink(missing_ok=True)


def remove_entry(path: Path) -> None:
    """Delete a cache entry (its folder and its payload file), under its lock, so that it is built again."""
    with FileLock(path.with_name(f".{path.name}.lock")):
        shutil.rmtree(path, ignore_errors=True)
        path.with_suffix(".json").unlink(missing_ok=True)


def rebuilt_if_damaged(stage: str, entry: Callable[[], Path], check: Callable[[Path], T]) -> tuple[Path, T]:
    """The cache entry `entry()` returns (built when missing) and what `check` reads from it. An entry that
    `check` finds damaged (a GanaugError: edited metadata, a truncated file, a deleted part) is removed with
    a warning and built again, so a damaged cache costs a rebuild, not a failed run."""
    path = entry()
    try:
        return path, check(path)
    except GanaugError as exc:
        log.warning("%s: the cached entry %s is damaged (%s); building it again", stage, path, exc)
        remove_entry(path)
    path = entry()
    return path, check(path)


def entry_path(root: str | Path, stage: str, payload: Any) -> Path:
    """Where the cache under `root` keeps the output of `stage` for `payload`: `root/<stage>-<key>`."""
    return Path(root) / f"{stage}-{cache_key(payload)}"


def _barrier() -> None:
    """Wait for every rank of the distributed run this process is in (none: return at once)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def _follow_rank_zero(
    path: Path, stage: str, build: Callable[[Path], None], distributed: bool, resumable: bool
) -> Path:
    """A rank other than zero of a distributed run: rank zero writes the entry. A `distributed` build's fits
    need every rank, so this rank runs it too, into a private folder it then removes (for a `resumable` one, a
    copy of what rank zero resumes from, so both ranks start at the same step); then it waits."""
    if distributed and not path.is_dir():
        private = path.with_name(f".{path.name}.pid{os.getpid()}.partial")
        shutil.rmtree(private, ignore_errors=True)
        building = path.with_name(f".{path.name}.building")
        if resumable and building.is_dir():
            shutil.copytree(building, private)
        try:
            build(private)
        finally:
            shutil.rmtree(private, ignore_errors=True)
    _barrier()
    if not path.is_dir():
        raise GanaugError(
            f"{stage}: {path} is missing after rank zero's build; build the stage on one device first "
            "(trainer.devices=1), then run distributed"
        )
    return path


def cached_stage(
    root: str | Path,
    stage: str,
    payload: Any,
    build: Callable[[Path], None],
    resumable: bool = False,
    distributed: bool = False,
) -> Path:
    """Return `root/<stage>-<key>`, calling `build(folder)` first when it does not exist yet.

    `build` writes into the private folder `.<stage>-<key>.building`, renamed into place only when it is
    complete. A lock file beside it lets one job build an entry while parallel jobs that need it wait and
    then use it. A failed build is removed; a `resumable` stage's build interrupted by anything but a
    GanaugError (a kill, Ctrl-C, a lost device) is kept, and the next build of the entry resumes it. The
    payload is kept beside the entry in `<folder>.json` for people reading the cache.
    In a distributed run (Lightning's DDP) rank zero builds and writes the entry and the other ranks wait for
    it; a `distributed` build (its fits use every rank) runs on each rank, only rank zero's kept.
    """
    path = entry_path(root, stage, payload)
    if not is_rank_zero():
        return _follow_rank_zero(path, stage, build, distributed, resumable)
    path = _built(path, stage, payload, build, resumable)
    _barrier()
    return path


def _built(path: Path, stage: str, payload: Any, build: Callable[[Path], None], resumable: bool) -> Path:
    """The entry at `path`, built by this process (or a parallel job) when it is missing."""
    lock = FileLock(path.with_name(f".{path.name}.lock"))
    if path.is_dir():
        log.info("%s: reusing %s", stage, path)
        try:
            with lock.acquire(timeout=0):
                _sweep_orphans(path)
        except Timeout:
            pass  # a parallel job holds it: it sweeps
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(lock, stage, path):
        if path.is_dir():
            log.info("%s: a parallel job built %s; using it", stage, path)
            return path
        _sweep_orphans(path)
        building = path.with_name(f".{path.name}.building")
        if building.exists() and not resumable:
            shutil.rmtree(building)
        log.info("%s: %s %s", stage, "resuming" if building.exists() else "building", path)
        try:
            build(building)
        except BaseException as exc:
            if not resumable or isinstance(exc, GanaugError):
                shutil.rmtree(building, ignore_errors=True)
            else:
                log.info("%s: the unfinished build is kept in %s; run again to resume it", stage, building)
            raise
        os.rename(building, path)
    write_json(path.with_suffix(".json"), payload)
    return path
