"""The class-conditional GAN as a LightningModule with manual optimisation of its two networks.

`ConditionalGAN` is a LightningModule of either Lightning namespace (`ganaug.lightning`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ganaug.data.imbalance import EFFECTIVE_NUMBER_BETA, effective_number_weights
from ganaug.errors import GanaugError, at_least, checked, one_of, optional, positive
from ganaug.gan import speed
from ganaug.gan.ada import AdaptiveAugment
from ganaug.gan.diffaugment import DiffAugment
from ganaug.gan.discriminators import build_discriminator
from ganaug.gan.ema import EMA
from ganaug.gan.generators import build_generator, sample_uint8, to_float
from ganaug.gan.losses import build_loss, feature_matching, gradient_penalty
from ganaug.gan.monitor import TrainingMonitor
from ganaug.gan.progressive import GrowthSchedule, grown_reals
from ganaug.gan.regularizers import LeCamAnchors, conditional_norms, group_spectral_penalty
from ganaug.lightning import Bindable, bound_getattr, namespace_for


class ConditionalGAN(Bindable):
    """A conditional generator and discriminator trained adversarially on (uint8 image, label) batches.

    Lightning 2.x needs manual optimisation for two optimisers (as in its official GAN example):
    each training step makes `d_steps` discriminator updates and then one generator update, so
    `trainer.global_step` (which counts optimiser steps) advances by `d_steps + 1` per batch.
    Labels keep the dataset's class ids; `trained_classes` are the ids the generator may be asked for.

    Data-efficient, stable training:
    - `diffaugment`: DiffAugment policy ("color,translation,cutout", any subset, "" = off) applied to
      real and generated images on every discriminator pass, in both updates;
    - `ema_decay`: exponential moving average of the generator's weights (0 = off), used by `sample`
      and exported; `ema_warmup` lowers the decay over the first updates;
    - `loss` hinge / non_saturating / wgan_gp; `gp_weight` the gradient penalty weight (None = the
      loss's own: 10 for wgan_gp, 0 otherwise); `feature_matching` weight of the generator's
      feature-matching term (0 = off);
    - `attention`: a self-attention block at the middle resolution of both networks;
    - `ada`: adaptive discriminator augmentation over the DiffAugment policy (all three operations when it is
      empty): each applied per image with a probability adapted towards `ada_target` of E[sign(D(real))],
      moving 0 -> 1 over `ada_speed` images (`ganaug.gan.ada`); logged as `ada_p`, kept in checkpoints;
    - `lecam_weight`: weight of the LeCam penalty on the discriminator (0 = off), and `gsr_weight` of group
      spectral regularisation of the generator's per-class batch-norm parameters (0 = off; generators with
      class-conditional batch norm, i.e. resnet), its classes weighed by effective number at `gsr_beta`
      (`ganaug.gan.regularizers`); both logged (`lecam`, `gsr`). gSR needs the training set's class counts:
      `use_class_counts(counts)`, which `train_gan` calls;
    - `monitor`: TrainingMonitor settings (divergence, saturation and collapse checks).
    `grow(schedule)` trains it progressively (`ganaug.gan.progressive`; generators with `set_growth`: style).

    How the step runs (`ganaug.gan.speed`): `adam` (the optimiser's implementation), `compile` (a
    torch.compile mode for both networks), `autocast` ("bf16" forward passes, float32 losses),
    `channels_last`; `step_settings` records them with the data's residency for the exported metadata.
    With `use_resident(images, labels)` the batches are index tensors into those images, kept on the device.
    """

    lightning_base = "LightningModule"

    @checked(
        lr_g=positive(), lr_d=positive(), d_steps=at_least(1), feature_matching=at_least(0), adam=one_of(speed.ADAM),
        autocast=optional(one_of(speed.AUTOCAST)), lecam_weight=at_least(0), gsr_weight=at_least(0),
        gsr_beta=EFFECTIVE_NUMBER_BETA,
    )
    def __init__(
        self,
        image_shape: tuple[int, int, int],
        num_classes: int,
        trained_classes: list[int],
        generator: str = "dcgan",
        generator_kwargs: dict | None = None,
        discriminator: str = "projection",
        discriminator_kwargs: dict | None = None,
        loss: str = "hinge",
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        betas: tuple[float, float] = (0.0, 0.99),
        d_steps: int = 1,
        diffaugment: str = "",
        ema_decay: float = 0.999,
        ema_warmup: bool = True,
        gp_weight: float | None = None,
        feature_matching: float = 0.0,
        attention: bool = False,
        monitor: dict | None = None,
        adam: str = "auto",
        compile: str | None = None,
        autocast: str | None = None,
        channels_last: bool = False,
        ada: bool = False,
        ada_target: float = 0.6,
        ada_speed: int = 100_000,
        lecam_weight: float = 0.0,
        gsr_weight: float = 0.0,
        gsr_beta: float = 0.999,
    ) -> None:
        super().__init__()
        trained = sorted({int(c) for c in trained_classes})
        if not trained or trained[0] < 0 or trained[-1] >= num_classes:
            raise GanaugError(
                f"trained_classes must be a non-empty list of class ids in 0..{num_classes - 1}, "
                f"got {list(trained_classes)}"
            )
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.trained_classes = trained
        shape = tuple(int(s) for s in image_shape)
        extra = {"attention": True} if attention else {}
        self.generator_kwargs = {**extra, **dict(generator_kwargs or {})}
        self.generator = build_generator(generator, image_shape=shape, num_classes=num_classes, **self.generator_kwargs)
        self.discriminator = build_discriminator(
            discriminator, image_shape=shape, num_classes=num_classes, **{**extra, **dict(discriminator_kwargs or {})}
        )
        if feature_matching > 0 and not hasattr(self.discriminator, "features"):
            raise GanaugError(
                f"discriminator '{discriminator}' has no features() for feature matching; "
                "use a ganaug discriminator or feature_matching=0"
            )
        self.loss = build_loss(loss, gp_weight)
        speed.check_compile(compile, self.loss.gp_weight > 0)
        self.memory_format = speed.memory_format(channels_last)
        self.generator.to(memory_format=self.memory_format)
        self.discriminator.to(memory_format=self.memory_format)
        self.augment = AdaptiveAugment(diffaugment, ada_target, ada_speed) if ada else DiffAugment(diffaugment)
        self.growth: GrowthSchedule | None = None
        self.ema = EMA(self.generator, ema_decay, ema_warmup) if ema_decay > 0 else None
        self.lecam = LeCamAnchors() if lecam_weight > 0 else None
        self.gsr_norms = conditional_norms(self.generator) if gsr_weight > 0 else []
        if gsr_weight > 0 and not self.gsr_norms:
            raise GanaugError(
                f"gsr_weight needs a generator with class-conditional batch norm, and '{generator}' has none; "
                "use generator=resnet or gsr_weight=0"
            )
        self.monitor_kwargs = dict(monitor or {})
        self.monitor = TrainingMonitor.bind(namespace_for(self))(**self.monitor_kwargs)
        self.latent_dim: int = self.generator.latent_dim
        self.step_stats: dict[str, torch.Tensor] = {}
        self.failure: str | None = None
        self.resident = False

    def grow(self, schedule: GrowthSchedule) -> None:
        """Train progressively by `schedule` (levels: the generator's resolutions), from its coarsest level."""
        if not hasattr(self.generator, "set_growth"):
            raise GanaugError(
                f"generator '{self.hparams.generator}' does not grow progressively; use generator=style, "
                "or progressive=false"
            )
        if schedule.levels != self.generator.levels:
            raise GanaugError(f"the schedule has {schedule.levels} levels, the generator {self.generator.levels}")
        self.growth = schedule
        self._set_growth(*schedule.at(0))

    def _set_growth(self, level: int, alpha: float) -> None:
        """The live generator and its EMA copy (the one sampled) at the same level and fade."""
        self.generator.set_growth(level, alpha)
        if self.ema is not None:
            self.ema.module.set_growth(level, alpha)

    def seen_reals(self, real: torch.Tensor) -> torch.Tensor:
        """Real float images as the discriminator sees them now: at the current resolution while growing."""
        if self.growth is None:
            return real
        return grown_reals(real, self.generator.level, self.generator.alpha, self.generator.levels)

    def on_train_end(self) -> None:
        """A progressive run ends as the full generator (its last level at alpha 1), the one exported."""
        if self.growth is not None:
            self._set_growth(self.generator.levels - 1, 1.0)

    def use_resident(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        """Keep the uint8 training `images` and their `labels` in the module (moved to its device with it, not
        saved in checkpoints): the training batches are then index tensors into them."""
        self.register_buffer("resident_images", images, persistent=False)
        self.register_buffer("resident_labels", labels, persistent=False)
        self.resident = True

    def use_class_counts(self, counts: list[int]) -> None:
        """Weigh the classes of gSR by the effective number of the training set's `counts` (one per class id),
        scaled to sum to 1 (not saved in checkpoints: the training set gives them again); nothing without gSR."""
        if not self.gsr_norms:
            return
        if len(counts) != self.hparams.num_classes:
            raise GanaugError(
                f"{len(counts)} class counts given for a GAN with {self.hparams.num_classes} classes; "
                "pass one count per class id of the training set"
            )
        weights = torch.tensor(effective_number_weights(counts, self.hparams.gsr_beta), device=self.device)
        self.register_buffer("gsr_class_weights", weights / weights.sum(), persistent=False)

    @property
    def step_settings(self) -> dict[str, Any]:
        """How the training step ran (`ganaug.gan.speed`), the discriminator, ADA, the regularisers' weights and
        progressive growing: what the exported generator's metadata records of its training."""
        hp = self.hparams
        return {"adam": hp.adam, "compile": hp.compile, "autocast": hp.autocast, "channels_last": hp.channels_last,
                "resident": self.resident, "discriminator": hp.discriminator, "ada": hp.ada,
                "lecam_weight": hp.lecam_weight, "gsr_weight": hp.gsr_weight, "gsr_beta": hp.gsr_beta,
                "progressive": None if self.growth is None else {"levels": self.growth.levels,
                                                                 "fade": self.growth.fade}}  # fmt: skip

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Generated float images in [-1, 1] for noise `z` and class `labels` (the live generator)."""
        return self.generator(z, labels)

    @property
    def sampling_generator(self) -> nn.Module:
        """The generator that samples come from and that is exported: the EMA copy when it is kept."""
        return self.ema.module if self.ema is not None else self.generator

    @property
    def generator_steps(self) -> int:
        """Generator updates made so far (global_step counts all d_steps + 1 optimiser steps per batch)."""
        trainer = getattr(self, "_trainer", None)
        return trainer.global_step // (self.hparams.d_steps + 1) if trainer is not None else 0

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """Adam for the generator (first) and the discriminator (second)."""
        hp = self.hparams
        settings = {"betas": tuple(hp.betas), "impl": hp.adam, "device": self.device}
        return [
            speed.adam(self.generator.parameters(), lr=hp.lr_g, **settings),
            speed.adam(self.discriminator.parameters(), lr=hp.lr_d, **settings),
        ]

    def on_fit_start(self) -> None:
        """Check gSR has its class weights; compile both networks in place (their parameters and state-dict keys
        stay theirs) when asked."""
        if self.gsr_norms and not hasattr(self, "gsr_class_weights"):
            raise GanaugError("gsr_weight needs the training set's class counts; call use_class_counts(counts) first")
        if self.hparams.compile is not None:
            self.generator.compile(mode=self.hparams.compile)
            self.discriminator.compile(mode=self.hparams.compile)

    def configure_callbacks(self) -> list[Any]:
        """The divergence / saturation / collapse monitor runs with every fit of this module."""
        return [self.monitor]

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Keep the EMA's update count, which sets its warm-up decay and is not a tensor of the state dict."""
        if self.ema is not None:
            checkpoint["ema_updates"] = self.ema.updates
        if self.hparams.ada:
            checkpoint["ada"] = self.augment.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Restore the EMA's update count."""
        if self.ema is not None:
            self.ema.updates = int(checkpoint["ema_updates"])
        if self.hparams.ada:
            self.augment.load_state_dict(checkpoint["ada"])

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, device=self.device)

    def _discriminator_step(self, real: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        n = len(labels)
        with self._autocast():
            with torch.no_grad():
                fake = self.generator(self._noise(n), labels)
            seen = self.augment(torch.cat([real, fake.to(real.dtype)]))
            logits = self.discriminator(seen, torch.cat([labels, labels])).float()
        real_logits, fake_logits = logits[:n], logits[n:]
        d_loss = self.loss.d_loss(real_logits, fake_logits)
        stats = {"d_loss": d_loss, "d_real": real_logits.mean(), "d_fake": fake_logits.mean()}
        if self.hparams.ada:
            self.augment.observe(real_logits)
            stats["ada_p"] = torch.tensor(self.augment.p, device=self.device)
        if self.loss.decision_at_zero:
            stats["d_acc"] = ((real_logits > 0).float().mean() + (fake_logits < 0).float().mean()) / 2
        total = d_loss
        if self.loss.gp_weight > 0:
            with speed.full_precision(self.device):
                stats["gp"] = gradient_penalty(lambda x: self.discriminator(x, labels), seen[:n].float(),
                                               seen[n:].float())  # fmt: skip
            total = d_loss + self.loss.gp_weight * stats["gp"]
        if self.lecam is not None:
            self.lecam.update(real_logits, fake_logits)
            stats["lecam"] = self.lecam.penalty(real_logits, fake_logits)
            total = total + self.hparams.lecam_weight * stats["lecam"]
        opt_d = self.optimizers()[1]
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(total)
        opt_d.step()
        return stats

    def _generator_step(self, real: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        weight = self.hparams.feature_matching
        with self._autocast():
            fake = self.augment(self.generator(self._noise(len(labels)), labels))
            if weight > 0:
                fake_features = self.discriminator.features(fake)
                logits = self.discriminator.logits(fake_features, labels).float()
                with torch.no_grad():
                    real_features = self.discriminator.features(self.augment(real))
            else:
                logits = self.discriminator(fake, labels).float()
        g_loss = self.loss.g_loss(logits)
        if weight > 0:
            fm = feature_matching(real_features.float(), fake_features.float())
            stats = {"g_loss": g_loss, "g_fm": fm}
            total = g_loss + weight * fm
        else:
            stats, total = {"g_loss": g_loss}, g_loss
        if self.gsr_norms:
            stats["gsr"] = group_spectral_penalty(self.gsr_norms, self.gsr_class_weights)
            total = total + self.hparams.gsr_weight * stats["gsr"]
        opt_g = self.optimizers()[0]
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(total)
        opt_g.step()
        if self.ema is not None:
            self.ema.update(self.generator)
        return stats

    def _autocast(self) -> Any:
        return speed.autocast(self.device, self.hparams.autocast)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor] | torch.Tensor, batch_idx: int) -> None:
        """d_steps discriminator updates on this batch (fresh fakes, real and fake in one pass), then one G update.
        The batch is (uint8 images, labels), or with resident data the indices of its images."""
        if self.resident:
            images, labels = self.resident_images[batch], self.resident_labels[batch]
        else:
            images, labels = batch
        if self.growth is not None:
            self._set_growth(*self.growth.at(self.generator_steps))
        real = self.seen_reals(to_float(images)).contiguous(memory_format=self.memory_format)
        opt_g, opt_d = self.optimizers()
        self.toggle_optimizer(opt_d)
        for _ in range(self.hparams.d_steps):
            stats = self._discriminator_step(real, labels)
        self.untoggle_optimizer(opt_d)
        self.toggle_optimizer(opt_g)
        stats.update(self._generator_step(real, labels))
        self.untoggle_optimizer(opt_g)
        self.step_stats = {k: v.detach() for k, v in stats.items()}
        self.log_dict({k: self.step_stats[k] for k in ("d_loss", "g_loss")}, prog_bar=True)
        self.log_dict({k: v for k, v in self.step_stats.items() if k not in ("d_loss", "g_loss")})

    def sample(self, labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One uint8 (N, C, H, W) CPU image per label from the sampling (EMA) generator, in eval mode."""
        return sample_uint8(self.sampling_generator, labels, self.latent_dim, self.trained_classes, generator)


__getattr__ = bound_getattr(__name__)
