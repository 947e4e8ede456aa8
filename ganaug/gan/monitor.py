"""Watching a GAN while it trains: divergence, discriminator saturation, and classes collapsing to copies.

A GAN that has diverged (non-finite losses) or whose samples of a class have become near-copies of
each other does not recover by training longer; stopping it early with a clear message saves the
run's time and keeps a broken generator out of the synthetic bank. A saturated discriminator (it
tells real from fake almost always) often precedes both, so it is reported as a warning.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

import pytorch_lightning as pl
import torch

from ganaug.errors import GanaugError, at_least, between, checked
from ganaug.gan.generators import to_float
from ganaug.lightning import CallbackCore, bound_getattr

log = logging.getLogger(__name__)


class GanStopped(GanaugError):
    """The monitor stopped the GAN (diverged, or a class collapsed): a result of the run, not bad input, so a
    benchmark can record it and go on to its next configuration."""


_TRY = "try lower lr_g/lr_d, another loss (hinge, non_saturating, wgan_gp) or diffaugment=translation,cutout"


def mean_pairwise_distance(images: torch.Tensor) -> float:
    """Mean Euclidean distance between every two images (N >= 2), divided by sqrt(pixels): an RMS pixel gap."""
    flat = images.flatten(1).float()
    if len(flat) < 2:
        return 0.0
    return float(torch.pdist(flat).mean() / flat.shape[1] ** 0.5)


class TrainingMonitor(CallbackCore):
    """Checks a ConditionalGAN's training and stops a run that cannot recover, with a one-line reason.

    - Non-finite losses (checked every `check_every_n_steps` generator steps, one device sync per
      check): stop at once.
    - Saturation: when the discriminator's accuracy (real logits > 0, fake < 0) averaged over the last
      `saturation_window` generator steps reaches `saturation_accuracy`, log a warning (again only after
      it recovered). 0 for the window turns it off; losses without a decision boundary (wgan_gp) skip it.
    - Collapse: every `collapse_every_n_steps` generator steps, `collapse_samples` fixed-noise samples of
      each trained class are drawn; when their mean pairwise distance is below `collapse_ratio` times that
      of the class's real training images, log a warning; after `collapse_patience` such checks in a row,
      stop. 0 steps turns it off; classes with fewer than 2 real images are not checked.
    A stop sets `trainer.should_stop` and the module's `failure` (train_gan raises it as GanStopped). In a
    distributed run every rank checks at the same steps and the decision is reduced across them, so all stop.
    A Lightning Callback of either namespace (`ganaug.lightning`).
    """

    @checked(
        check_every_n_steps=at_least(1),
        saturation_accuracy=between(0, 1, low_open=True),
        saturation_window=at_least(0),
        collapse_every_n_steps=at_least(0),
        collapse_ratio=at_least(0),
        collapse_patience=at_least(1),
        collapse_samples=at_least(2),
    )
    def __init__(
        self,
        check_every_n_steps: int = 25,
        saturation_accuracy: float = 0.99,
        saturation_window: int = 200,
        collapse_every_n_steps: int = 250,
        collapse_ratio: float = 0.1,
        collapse_patience: int = 3,
        collapse_samples: int = 16,
    ) -> None:
        super().__init__()
        self.check_every_n_steps = check_every_n_steps
        self.saturation_accuracy = saturation_accuracy
        self.saturation_window = saturation_window
        self.collapse_every_n_steps = collapse_every_n_steps
        self.collapse_ratio = collapse_ratio
        self.collapse_patience = collapse_patience
        self.collapse_samples = collapse_samples
        self._reset()

    def _reset(self) -> None:
        self._pending: list[dict[str, torch.Tensor]] = []
        self._accuracy: deque[float] = deque(maxlen=max(self.saturation_window, 1))
        self._saturated = False
        self._streaks: dict[int, int] = {}
        self.reference: dict[int, float] = {}
        self._reals: dict[int, torch.Tensor] = {}
        self._class_names: list[str] | None = None
        self.diversity: dict[int, float] = {}

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        """Start each fit with nothing seen (a resumed fit then loads what its run had seen)."""
        self._reset()

    def state_dict(self) -> dict[str, Any]:
        """What the checks have seen so far, so a resumed run warns and stops as the uninterrupted one would."""
        return {
            "pending": self._pending,
            "accuracy": list(self._accuracy),
            "saturated": self._saturated,
            "streaks": self._streaks,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what a run's checks had seen."""
        self._pending = list(state_dict["pending"])
        self._accuracy.extend(state_dict["accuracy"])
        self._saturated = bool(state_dict["saturated"])
        self._streaks = {int(c): int(n) for c, n in state_dict["streaks"].items()}

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Measure each trained class's real diversity, from the training set when it holds images and labels."""
        dataset = getattr(getattr(trainer, "train_dataloader", None), "dataset", None)
        self._class_names = getattr(dataset, "class_names", None)
        if self.collapse_every_n_steps and hasattr(dataset, "images") and hasattr(dataset, "labels"):
            self.reference = self.real_diversity(dataset.images, dataset.labels, pl_module.trained_classes)

    def real_diversity(self, images: torch.Tensor, labels: torch.Tensor, classes: list[int]) -> dict[int, float]:
        """Mean pairwise distance of up to 4 * collapse_samples real images per class (classes with >= 2)."""
        self._reals.clear()
        for c in classes:
            own = images[labels == c][: 4 * self.collapse_samples]
            if len(own) >= 2:
                self._reals[c] = to_float(own)
        return {c: mean_pairwise_distance(own) for c, own in self._reals.items()}

    def _diversity_now(self, pl_module: pl.LightningModule, c: int) -> float:
        """Class c's real diversity as the discriminator sees the images now (a growing GAN: at its current
        resolution, which its samples are at too)."""
        if getattr(pl_module, "growth", None) is None or c not in self._reals:
            return self.reference[c]
        return mean_pairwise_distance(pl_module.seen_reals(self._reals[c]))

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args) -> None:
        """Queue this step's statistics (no device work); every check_every_n_steps read them at once and check."""
        stats = pl_module.step_stats
        if not stats:
            return
        self._pending.append(stats)
        step = pl_module.generator_steps
        if step % self.check_every_n_steps == 0:
            self._check_losses(trainer, pl_module, step)
        if self.collapse_every_n_steps and step % self.collapse_every_n_steps == 0 and not trainer.should_stop:
            self.check_collapse(trainer, pl_module, step)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Check the steps since the last check, so a run never ends with unseen non-finite losses."""
        if self._pending and pl_module.failure is None:
            self._check_losses(trainer, pl_module, pl_module.generator_steps)

    def _check_losses(self, trainer: pl.Trainer, pl_module: pl.LightningModule, step: int) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        keys = list(pending[0])
        table = torch.stack([p[k].float() for p in pending for k in keys]).view(len(pending), -1).cpu()  # one sync
        finite = bool(torch.isfinite(table).all())
        if self.agreed(trainer, not finite):
            values = ", ".join(f"{k}={float(v):.4g}" for k, v in pl_module.step_stats.items())
            seen = f"({values})" if not finite else "(on another rank)"
            message = f"GAN training diverged: non-finite loss by generator step {step} {seen}; {_TRY}"
            self.stop(trainer, pl_module, message)
            return
        if not self.saturation_window or "d_acc" not in keys:
            return
        self._accuracy.extend(table[:, keys.index("d_acc")].tolist())
        if len(self._accuracy) < self.saturation_window:
            return
        mean = sum(self._accuracy) / len(self._accuracy)
        if mean >= self.saturation_accuracy and not self._saturated:
            log.warning(
                "GAN discriminator saturated at generator step %d: accuracy %.3f over the last %d steps; its "
                "gradients may stop helping the generator (%s)", step, mean, len(self._accuracy), _TRY,
            )  # fmt: skip
        self._saturated = mean >= self.saturation_accuracy

    def check_collapse(self, trainer: pl.Trainer, pl_module: pl.LightningModule, step: int) -> None:
        """Sample each reference class with fixed noise and compare its diversity with the real images'."""
        names = self._class_names
        stop = None
        for c in self.reference:
            real = self._diversity_now(pl_module, c)
            if real <= 0:
                continue
            labels = torch.full((self.collapse_samples,), c, dtype=torch.int64)
            fake = pl_module.sample(labels, generator=torch.Generator().manual_seed(c))
            self.diversity[c] = mean_pairwise_distance(to_float(fake))
            ratio = self.diversity[c] / real
            self._streaks[c] = self._streaks.get(c, 0) + 1 if ratio < self.collapse_ratio else 0
            if not self._streaks[c]:
                continue
            name = names[c] if names is not None else str(c)
            what = (
                f"GAN samples of class '{name}' collapsed to near-copies at generator step {step} "
                f"(diversity {ratio:.3f} of the real images', below {self.collapse_ratio}) "
            )
            if self._streaks[c] >= self.collapse_patience:
                stop = f"{what}for {self._streaks[c]} checks in a row; {_TRY}"
                break
            log.warning("%scheck %d of %d before stopping", what, self._streaks[c], self.collapse_patience)
        if self.agreed(trainer, stop is not None):
            elsewhere = f"GAN samples collapsed on another rank at generator step {step}; {_TRY}"
            self.stop(trainer, pl_module, stop or elsewhere)

    @staticmethod
    def agreed(trainer: pl.Trainer, stop: bool) -> bool:
        """Whether any rank asks to stop (every rank calls this at the same step, as Lightning's EarlyStopping
        reduces its decision): the ranks of a distributed run stop together, so none waits for the others."""
        strategy = getattr(trainer, "strategy", None)
        return bool(strategy.reduce_boolean_decision(stop, all=False)) if strategy is not None else stop

    def stop(self, trainer: pl.Trainer, pl_module: pl.LightningModule, message: str) -> None:
        """End the fit cleanly and leave the reason on the module (`failure`) for train_gan to raise."""
        pl_module.failure = message
        trainer.should_stop = True


__getattr__ = bound_getattr(__name__)
