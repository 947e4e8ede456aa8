"""The GPU tier: what only CUDA can show. Every test here skips without CUDA, so CI without a GPU stays green;
on a GPU machine run them with `python -m pytest -m gpu`."""

from __future__ import annotations

import pytest
import torch
from helpers.data import make_toy_dataset

from ganaug.auto.search import AutoSettings, GatedBanks, auto_search
from ganaug.data.dataset import DatasetSplits
from ganaug.gan.export import GeneratorArtifact, export_generator
from ganaug.gan.module import ConditionalGAN
from ganaug.gan.training import train_gan
from ganaug.quality.fid import fid_kid
from ganaug.quality.prdc import prdc
from ganaug.synth.bank import SyntheticBank

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]

SMALL = {"generator_kwargs": {"latent_dim": 16, "base_channels": 16}, "discriminator_kwargs": {"base_channels": 16}}
GPU = {"accelerator": "gpu", "devices": 1, "enable_progress_bar": False}


@pytest.fixture
def data():
    return make_toy_dataset([64, 48, 32], shape=(1, 16, 16))


def _train(data, steps: int = 8, resident: str = "auto", **module_kwargs) -> ConditionalGAN:
    return train_gan(data, [0, 1, 2], steps=steps, batch_size=16, seed=1, module_kwargs={**SMALL, **module_kwargs},
                     trainer_kwargs=GPU, resident=resident)  # fmt: skip


def _weights(gan: ConditionalGAN) -> list[torch.Tensor]:
    return [p.detach().float().cpu() for p in [*gan.generator.parameters(), *gan.discriminator.parameters()]]


def _max_gap(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    return max(float((x - y).abs().max()) for x, y in zip(a, b, strict=True))


def test_the_gan_trains_on_the_gpu_with_resident_data_and_fused_adam(data) -> None:
    gan = _train(data)
    assert gan.device.type == "cuda" and gan.step_settings["resident"]
    assert gan.optimizers()[0].optimizer.defaults.get("fused") is True
    loaded = _train(data, resident="off")
    assert loaded.trainer.train_dataloader.pin_memory  # batches collated on the host land in pinned memory
    assert _max_gap(_weights(gan), _weights(loaded)) < 1e-4


def test_bf16_gan_steps_keep_float32_losses_and_stay_near_float32(data) -> None:
    bf16 = _train(data, autocast="bf16")
    assert all(v.dtype == torch.float32 and bool(torch.isfinite(v)) for v in bf16.step_stats.values())
    assert _max_gap(_weights(bf16), _weights(_train(data))) < 0.05


def test_the_long_tail_regularisers_run_on_the_gpu_under_bf16(data) -> None:
    gan = _train(data, generator="resnet", lecam_weight=0.3, gsr_weight=0.5, autocast="bf16")
    assert gan.gsr_class_weights.device.type == "cuda" and gan.lecam.real.dtype == torch.float32
    penalties = [gan.step_stats["lecam"], gan.step_stats["gsr"]]
    assert all(p.dtype == torch.float32 and bool(torch.isfinite(p)) for p in penalties)


@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
def test_the_compiled_step_matches_eager(data, mode: str) -> None:
    compiled = _train(data, compile=mode)
    assert _max_gap(_weights(compiled), _weights(_train(data))) < 1e-3


def test_generation_on_the_gpu_is_reproducible_for_a_seed(data, tmp_path) -> None:
    gan = _train(data, steps=2)
    folder = export_generator(gan, tmp_path / "g", data.class_names)
    on_gpu = GeneratorArtifact.load(folder, device="cuda")
    labels = torch.arange(3).repeat(300)
    first = on_gpu.sample(labels, generator=torch.Generator().manual_seed(5), batch_size=128)
    again = on_gpu.sample(labels, generator=torch.Generator().manual_seed(5), batch_size=256)
    assert first.device.type == "cpu" and torch.equal(first, again)
    on_cpu = GeneratorArtifact.load(folder).sample(labels, generator=torch.Generator().manual_seed(5))
    assert int((first.int() - on_cpu.int()).abs().max()) <= 2  # the same noise: the same images up to rounding
    bank = SyntheticBank.generate(on_gpu, {0: 100, 1: 100}, tmp_path / "bank", seed=2, progress=False)
    again = SyntheticBank.generate(on_gpu, {0: 100, 1: 100}, tmp_path / "bank2", seed=2, progress=False)
    assert (bank.images == again.images).all()


def test_the_quality_metrics_on_the_gpu_agree_with_the_cpu() -> None:
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn(600, 32, generator=gen), torch.randn(500, 32, generator=gen) + 0.3
    on_gpu, on_cpu = prdc(real.cuda(), fake.cuda(), k=5), prdc(real, fake, k=5)
    for key in ("precision", "recall", "density", "coverage"):
        assert on_gpu[key] == pytest.approx(on_cpu[key], abs=0.01), key
    fid_gpu, fid_cpu = fid_kid(real.cuda(), fake.cuda(), kid_subset_size=200), fid_kid(real, fake, kid_subset_size=200)
    assert fid_gpu["fid"] == pytest.approx(fid_cpu["fid"], rel=1e-3)
    assert fid_gpu["kid_mean"] == pytest.approx(fid_cpu["kid_mean"], abs=1e-3)


def test_auto_candidates_in_parallel_on_one_gpu_decide_as_one_at_a_time(tmp_path) -> None:
    train = make_toy_dataset([40, 20, 8, 6])
    fake = make_toy_dataset([0, 0, 30, 30], seed=1)
    bank = SyntheticBank.from_arrays(fake.images.numpy(), fake.labels.numpy(), train.class_names, tmp_path / "bank")
    splits = DatasetSplits(train, make_toy_dataset([6, 6, 6, 6], seed=2), make_toy_dataset([5, 5, 5, 5], seed=3))
    kwargs = {"batch_size": 32, "model_kwargs": {"width": 4}, "trainer_kwargs": {**GPU, "num_sanity_val_steps": 0}}
    verdicts = {}
    for workers in (1, 3):
        settings = AutoSettings(baselines=("none", "classical"), rungs=(0.5, 1.0), workers=workers, seed=4)
        result = auto_search(splits, {None: GatedBanks(bank)}, {2: 30, 3: 30}, settings=settings, epochs=2, seed=4,
                             **kwargs)  # fmt: skip
        verdicts[workers] = [sorted(r.scores) for r in result.rungs], result.decision.chosen
    assert verdicts[3] == verdicts[1]
