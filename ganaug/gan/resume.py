"""Resuming a killed GAN run where it stopped, to the same weights an uninterrupted run ends with.

Lightning's checkpoint holds the weights, the optimisers and the loop counters. Two more things decide
what a run does next: where it is in its data order, and the random number generator that draws the
noise and DiffAugment's choices. `RunSampler` makes the whole run's data order one stream that can start
at any batch; `GanCheckpoint` saves its position and the RNG state beside Lightning's, atomically, every
few generator steps.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import BatchSampler, Sampler

from ganaug.errors import GanaugError, at_least, checked
from ganaug.fileio import atomic_path, prune_empty
from ganaug.lightning import CallbackCore, bound_getattr

CHECKPOINT = "last.ckpt"
CHECKPOINTS = "checkpoints"
CURVES = "metrics.csv"
_EARLIER_CURVES = ".metrics.earlier.csv"


class RunSampler(Sampler[int]):
    """The indices of a run of `batches` batches of `batch_size`, drawn epoch after epoch from `base`.

    Each epoch of `base` is cut into whole batches (its last partial batch dropped), as a DataLoader
    with `drop_last=True` cuts it, so the batches are those that loader would give epoch after epoch.
    Setting `start` skips the first `start` batches by drawing them without yielding them: `base` draws
    from its own seeded generator, so the batches from `start` on are the uninterrupted run's.
    """

    def __init__(self, base: Sampler[int], batch_size: int, batches: int) -> None:
        if batch_size > len(base):
            raise GanaugError(f"batch_size {batch_size} is larger than the {len(base)} images; lower it")
        self.base = base
        self.batch_size = batch_size
        self.batches = batches
        self.start = 0

    def __len__(self) -> int:
        return self.batches * self.batch_size

    def __iter__(self) -> Iterator[int]:
        drawn = 0
        while True:
            for batch in BatchSampler(self.base, self.batch_size, drop_last=True):
                if drawn >= self.batches:
                    return
                if drawn >= self.start:
                    yield from batch
                drawn += 1


def checkpoint_path(directory: str | Path) -> Path:
    """The resumable checkpoint a GAN run keeps in `directory` (by ganaug's stages, the `CHECKPOINTS`
    folder of the GAN's unfinished cache entry)."""
    return Path(directory) / CHECKPOINT


def saving_path(path: Path) -> Path:
    """The temporary name a checkpoint is written under before it replaces `path`."""
    return path.with_name(f".{path.name}.tmp")


def existing_checkpoint(directory: str | Path) -> Path | None:
    """The checkpoint a killed run left in `directory` to resume from, or None where there is none."""
    path = checkpoint_path(directory)
    return path if path.is_file() else None


def save_checkpoint(trainer: pl.Trainer, path: Path) -> None:
    """Save the trainer's full checkpoint to `path`, replacing the last one atomically (written under a
    temporary name on every rank, renamed by rank zero, the ranks waiting for it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = saving_path(path)
    trainer.save_checkpoint(tmp, weights_only=False)
    if trainer.is_global_zero:
        os.replace(tmp, path)
    trainer.strategy.barrier("ganaug_checkpoint")


def discard_checkpoint(directory: str | Path) -> None:
    """Remove a finished run's checkpoint from `directory`, with any half-written one a kill left, and the
    folder when that leaves it empty."""
    path = checkpoint_path(directory)
    path.unlink(missing_ok=True)
    saving_path(path).unlink(missing_ok=True)
    prune_empty(directory)


def _read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def _write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    keys = sorted(set().union(*rows)) if rows else []
    with atomic_path(path) as tmp, tmp.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def set_curves_aside(log_dir: str | Path) -> None:
    """Before a resumed run: move the training curves written so far aside, where the CSV logger, which
    empties its folder's `metrics.csv` when it starts, leaves them (rows of earlier tries kept too)."""
    log_dir = Path(log_dir)
    rows = _read_rows(log_dir / _EARLIER_CURVES) + _read_rows(log_dir / CURVES)
    if rows:
        _write_rows(log_dir / _EARLIER_CURVES, rows)
    (log_dir / CURVES).unlink(missing_ok=True)


def join_curves(log_dir: str | Path) -> None:
    """After a resumed run: put the earlier rows before the resumed run's, one row per step (the latest
    try's), dropping those past the step the run resumed from, which the resumed run logged again."""
    log_dir = Path(log_dir)
    earlier = _read_rows(log_dir / _EARLIER_CURVES)
    if not earlier:
        return
    resumed = _read_rows(log_dir / CURVES)
    first = min((int(r["step"]) for r in resumed), default=None)
    by_step = {int(r["step"]): r for r in earlier if first is None or int(r["step"]) < first}
    by_step.update({int(r["step"]): r for r in resumed})
    _write_rows(log_dir / CURVES, [by_step[s] for s in sorted(by_step)])
    (log_dir / _EARLIER_CURVES).unlink()


def rng_state() -> dict[str, Any]:
    """torch's global random state, CPU and (when in use) CUDA: what a checkpoint saves to resume the same draws."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
    return {"cpu": torch.get_rng_state(), "cuda": cuda}


def set_rng_state(state: dict[str, Any]) -> None:
    """Set torch's global random state back to what `rng_state` returned."""
    torch.set_rng_state(state["cpu"])
    if state["cuda"]:
        torch.cuda.set_rng_state_all(state["cuda"])


class GanCheckpoint(CallbackCore):
    """Save the run to `checkpoint_path(directory)` every `every_n_steps` generator steps, replacing the
    last one atomically, with the position in `sampler`'s stream and the torch RNG state (CPU and CUDA).

    Resumed from that file (`Trainer.fit(ckpt_path=...)`), it moves `sampler` to the saved batch and sets
    the RNG state back just before training goes on, so the run continues as if never stopped. `run`
    describes the run (its settings and data): a checkpoint saved by another run is refused.
    A Lightning Callback of either namespace (`ganaug.lightning`).
    """

    @checked(every_n_steps=at_least(1))
    def __init__(
        self, directory: str | Path, every_n_steps: int, sampler: RunSampler, run: dict[str, Any] | None = None
    ) -> None:
        super().__init__()
        self.path = checkpoint_path(directory)
        self.run = dict(run or {})
        self.every_n_steps = every_n_steps
        self.sampler = sampler
        self._batches = 0
        self._resumed: dict[str, Any] | None = None

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        """Save when the steps done reach a multiple of every_n_steps: here, before the next batch, every
        callback has finished with the last step and nothing has drawn from the RNG for the next."""
        step = pl_module.generator_steps
        if step == 0 or step % self.every_n_steps:
            return
        self._batches = step
        for logger in trainer.loggers:
            logger.save()
        save_checkpoint(trainer, self.path)

    def state_dict(self) -> dict[str, Any]:
        """The batches the run has consumed and the RNG state as they are at this step's end."""
        return {"batches": self._batches, "rng": rng_state(), "run": self.run}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Move the sampler to the saved batch; keep the RNG state to set when training starts."""
        if state_dict["run"] != self.run:
            raise GanaugError(
                f"{self.path}: the checkpoint is of another run ({state_dict['run']}, this run is {self.run}); "
                "delete it to train from the start"
            )
        self._batches = self.sampler.start = int(state_dict["batches"])
        self._resumed = state_dict["rng"]

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Set a resumed run's RNG state back, after everything that set up the run has drawn from it."""
        if self._resumed is not None:
            set_rng_state(self._resumed)
            self._resumed = None


__getattr__ = bound_getattr(__name__)
