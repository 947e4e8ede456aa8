"""Training callbacks for the GAN: sample sheets written while it learns, one progress bar over its steps,
and snapshots of its generator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from PIL import Image

from ganaug.data.dataset import ImageDataset
from ganaug.errors import GanaugError
from ganaug.fileio import atomic_path
from ganaug.gan.export import export_generator
from ganaug.gan.sheet import sample_sheet
from ganaug.lightning import Bindable, bound_getattr, is_lightning
from ganaug.progress import bar


class SampleGridCallback(Bindable):
    """Write a sample sheet as the GAN trains: per trained class, its name, `per_class` real images (from
    `real`, the GAN's training set, when given) and `per_class` generated ones (fixed noise), scaled up to a
    size a person can judge (`ganaug.gan.sheet`).

    Files are `directory/step_{generator_step:06d}.png` every `every_n_steps` generator updates and
    `directory/final.png` at the end of training. The sheet also goes to the run's loggers that take images:
    TensorBoard (`add_image`) and those with `log_image` (Weights & Biases), as `gan/samples`.
    """

    lightning_base = "Callback"

    def __init__(
        self, directory: Path, every_n_steps: int = 500, per_class: int = 8, real: ImageDataset | None = None
    ) -> None:
        super().__init__()
        if every_n_steps < 1 or per_class < 1:
            raise GanaugError(f"every_n_steps and per_class must be at least 1, got {every_n_steps} and {per_class}")
        self.directory = Path(directory)
        self.every_n_steps = every_n_steps
        self.per_class = per_class
        self.real = real
        self._last_written = -1

    def _real_rows(self, classes: list[int], image_shape: tuple[int, ...]) -> np.ndarray | None:
        """The first `per_class` real images of each class (blank where a class has fewer)."""
        if self.real is None:
            return None
        rows = np.zeros((len(classes), self.per_class, *image_shape), dtype=np.uint8)
        for r, c in enumerate(classes):
            found = torch.nonzero(self.real.labels == c).flatten()[: self.per_class]
            rows[r, : len(found)] = self.real.images[found].numpy()
        return rows

    def _write(self, trainer: pl.Trainer, pl_module: pl.LightningModule, name: str, step: int) -> None:
        if not trainer.is_global_zero:
            return
        classes = list(pl_module.trained_classes)
        labels = torch.tensor(classes).repeat_interleave(self.per_class)
        images = pl_module.sample(labels, generator=torch.Generator().manual_seed(0)).cpu().numpy()
        generated = images.reshape(len(classes), self.per_class, *images.shape[1:])
        names = [self.real.class_names[c] if self.real is not None else str(c) for c in classes]
        sheet = sample_sheet(generated, names, self._real_rows(classes, images.shape[1:]),
                             title=f"generator step {step}")  # fmt: skip
        self.directory.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.directory / name) as tmp:
            Image.fromarray(sheet).save(tmp, format="png")
        for logger in trainer.loggers:
            if is_lightning(logger, "loggers.TensorBoardLogger"):
                logger.experiment.add_image("gan/samples", sheet, global_step=trainer.global_step, dataformats="HWC")
            elif callable(getattr(logger, "log_image", None)):
                logger.log_image(key="gan/samples", images=[sheet], step=trainer.global_step)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args) -> None:
        """Write a sheet when the generator step count reaches a multiple of every_n_steps."""
        step = pl_module.generator_steps
        if step > 0 and step % self.every_n_steps == 0 and step != self._last_written:
            self._last_written = step
            self._write(trainer, pl_module, f"step_{step:06d}.png", step)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Write the final sheet."""
        self._write(trainer, pl_module, "final.png", pl_module.generator_steps)


class StepProgressBar(Bindable):
    """One bar over the GAN's `steps` generator updates with an ETA and the latest losses, in place of
    Lightning's per-epoch bars (the GAN's "epochs" are an artefact of its data order). `train_gan` adds it
    where a bar shows (`ganaug.progress.shown`); a resumed run's bar starts where the run resumed."""

    lightning_base = "callbacks.ProgressBar"

    def __init__(self, steps: int) -> None:
        super().__init__()
        self.steps = steps
        self._enabled = True
        self._bar: Any = None

    def disable(self) -> None:
        """Lightning turns bars off on ranks other than zero."""
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    @property
    def is_enabled(self) -> bool:
        return self._enabled

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._bar = bar(self.steps, "gan", unit="step", show=self._enabled, initial=pl_module.generator_steps,
                        leave=True)  # fmt: skip

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        if self._bar is None:
            return
        self._bar.update(pl_module.generator_steps - self._bar.n)
        losses = {k: f"{float(v):.3f}" for k, v in trainer.progress_bar_metrics.items() if k in ("d_loss", "g_loss")}
        if losses:
            self._bar.set_postfix(losses, refresh=False)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._bar is not None:
            self._bar.update(pl_module.generator_steps - self._bar.n)
            self._bar.close()
            self._bar = None

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


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
