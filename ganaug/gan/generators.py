"""Class-conditional generator networks, their registry, and sampling uint8 images from them."""

from __future__ import annotations

from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

from ganaug.errors import GanaugError
from ganaug.gan.attention import SelfAttention, middle_level
from ganaug.gan.layout import center_crop, generator_plan
from ganaug.gan.registry import build_registered
from ganaug.gan.style import StyleGenerator


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] images -> float [-1, 1], the range the GAN works in."""
    return images.float() / 127.5 - 1.0


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] images -> uint8 [0, 255], the form every ganaug image is stored in."""
    return ((images + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)


class DCGANGenerator(nn.Module):
    """DCGAN generator conditioned on a class: [z, embed(y)] -> linear -> base map -> 2x up-blocks -> tanh.

    The number of 2x transposed-convolution blocks is chosen from (H, W) so the base map is about
    4 to 7 pixels; a size that is not base * 2**n is generated slightly larger and centre-cropped.
    `attention` adds a self-attention block at the middle resolution.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        num_classes: int,
        latent_dim: int = 64,
        base_channels: int = 64,
        attention: bool = False,
    ) -> None:
        super().__init__()
        plan = generator_plan(image_shape, num_classes, latent_dim, base_channels)
        self.image_shape, steps, self.base_size, widths = plan
        self.latent_dim = latent_dim
        self.embed = nn.Embedding(num_classes, latent_dim)
        self.project = nn.Linear(2 * latent_dim, widths[0] * self.base_size[0] * self.base_size[1], bias=False)
        self.base_norm = nn.Sequential(nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        blocks: list[nn.Module] = [
            nn.Sequential(
                nn.ConvTranspose2d(w_in, w_out, kernel_size=4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(w_out),
                nn.ReLU(inplace=True),
            )
            for w_in, w_out in pairwise(widths)
        ]
        if attention:
            level = middle_level(steps)
            blocks.insert(level, SelfAttention(widths[level]))
        self.blocks = nn.Sequential(*blocks)
        self.to_image = nn.Conv2d(widths[-1], self.image_shape[0], kernel_size=3, padding=1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] of `image_shape`, one per (noise, label) row."""
        h = self.project(torch.cat([z, self.embed(labels)], dim=1))
        h = self.base_norm(h.view(len(z), -1, *self.base_size))
        return center_crop(torch.tanh(self.to_image(self.blocks(h))), *self.image_shape[1:])


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose gain and bias are looked up per class: bn(x) * (1 + gain[y]) + bias[y].

    Gains and biases start at 0, so it begins as a plain (affine-free) batch norm.
    """

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Embedding(num_classes, channels)
        self.bias = nn.Embedding(num_classes, channels)
        nn.init.zeros_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Normalised `x` scaled and shifted by its class's parameters."""
        gain = 1.0 + self.gain(labels)[:, :, None, None]
        return self.norm(x) * gain + self.bias(labels)[:, :, None, None]


class ResidualUpBlock(nn.Module):
    """SNGAN/BigGAN generator block: CBN-ReLU-up-conv3-CBN-ReLU-conv3, plus an up-conv1 shortcut."""

    def __init__(self, in_channels: int, out_channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm1 = ConditionalBatchNorm2d(in_channels, num_classes)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = ConditionalBatchNorm2d(out_channels, num_classes)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Twice the resolution of `x`, `out_channels` channels."""
        h = F.interpolate(F.relu(self.norm1(x, labels)), scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h), labels)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class ResNetGenerator(nn.Module):
    """Residual generator with class-conditional batch norm (Miyato & Koyama 2018; Brock et al. 2019).

    z -> linear -> base map (about 4 to 7 pixels) -> residual 2x up-blocks whose batch norms take
    per-class gains and biases -> BN-ReLU-conv3 -> tanh, centre-cropped to the image size. The class
    enters only through the conditional batch norms. `attention` adds self-attention at the middle
    resolution.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        num_classes: int,
        latent_dim: int = 64,
        base_channels: int = 64,
        attention: bool = False,
    ) -> None:
        super().__init__()
        plan = generator_plan(image_shape, num_classes, latent_dim, base_channels)
        self.image_shape, steps, self.base_size, widths = plan
        self.latent_dim = latent_dim
        self.project = nn.Linear(latent_dim, widths[0] * self.base_size[0] * self.base_size[1])
        self.blocks = nn.ModuleList(ResidualUpBlock(a, b, num_classes) for a, b in pairwise(widths))
        self.attention_level = middle_level(steps) if attention else -1
        self.attention = SelfAttention(widths[self.attention_level]) if attention else None
        self.to_image = nn.Sequential(
            nn.BatchNorm2d(widths[-1]),
            nn.ReLU(),
            nn.Conv2d(widths[-1], self.image_shape[0], 3, padding=1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] of `image_shape`, one per (noise, label) row."""
        h = self.project(z).view(len(z), -1, *self.base_size)
        for level in range(len(self.blocks) + 1):
            if level == self.attention_level:
                h = self.attention(h)
            if level < len(self.blocks):
                h = self.blocks[level](h, labels)
        return center_crop(self.to_image(h), *self.image_shape[1:])


GENERATORS: dict[str, type[nn.Module]] = {"dcgan": DCGANGenerator, "resnet": ResNetGenerator, "style": StyleGenerator}


def build_generator(name: str, **kwargs) -> nn.Module:
    """Build the generator registered as `name` with its constructor `kwargs`."""
    return build_registered("generator", GENERATORS, name, kwargs)


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
