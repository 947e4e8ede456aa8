"""The class-conditional GAN as a LightningModule with manual optimisation of its two networks."""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from ganaug.errors import GanaugError
from ganaug.gan.discriminators import build_discriminator
from ganaug.gan.generators import build_generator, sample_uint8, to_float
from ganaug.gan.losses import build_loss


class ConditionalGAN(pl.LightningModule):
    """A conditional generator and discriminator trained adversarially on (uint8 image, label) batches.

    Lightning 2.x needs manual optimisation for two optimisers (as in its official GAN example):
    each training step makes `d_steps` discriminator updates and then one generator update, so
    `trainer.global_step` (which counts optimiser steps) advances by `d_steps + 1` per batch.
    Labels keep the dataset's class ids; `trained_classes` are the ids the generator may be asked for.
    """

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
    ) -> None:
        super().__init__()
        trained = sorted({int(c) for c in trained_classes})
        if not trained or trained[0] < 0 or trained[-1] >= num_classes:
            raise GanaugError(
                f"trained_classes must be a non-empty list of class ids in 0..{num_classes - 1}, "
                f"got {list(trained_classes)}"
            )
        if d_steps < 1:
            raise GanaugError(f"d_steps must be at least 1, got {d_steps}")
        if lr_g <= 0 or lr_d <= 0:
            raise GanaugError(f"learning rates must be positive, got lr_g={lr_g}, lr_d={lr_d}")
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.trained_classes = trained
        shape = tuple(int(s) for s in image_shape)
        self.generator = build_generator(
            generator, image_shape=shape, num_classes=num_classes, **dict(generator_kwargs or {})
        )
        self.discriminator = build_discriminator(
            discriminator, image_shape=shape, num_classes=num_classes, **dict(discriminator_kwargs or {})
        )
        self.loss = build_loss(loss)
        self.latent_dim: int = self.generator.latent_dim

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Generated float images in [-1, 1] for noise `z` and class `labels`."""
        return self.generator(z, labels)

    @property
    def generator_steps(self) -> int:
        """Generator updates made so far (global_step counts all d_steps + 1 optimiser steps per batch)."""
        trainer = getattr(self, "_trainer", None)
        return trainer.global_step // (self.hparams.d_steps + 1) if trainer is not None else 0

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """Adam for the generator (first) and the discriminator (second)."""
        betas = tuple(self.hparams.betas)
        return [
            torch.optim.Adam(self.generator.parameters(), lr=self.hparams.lr_g, betas=betas),
            torch.optim.Adam(self.discriminator.parameters(), lr=self.hparams.lr_d, betas=betas),
        ]

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, device=self.device)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        """d_steps discriminator updates on this batch (fresh fakes, real and fake in one pass), then one G update."""
        images, labels = batch
        real = to_float(images)
        opt_g, opt_d = self.optimizers()

        self.toggle_optimizer(opt_d)
        for _ in range(self.hparams.d_steps):
            with torch.no_grad():
                fake = self.generator(self._noise(len(labels)), labels)
            logits = self.discriminator(torch.cat([real, fake]), torch.cat([labels, labels]))
            d_loss = self.loss.d_loss(logits[: len(labels)], logits[len(labels) :])
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(d_loss)
            opt_d.step()
        self.untoggle_optimizer(opt_d)

        self.toggle_optimizer(opt_g)
        fake = self.generator(self._noise(len(labels)), labels)
        g_loss = self.loss.g_loss(self.discriminator(fake, labels))
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(g_loss)
        opt_g.step()
        self.untoggle_optimizer(opt_g)

        self.log_dict({"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}, prog_bar=True)

    def sample(self, labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One uint8 (N, C, H, W) CPU image per label, in eval mode without gradients."""
        return sample_uint8(self.generator, labels, self.latent_dim, self.trained_classes, generator)
