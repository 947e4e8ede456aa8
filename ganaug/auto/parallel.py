"""Training several of auto's small candidate classifiers at once, each in its own worker process.

A small CNN keeps a few percent of a GPU busy, and one CPU core about as busy as two; so `workers` processes
train candidates side by side (on the CPU the threads are split between them, on a GPU they share it). Every
fit seeds itself from its own settings, so a candidate's scores do not depend on which process trained it
or when: the race decides as it would one fit at a time (at the same number of threads per fit).
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import torch
import torch.multiprocessing

from ganaug.errors import at_least, checked

R = TypeVar("R")


def _start_worker(threads: int) -> None:
    """In a fresh worker: its share of the CPU threads."""
    torch.set_num_threads(threads)


def threads_per_worker(workers: int, threads: int | None = None) -> int:
    """Each worker's torch threads: the parent's (`threads`, default torch's current count) split evenly."""
    return max(1, (threads or torch.get_num_threads()) // workers)


class FitPool:
    """Runs calls one at a time in this process (`workers` 1) or in `workers` spawned processes, giving their
    results in the order the calls were given. Used as a context manager, the processes end with the block."""

    @checked(workers=at_least(1))
    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def __enter__(self) -> FitPool:
        if self.workers > 1:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=torch.multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(threads_per_worker(self.workers),),
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def map(self, call: Callable[..., R], argument_lists: Iterable[tuple[Any, ...]]) -> Iterator[R]:
        """`call(*arguments)` for each tuple, in order; in the workers when the pool has them (`call` and its
        arguments are then pickled: a module-level function and plain data, tensors, partials)."""
        if self._pool is None:
            return (call(*arguments) for arguments in argument_lists)
        futures = [self._pool.submit(call, *arguments) for arguments in argument_lists]
        return (future.result() for future in futures)
