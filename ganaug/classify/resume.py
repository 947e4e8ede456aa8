"""Resuming a killed classifier fit at its last finished epoch, to the weights an uninterrupted fit ends with.

Lightning's checkpoint holds the weights, the optimiser and the epoch. What the next epoch draws comes
from random streams besides: torch's global generator (plain shuffling, mixup, worker seeds), the
sampler's own generator, and the classical transform's albumentations generators. `FitCheckpoint` saves
where each stands at every epoch's end, beside Lightning's state, and sets them back when a fit resumes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from ganaug.errors import GanaugError
from ganaug.gan.resume import checkpoint_path, rng_state, save_checkpoint, set_rng_state
from ganaug.lightning import CallbackCore, bound_getattr


def _state(stream: Any) -> Any:
    return stream.get_state() if isinstance(stream, torch.Generator) else stream.state_dict()


def _set_state(stream: Any, state: Any) -> None:
    if isinstance(stream, torch.Generator):
        stream.set_state(state)
    else:
        stream.load_state_dict(state)


def random_streams(*owners: Any) -> list[Any]:
    """The random streams of a fit's sampler and dataset: each `generator` (torch.Generator) and each
    `transform` with a `state_dict` (ganaug's classical transform) found on them."""
    streams: list[Any] = []
    for owner in owners:
        generator = getattr(owner, "generator", None)
        if isinstance(generator, torch.Generator):
            streams.append(generator)
        transform = getattr(owner, "transform", None)
        if callable(getattr(transform, "state_dict", None)) and callable(getattr(transform, "load_state_dict", None)):
            streams.append(transform)
    return streams


class FitCheckpoint(CallbackCore):
    """Save the fit to `checkpoint_path(directory)` at every epoch's end, replacing the last one atomically,
    with torch's random state and that of `streams` (torch.Generators, or objects with state_dict and
    load_state_dict). A fit resumed from that file (`Trainer.fit(ckpt_path=...)`) gets them back as its
    checkpoint is restored. `run` describes the fit: a checkpoint of another fit is refused.
    A Lightning Callback of either namespace (`ganaug.lightning`).
    """

    def __init__(self, directory: str | Path, streams: Sequence[Any] = (), run: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.path = checkpoint_path(directory)
        self.streams = list(streams)
        self.run = dict(run or {})

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Save once the epoch's batches (and its validation) are done: nothing has drawn for the next."""
        save_checkpoint(trainer, self.path)

    def state_dict(self) -> dict[str, Any]:
        """The random streams as they stand at this epoch's end, and the fit's description."""
        return {"rng": rng_state(), "streams": [_state(s) for s in self.streams], "run": self.run}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Check the checkpoint is this fit's and set its random streams back, now: Lightning restores
        callbacks before it makes the first epoch's data iterator, which the uninterrupted fit made at the
        saved point (the sanity check in between keeps the random state as it found it)."""
        if state_dict["run"] != self.run or len(state_dict["streams"]) != len(self.streams):
            raise GanaugError(
                f"{self.path}: the checkpoint is of another fit ({state_dict['run']}, this fit is {self.run}); "
                "delete it to train from the start"
            )
        set_rng_state(state_dict["rng"])
        for stream, state in zip(self.streams, state_dict["streams"], strict=True):
            _set_state(stream, state)


__getattr__ = bound_getattr(__name__)
