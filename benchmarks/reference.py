"""Plain hand-written PyTorch loops: the references ganaug's throughput is measured against.

Each loop does the same work as ganaug's counterpart with the same networks and batch size, the way a
user writes it without any library: a DataLoader over a TensorDataset, one optimiser step per network,
the EMA as a `lerp_` per parameter, samples gathered in a list and saved with `np.save`.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so a wall-clock reading covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def gan_steps_per_second(
    generator: nn.Module,
    discriminator: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    batch_size: int,
    steps: int,
    warmup: int,
    device: torch.device,
    latent_dim: int,
    ema_decay: float = 0.999,
) -> float:
    """Hinge-loss GAN steps (one D and one G update, EMA of G) per second after `warmup` steps."""
    generator, discriminator = generator.to(device), discriminator.to(device)
    ema = copy.deepcopy(generator).requires_grad_(False)
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.0, 0.99))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.0, 0.99))
    loader = DataLoader(TensorDataset(images, labels), batch_size=batch_size, shuffle=True, drop_last=True)
    done, start = 0, 0.0
    while done < warmup + steps:
        for real, y in loader:
            if done == warmup:
                sync(device)
                start = time.perf_counter()
            real = real.to(device).float().div(127.5).sub(1.0)
            y = y.to(device)
            with torch.no_grad():
                fake = generator(torch.randn(len(y), latent_dim, device=device), y)
            logits = discriminator(torch.cat([real, fake]), torch.cat([y, y]))
            d_loss = F.relu(1.0 - logits[: len(y)]).mean() + F.relu(1.0 + logits[len(y) :]).mean()
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            fake = generator(torch.randn(len(y), latent_dim, device=device), y)
            g_loss = -discriminator(fake, y).mean()
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            with torch.no_grad():
                for e, p in zip(ema.parameters(), generator.parameters(), strict=True):
                    e.lerp_(p, 1.0 - ema_decay)
            done += 1
            if done == warmup + steps:
                break
    sync(device)
    return steps / (time.perf_counter() - start)


@torch.no_grad()
def generate_to_disk(
    generator: nn.Module, n: int, num_classes: int, latent_dim: int, batch_size: int, device: torch.device, path: Path
) -> float:
    """Samples per second: generate `n` uint8 images batch by batch and save them as one .npy file."""
    generator = generator.to(device).eval()
    sync(device)
    start = time.perf_counter()
    chunks = []
    for i in range(0, n, batch_size):
        m = min(batch_size, n - i)
        y = torch.randint(0, num_classes, (m,), device=device)
        x = generator(torch.randn(m, latent_dim, device=device), y)
        chunks.append(x.add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8).cpu().numpy())
    np.save(path, np.concatenate(chunks))
    return n / (time.perf_counter() - start)


def load_epoch_seconds(loader: DataLoader) -> float:
    """Seconds to draw every batch of `loader` once, with no model: the data pipeline's own cost."""
    start = time.perf_counter()
    for _ in loader:
        pass
    return time.perf_counter() - start


def train_epoch_seconds(model: nn.Module, loader: DataLoader, device: torch.device) -> float:
    """Seconds for one epoch of AdamW cross-entropy training over `loader` (uint8 images scaled to [0, 1])."""
    model = model.to(device).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sync(device)
    start = time.perf_counter()
    for batch in loader:
        images, y = batch[0].to(device), batch[1].to(device)
        loss = F.cross_entropy(model(images.float().div(255.0)), y)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    sync(device)
    return time.perf_counter() - start
