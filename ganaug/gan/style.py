"""A StyleGAN-style conditional generator (Karras et al. 2019, 2020), sized for 28x28 to 64x64 images.

A mapping network turns the noise and the class embedding into a style vector w; the class enters only
there. The synthesis network starts from a learned constant map and at each resolution runs modulated,
demodulated 3x3 convolutions (StyleGAN2), each followed by per-pixel noise scaled per channel, a bias and a
leaky ReLU; a modulated 1x1 convolution per resolution turns the features into an image, and the images of
the resolutions are summed after upsampling (StyleGAN2's skip generator). During training, `mixing` of the
batches take the styles of a second noise from a random layer on (style mixing), so the layers do not rely
on each other's styles. That skip sum is what progressive growing fades in, resolution by resolution
(`set_growth`).

Per-pixel noise is drawn afresh in training; in eval mode (sampling, export) each layer uses a fixed noise
map kept with the weights, so a seed's noise gives the same images.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganaug.errors import GanaugError
from ganaug.gan.layout import center_crop, generator_plan

_GAIN = math.sqrt(2.0)  # keeps a leaky ReLU's output at about the input's second moment


def normalise_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Each row scaled to unit mean square (StyleGAN's input normalisation of z and of the class embedding)."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class EqualLinear(nn.Module):
    """A linear layer with StyleGAN's equalised learning rate: weights drawn from N(0, 1) / `lr_mul` and scaled
    at run time by `lr_mul` / sqrt(fan-in), so an input of unit second moment gives outputs of unit second
    moment from the start (the noise's influence on the styles is not lost at initialisation), and Adam moves
    the layer `lr_mul` times as fast as the others. The bias starts at `bias_init`."""

    def __init__(self, in_features: int, out_features: int, bias_init: float = 0.0, lr_mul: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), bias_init / lr_mul))
        self.scale, self.lr_mul = lr_mul / math.sqrt(in_features), lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x @ (scale * weight).T + lr_mul * bias."""
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class MappingNetwork(nn.Module):
    """(noise z, class) -> style vector w: an MLP over the normalised z and the normalised class embedding,
    with equalised learning rates `lr_mul` (StyleGAN: 0.01) and leaky ReLUs scaled to keep unit second moment."""

    def __init__(
        self, latent_dim: int, num_classes: int, style_dim: int, layers: int = 4, lr_mul: float = 0.01
    ) -> None:
        super().__init__()
        if layers < 1:
            raise GanaugError(f"mapping_layers={layers}: the mapping network needs at least one layer")
        if lr_mul <= 0:
            raise GanaugError(f"mapping_lr_mul={lr_mul}: the learning-rate multiplier must be positive")
        self.embed = nn.Embedding(num_classes, latent_dim)
        widths = [2 * latent_dim, *[style_dim] * layers]
        self.net = nn.ModuleList(
            EqualLinear(w_in, w_out, lr_mul=lr_mul) for w_in, w_out in zip(widths[:-1], widths[1:], strict=True)
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Styles (N, style_dim)."""
        h = torch.cat([normalise_2nd_moment(z), normalise_2nd_moment(self.embed(labels))], dim=1)
        for layer in self.net:
            h = F.leaky_relu(layer(h), 0.2) * _GAIN
        return h


class ModulatedConv2d(nn.Module):
    """StyleGAN2's modulated convolution: the weight is scaled per input channel by an affine map of the style,
    then (`demodulate`) each output channel's weight is rescaled to unit L2 norm, so inputs of unit variance give
    outputs of unit variance whatever the style. Run as one grouped convolution over the batch."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, style_dim: int, demodulate: bool = True
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.affine = EqualLinear(style_dim, in_channels, bias_init=1.0)  # styles about 1: the plain convolution
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size**2)
        self.demodulate = demodulate
        self.padding = kernel_size // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """`x` (N, in, H, W) convolved with the weight modulated by each row's style `w` (N, style_dim)."""
        n, channels, height, width = x.shape
        styles = self.affine(w)
        weight = self.scale * self.weight[None] * styles[:, None, :, None, None]  # (N, out, in, k, k)
        if self.demodulate:
            weight = weight * (weight.square().sum(dim=(2, 3, 4), keepdim=True) + 1e-8).rsqrt()
        out = F.conv2d(x.reshape(1, n * channels, height, width), weight.flatten(0, 1), padding=self.padding, groups=n)
        return out.reshape(n, -1, *out.shape[2:])


class NoiseInput(nn.Module):
    """Per-pixel Gaussian noise scaled by a learned strength per channel (0 at the start), added to the features.
    Fresh noise in training; in eval mode the fixed map `fixed` (kept in the state dict)."""

    def __init__(self, channels: int, size: tuple[int, int]) -> None:
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(channels))
        self.register_buffer("fixed", torch.randn(1, 1, *size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`x` plus scaled noise of its spatial size."""
        noise = torch.randn(len(x), 1, *x.shape[2:], device=x.device, dtype=x.dtype) if self.training else self.fixed
        return x + self.strength[None, :, None, None] * noise


class StyleLayer(nn.Module):
    """Modulated 3x3 convolution, per-pixel noise, bias, leaky ReLU (scaled by sqrt(2))."""

    def __init__(self, in_channels: int, out_channels: int, style_dim: int, size: tuple[int, int]) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, style_dim)
        self.noise = NoiseInput(out_channels, size)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """The layer's features for style `w`."""
        h = self.noise(self.conv(x, w)) + self.bias[None, :, None, None]
        return F.leaky_relu(h, 0.2) * _GAIN


class StyleGenerator(nn.Module):
    """The StyleGAN-style conditional generator of the module docstring: z, class -> images in [-1, 1].

    `base_channels` sets the widths (as the other generators: 8x at the base map, halving up to 1x at the
    top), `style_dim` the style vector (default the widest width), `mapping_layers` the mapping MLP's depth,
    `mapping_lr_mul` its learning-rate multiplier, `mixing` the share of a training batch's rows that mix two
    styles. The base map is learned, about 4 to 7
    pixels a side; a size that is not base * 2**n is generated slightly larger and centre-cropped.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        num_classes: int,
        latent_dim: int = 64,
        base_channels: int = 32,
        style_dim: int | None = None,
        mapping_layers: int = 4,
        mapping_lr_mul: float = 0.01,
        mixing: float = 0.9,
    ) -> None:
        super().__init__()
        plan = generator_plan(image_shape, num_classes, latent_dim, base_channels)
        self.image_shape, steps, self.base_size, widths = plan
        if not 0.0 <= mixing <= 1.0:
            raise GanaugError(f"mixing={mixing}: the share of rows that mix two styles lies in [0, 1]")
        self.latent_dim, self.mixing = latent_dim, mixing
        style_dim = style_dim or widths[0]
        self.mapping = MappingNetwork(latent_dim, num_classes, style_dim, mapping_layers, mapping_lr_mul)
        self.const = nn.Parameter(torch.randn(1, widths[0], *self.base_size))
        sizes = [(self.base_size[0] * 2**i, self.base_size[1] * 2**i) for i in range(steps + 1)]
        self.layers = nn.ModuleList([StyleLayer(widths[0], widths[0], style_dim, sizes[0])])
        for i in range(1, steps + 1):
            self.layers.append(StyleLayer(widths[i - 1], widths[i], style_dim, sizes[i]))
            self.layers.append(StyleLayer(widths[i], widths[i], style_dim, sizes[i]))
        self.to_image = nn.ModuleList(
            ModulatedConv2d(width, self.image_shape[0], 1, style_dim, demodulate=False) for width in widths
        )
        self.levels = steps + 1
        self.set_growth(self.levels - 1, 1.0)

    @property
    def num_styles(self) -> int:
        """How many style inputs the synthesis takes: one per layer and one per image layer."""
        return len(self.layers) + len(self.to_image)

    def set_growth(self, level: int, alpha: float) -> None:
        """Generate up to resolution `level` (0: the base map), its image faded in by `alpha` in [0, 1]; the
        output stays at the full size (the coarser image upsampled). The last level at alpha 1 is the full
        generator, which is what it is built as and exported as."""
        if not 0 <= level < self.levels or not 0.0 <= alpha <= 1.0:
            raise GanaugError(f"growth level {level}, alpha {alpha}: level in 0..{self.levels - 1}, alpha in [0, 1]")
        self.level, self.alpha = level, alpha

    def styles(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """One style per synthesis input (N, num_styles, style_dim); in training, `mixing` of the rows switch to
        the styles of fresh noise from a random input on."""
        w = self.mapping(z, labels)[:, None].expand(-1, self.num_styles, -1)
        if not self.training or self.mixing == 0.0:
            return w
        other = self.mapping(torch.randn_like(z), labels)[:, None].expand(-1, self.num_styles, -1)
        mixed = torch.rand(len(z), device=z.device) < self.mixing
        cut = torch.randint(1, self.num_styles, (len(z),), device=z.device)
        later = torch.arange(self.num_styles, device=z.device)[None, :] >= cut[:, None]
        return torch.where((mixed[:, None] & later)[:, :, None], other, w)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] of `image_shape`, one per (noise, label) row."""
        w = self.styles(z, labels)
        h = self.layers[0](self.const.expand(len(z), -1, -1, -1), w[:, 0])
        image = self.to_image[0](h, w[:, len(self.layers)])
        for level in range(1, self.level + 1):
            h = F.interpolate(h, scale_factor=2.0, mode="bilinear", align_corners=False)
            h = self.layers[2 * level](self.layers[2 * level - 1](h, w[:, 2 * level - 1]), w[:, 2 * level])
            rgb = self.to_image[level](h, w[:, len(self.layers) + level])
            fade = self.alpha if level == self.level else 1.0
            image = F.interpolate(image, scale_factor=2.0, mode="bilinear", align_corners=False) + fade * rgb
        full = 2 ** (self.levels - 1 - self.level)
        if full > 1:
            image = F.interpolate(image, scale_factor=float(full), mode="nearest")
        return center_crop(torch.tanh(image), *self.image_shape[1:])
