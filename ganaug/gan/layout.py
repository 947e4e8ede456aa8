"""The spatial layout the networks share: image-shape checks, how many 2x resolution steps lead from a base map
of about 4 to 7 pixels to the image, and the generators' channel widths per resolution."""

from __future__ import annotations

import math

import torch

from ganaug.errors import GanaugError


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


def generator_plan(
    image_shape: tuple[int, int, int], num_classes: int, latent_dim: int, base_channels: int
) -> tuple[tuple[int, int, int], int, tuple[int, int], list[int]]:
    """Checked shape, number of 2x upsamplings, base map size and channel widths from the base map up."""
    shape = check_image_shape(image_shape, num_classes)
    if latent_dim < 1 or base_channels < 1:
        raise GanaugError(f"latent_dim and base_channels must be positive, got {latent_dim}, {base_channels}")
    steps = num_resolution_steps(shape[1], shape[2])
    base_size = (math.ceil(shape[1] / 2**steps), math.ceil(shape[2] / 2**steps))
    widths = [base_channels * min(2 ** (steps - i), 8) for i in range(steps + 1)]
    return shape, steps, base_size, widths


def center_crop(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The central `height` x `width` window of images (N, C, H, W) generated slightly larger."""
    top, left = (x.shape[2] - height) // 2, (x.shape[3] - width) // 2
    return x[:, :, top : top + height, left : left + width]
