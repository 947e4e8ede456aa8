"""The GAN step's speed settings on the CPU: resident data gives the very same run, the Adam implementations and
channels_last the same within float tolerance, bf16 autocast keeps float32 losses, compile matches eager, and the
exported generator records how it was trained."""

from __future__ import annotations

import shutil

import pytest
import torch

from ganaug.errors import GanaugError
from ganaug.gan import speed
from ganaug.gan.export import GeneratorArtifact, export_generator
from ganaug.gan.module import ConditionalGAN
from ganaug.gan.training import train_gan

TINY = {"generator_kwargs": {"latent_dim": 8, "base_channels": 8}, "discriminator_kwargs": {"base_channels": 8}}
QUIET = {"enable_progress_bar": False, "accelerator": "cpu"}


def _train(data, steps: int = 6, resident: str = "auto", **module_kwargs) -> ConditionalGAN:
    return train_gan(data, [0, 1, 2], steps=steps, batch_size=8, seed=3, module_kwargs={**TINY, **module_kwargs},
                     trainer_kwargs=QUIET, resident=resident)  # fmt: skip


def _weights(gan: ConditionalGAN) -> list[torch.Tensor]:
    return [p.detach().clone() for p in [*gan.generator.parameters(), *gan.discriminator.parameters()]]


def _close(a: list[torch.Tensor], b: list[torch.Tensor], atol: float) -> bool:
    return all(torch.allclose(x, y, atol=atol, rtol=0) for x, y in zip(a, b, strict=True))


def test_resident_data_trains_the_same_run_as_the_loader(toy_dataset) -> None:
    resident, loaded = _train(toy_dataset, resident="on"), _train(toy_dataset, resident="off")
    assert resident.step_settings["resident"] and not loaded.step_settings["resident"]
    assert all(torch.equal(x, y) for x, y in zip(_weights(resident), _weights(loaded), strict=True))
    assert speed.resident_fits(10**12, torch.device("cpu"), "auto")  # on the CPU the images are there already
    assert not speed.resident_fits(1, torch.device("cpu"), "off")


@pytest.mark.parametrize("impl", ["foreach", "loop", "fused"])
def test_every_adam_implementation_takes_the_same_steps(toy_dataset, impl: str) -> None:
    reference = _weights(_train(toy_dataset, adam="auto"))
    assert _close(_weights(_train(toy_dataset, adam=impl)), reference, atol=1e-5)


def test_channels_last_takes_the_same_steps(toy_dataset) -> None:
    gan = _train(toy_dataset, channels_last=True)
    conv = next(m for m in gan.generator.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert _close(_weights(gan), _weights(_train(toy_dataset)), atol=1e-4)


def test_bf16_autocast_runs_the_networks_in_bf16_and_the_losses_in_float32(toy_dataset) -> None:
    gan = ConditionalGAN((1, 8, 8), 3, [0, 1, 2], autocast="bf16", **TINY)
    z, labels = torch.randn(4, gan.latent_dim), torch.tensor([0, 1, 2, 0])
    with gan._autocast():
        assert gan.generator(z, labels).dtype == torch.bfloat16
    trained = _train(toy_dataset, autocast="bf16")
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in trained.step_stats.values())
    assert _close(_weights(trained), _weights(_train(toy_dataset)), atol=0.05)  # bf16: close, not equal
    with pytest.raises(GanaugError, match="autocast"):
        ConditionalGAN((1, 8, 8), 3, [0], autocast="fp8", **TINY)


def test_compile_is_refused_where_it_cannot_work() -> None:
    with pytest.raises(GanaugError, match="compile='fast'"):
        ConditionalGAN((1, 8, 8), 3, [0], compile="fast", **TINY)
    with pytest.raises(GanaugError, match="no double backward"):
        ConditionalGAN((1, 8, 8), 3, [0], compile="default", loss="wgan_gp", **TINY)


@pytest.mark.skipif(shutil.which("c++") is None and shutil.which("g++") is None, reason="inductor needs a C++ compiler")
def test_the_compiled_step_matches_eager_on_the_cpu(toy_dataset) -> None:
    compiled = _train(toy_dataset, steps=4, compile="default")
    assert _close(_weights(compiled), _weights(_train(toy_dataset, steps=4)), atol=1e-4)


def test_the_exported_generator_records_the_step_settings(toy_dataset, tmp_path) -> None:
    gan = _train(toy_dataset, steps=2, adam="foreach", channels_last=True)
    artifact = GeneratorArtifact.load(export_generator(gan, tmp_path / "g", toy_dataset.class_names))
    assert artifact.meta["training"] == {"adam": "foreach", "compile": None, "autocast": None, "channels_last": True,
                                         "resident": True, "discriminator": "projection", "ada": False,
                                         "lecam_weight": 0.0, "gsr_weight": 0.0, "gsr_beta": 0.999,
                                         "progressive": None}  # fmt: skip
    images = artifact.sample(torch.tensor([0, 1, 2]), generator=torch.Generator().manual_seed(0))
    assert images.dtype == torch.uint8 and images.shape == (3, 1, 8, 8)
