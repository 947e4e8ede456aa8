"""Class-conditional generator networks, their registry, and sampling uint8 images from them."""

from __future__ import annotations

import math
from itertools import pairwise

import torch
from torch import nn

from ganaug.errors import GanaugError


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] images -> float [-1, 1], the range the GAN works in."""
    return images.float() / 127.5 - 1.0


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] images -> uint8 [0, 255], the form every ganaug image is stored in."""
    return ((images + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)


def num_resolution_steps(height: int, width: int, smallest: int = 4) -> int:
    """How many 2x resolution changes lead from about `smallest` pixels to the smaller side.

    8 -> 1, 28 -> 2 (base 7), 32 -> 3, 64 -> 4; sizes below 2 * `smallest` get none.
    """
    side = min(height, width)
    return max(0, int(math.floor(math.log2(side / smallest)))) if side >= smallest else 0


def check_image_shape(image_shape: tuple[int, int, int], num_classes: int) -> tuple[int, int, int]:
    """Validate a (C, H, W) shape and a class count for a network; return the shape as ints."""
    if len(image_shape) != 3 or any(int(s) < 1 for s in image_shape):
        raise GanaugError(f"image_shape must be (C, H, W) with positive sizes, got {tuple(image_shape)}")
    if num_classes < 1:
        raise GanaugError(f"num_classes must be at least 1, got {num_classes}")
    return tuple(int(s) for s in image_shape)  # type: ignore[return-value]


class DCGANGenerator(nn.Module):
    """DCGAN generator conditioned on a class: [z, embed(y)] -> linear -> base map -> 2x up-blocks -> tanh.

    The number of 2x transposed-convolution blocks is chosen from (H, W) so the base map is about
    4 to 7 pixels; a size that is not base * 2**n is generated slightly larger and centre-cropped.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        num_classes: int,
        latent_dim: int = 64,
        base_channels: int = 64,
    ) -> None:
        super().__init__()
        self.image_shape = check_image_shape(image_shape, num_classes)
        if latent_dim < 1 or base_channels < 1:
            raise GanaugError(f"latent_dim and base_channels must be positive, got {latent_dim}, {base_channels}")
        channels, height, width = self.image_shape
        self.latent_dim = latent_dim
        steps = num_resolution_steps(height, width)
        self.base_size = (math.ceil(height / 2**steps), math.ceil(width / 2**steps))
        widths = [base_channels * min(2 ** (steps - i), 8) for i in range(steps + 1)]
        self.embed = nn.Embedding(num_classes, latent_dim)
        self.project = nn.Linear(2 * latent_dim, widths[0] * self.base_size[0] * self.base_size[1], bias=False)
        self.base_norm = nn.Sequential(nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(
            *(
                nn.Sequential(
                    nn.ConvTranspose2d(w_in, w_out, kernel_size=4, stride=2, padding=1, bias=False),
                    nn.BatchNorm2d(w_out),
                    nn.ReLU(inplace=True),
                )
                for w_in, w_out in pairwise(widths)
            )
        )
        self.to_image = nn.Conv2d(widths[-1], channels, kernel_size=3, padding=1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] of `image_shape`, one per (noise, label) row."""
        h = self.project(torch.cat([z, self.embed(labels)], dim=1))
        h = self.base_norm(h.view(len(z), -1, *self.base_size))
        x = torch.tanh(self.to_image(self.blocks(h)))
        _, height, width = self.image_shape
        top, left = (x.shape[2] - height) // 2, (x.shape[3] - width) // 2
        return x[:, :, top : top + height, left : left + width]


GENERATORS: dict[str, type[nn.Module]] = {"dcgan": DCGANGenerator}


def build_generator(name: str, **kwargs) -> nn.Module:
    """Build the generator registered as `name` with its constructor `kwargs`."""
    if name not in GENERATORS:
        raise GanaugError(f"unknown generator '{name}'; known generators: {', '.join(sorted(GENERATORS))}")
    return GENERATORS[name](**kwargs)


@torch.no_grad()
def sample_uint8(
    net: nn.Module,
    labels: torch.Tensor,
    latent_dim: int,
    trained_classes: list[int],
    generator: torch.Generator | None = None,
    batch_size: int = 1024,
) -> torch.Tensor:
    """Draw one uint8 image (N, C, H, W, on CPU) per label from `net` in eval mode.

    The noise is drawn at once on the CPU from `generator`, so a seed gives the same images
    whatever `batch_size` or device. A label the network was not trained on is refused.
    """
    labels = torch.as_tensor(labels, dtype=torch.int64).reshape(-1)
    untrained = sorted(set(labels.tolist()) - set(trained_classes))
    if untrained:
        raise GanaugError(
            f"classes {untrained} were not trained by this generator "
            f"(trained classes: {sorted(trained_classes)}); "
            "ask only for those, or retrain the GAN with these classes"
        )
    if batch_size < 1:
        raise GanaugError(f"batch_size must be at least 1, got {batch_size}")
    device = next(net.parameters()).device
    z = torch.randn(len(labels), latent_dim, generator=generator)
    was_training = net.training
    net.eval()
    try:
        chunks = [
            to_uint8(net(z[i : i + batch_size].to(device), labels[i : i + batch_size].to(device))).cpu()
            for i in range(0, len(labels), batch_size)
        ]
    finally:
        net.train(was_training)
    if not chunks:
        return torch.empty(0, *net.image_shape, dtype=torch.uint8)
    return torch.cat(chunks)
