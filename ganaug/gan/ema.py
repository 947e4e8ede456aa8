"""An exponential moving average of a network's weights (the generator that samples are drawn from).

GAN weights oscillate around a good solution; their running average gives visibly better and more
stable samples than the last iterate (Yazici et al. 2019; BigGAN, StyleGAN).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ganaug.errors import GanaugError


class EMA(nn.Module):
    """A frozen copy of `model` whose parameters follow `decay * ema + (1 - decay) * model` at each update.

    Buffers (batch-norm running statistics) are copied, not averaged: they describe the live network's
    activations. The copy is only ever run for sampling, which switches it to eval mode. With `warmup`
    the decay used at update t is min(decay, (1 + t) / (10 + t)), so the average forgets the random
    initial weights in short runs instead of keeping (decay ** steps) of them.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999, warmup: bool = True) -> None:
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise GanaugError(f"ema_decay must be in [0, 1), got {decay}; 0.999 is usual, 0 turns the average off")
        self.decay = decay
        self.warmup = warmup
        self.module = copy.deepcopy(model).requires_grad_(False)
        self.updates = 0

    def decay_at(self, update: int) -> float:
        """The decay applied at the `update`-th update (counting from 0)."""
        return min(self.decay, (1.0 + update) / (10.0 + update)) if self.warmup else self.decay

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the averaged parameters towards `model`'s and copy its buffers."""
        decay = self.decay_at(self.updates)
        ema_params = list(self.module.parameters())
        params = [p.detach() for p in model.parameters()]
        if len(ema_params) != len(params):
            raise GanaugError("the EMA copy and the model have different parameters; build the EMA from this model")
        torch._foreach_lerp_(ema_params, params, 1.0 - decay)
        for ema_buf, buf in zip(self.module.buffers(), model.buffers(), strict=True):
            ema_buf.copy_(buf)
        self.updates += 1
