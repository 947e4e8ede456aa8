"""How the GAN step runs fast on an accelerator: the optimiser's implementation, whole-network compilation,
bf16 autocast, the memory format, and keeping the training images on the device.

Each is a `ConditionalGAN` (or `train_gan`) setting whose default gives today's results on the CPU:
- `adam`: "auto" (fused Adam on CUDA, torch's default elsewhere), "fused", "foreach" or "loop";
- `compile`: None (eager) or a `torch.compile` mode ("default", "reduce-overhead": CUDA graphs,
  "max-autotune"), applied to both networks; not with a gradient penalty (double backward);
- `autocast`: None or "bf16": the networks' forward passes in bfloat16, the losses and the gradient
  penalty in float32 (a saturating hinge or a logit near the boundary loses too much in 8 bits of mantissa);
- `channels_last`: the networks and images in NHWC memory, what cuDNN's tensor-core convolutions prefer;
- `resident` (train_gan): the uint8 training images on the device once, batches gathered there by index,
  so no DataLoader collates images at each step. "auto": when they take at most a quarter of the free device
  memory (always on the CPU, where they already are). The batches are the same, so the results are too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import torch

from ganaug.errors import GanaugError

ADAM = ("auto", "fused", "foreach", "loop")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")
AUTOCAST = ("bf16",)
RESIDENT = ("auto", "on", "off")
RESIDENT_SHARE = 0.25  # resident "auto": the images may take this share of the device's free memory


def adam(
    params: Iterable[torch.nn.Parameter], *, lr: float, betas: tuple[float, float], impl: str, device: torch.device
) -> torch.optim.Adam:
    """Adam over `params` with the implementation `impl` (see the module docstring) for `device`."""
    if impl == "auto":
        impl = "fused" if device.type == "cuda" else "default"
    flags = {"fused": {"fused": True}, "foreach": {"foreach": True}, "loop": {"foreach": False}}.get(impl, {})
    return torch.optim.Adam(params, lr=lr, betas=betas, **flags)


def check_compile(mode: str | None, gradient_penalty: bool) -> None:
    """Refuse a compile mode torch does not have, or compiling a discriminator that needs double backward."""
    if mode is None:
        return
    if mode not in COMPILE_MODES:
        raise GanaugError(f"compile={mode!r}: pick one of {', '.join(COMPILE_MODES)}, or null for eager")
    if gradient_penalty:
        raise GanaugError(
            f"compile={mode!r} with a gradient penalty: compiled networks have no double backward; "
            "set compile to null, or gp_weight to 0 with the hinge loss"
        )


def autocast(device: torch.device, mode: str | None) -> contextlib.AbstractContextManager:
    """The autocast context of the networks' forward passes (a no-op for None)."""
    if mode is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


@contextlib.contextmanager
def full_precision(device: torch.device) -> Iterator[None]:
    """Autocast off in the block: the losses and the gradient penalty are computed in float32."""
    with torch.autocast(device_type=device.type, enabled=False):
        yield


def memory_format(channels_last: bool) -> torch.memory_format:
    """The memory format of the networks and their image inputs."""
    return torch.channels_last if channels_last else torch.contiguous_format


def resident_fits(nbytes: int, device: torch.device, setting: str) -> bool:
    """Whether the training images stay on `device` under `setting` ("on", "off", "auto": see the module
    docstring); "on" for images that cannot fit is refused with the fix."""
    if setting == "off":
        return False
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    if setting == "on" and nbytes > free:
        raise GanaugError(
            f"resident='on': the training images take {nbytes / 2**30:.1f} GiB, more than the {free / 2**30:.1f} "
            "GiB free on the device; set resident to 'auto' or 'off'"
        )
    return setting == "on" or nbytes <= RESIDENT_SHARE * free

