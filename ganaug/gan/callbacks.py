"""Training callbacks for the GAN: sample grids written while it learns, and snapshots of its generator."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from torchvision.utils import make_grid, save_image

from ganaug.errors import GanaugError
from ganaug.fileio import atomic_path
from ganaug.gan.export import export_generator
from ganaug.lightning import Bindable, bound_getattr, is_lightning


class SampleGridCallback(Bindable):
    """Write a PNG grid of generated samples (one row per trained class, fixed noise) as the GAN trains.

    Files are `directory/step_{generator_step:06d}.png` every `every_n_steps` generator updates and
    `directory/final.png` at the end of training; the grid also goes to a TensorBoard logger if present.
    """

    lightning_base = "Callback"

    def __init__(self, directory: Path, every_n_steps: int = 500, per_class: int = 8) -> None:
        super().__init__()
        if every_n_steps < 1 or per_class < 1:
            raise GanaugError(f"every_n_steps and per_class must be at least 1, got {every_n_steps} and {per_class}")
        self.directory = Path(directory)
        self.every_n_steps = every_n_steps
        self.per_class = per_class
        self._last_written = -1

    def _write(self, trainer: pl.Trainer, pl_module: pl.LightningModule, name: str, step: int) -> None:
        if not trainer.is_global_zero:
            return
        labels = torch.tensor(pl_module.trained_classes).repeat_interleave(self.per_class)
        images = pl_module.sample(labels, generator=torch.Generator().manual_seed(0))
        grid = make_grid(images.float() / 255.0, nrow=self.per_class)
        self.directory.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.directory / name) as tmp:
            save_image(grid, tmp, format="png")
        for logger in trainer.loggers:
            if is_lightning(logger, "loggers.TensorBoardLogger"):
                logger.experiment.add_image("gan/samples", grid, global_step=step)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args) -> None:
        """Write a grid when the generator step count reaches a multiple of every_n_steps."""
        step = pl_module.generator_steps
        if step > 0 and step % self.every_n_steps == 0 and step != self._last_written:
            self._last_written = step
            self._write(trainer, pl_module, f"step_{step:06d}.png", step)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Write the final grid."""
        self._write(trainer, pl_module, "final.png", pl_module.generator_steps)


def snapshot_dir(directory: Path, step: int) -> Path:
    """Where the generator snapshot of generator step `step` is exported under `directory`."""
    return Path(directory) / f"step{step}"


class SnapshotCallback(Bindable):
    """Export the GAN's sampling (EMA) generator to `snapshot_dir(directory, S)` when it has made S updates.

    A snapshot at S steps is the generator a run of S steps would export: training does not depend on it.
    """

    lightning_base = "Callback"

    def __init__(self, directory: Path, steps: list[int], class_names: list[str]) -> None:
        super().__init__()
        self.directory = Path(directory)
        self.pending = sorted(steps)
        self.class_names = list(class_names)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """A resumed run exported the snapshots up to the step it resumes from before it was stopped."""
        self.pending = [s for s in self.pending if s > pl_module.generator_steps]

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args) -> None:
        """Export once the generator step count reaches the next pending snapshot."""
        if self.pending and pl_module.generator_steps >= self.pending[0] and trainer.is_global_zero:
            step = self.pending.pop(0)
            export_generator(pl_module, snapshot_dir(self.directory, step), self.class_names)


__getattr__ = bound_getattr(__name__)
