"""Generator EMA: the update rule, warm-up, buffers, and that sampling and export use the averaged weights."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from torch import nn

from ganaug.data.dataset import DataSpec, ImageDataset
from ganaug.errors import GanaugError
from ganaug.gan.ema import EMA
from ganaug.gan.export import GeneratorArtifact, export_generator
from ganaug.gan.generators import sample_uint8
from ganaug.gan.module import ConditionalGAN
from ganaug.gan.training import train_gan

TINY = {"generator_kwargs": {"latent_dim": 8, "base_channels": 8}, "discriminator_kwargs": {"base_channels": 8}}


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))


def test_one_update_is_decay_old_plus_one_minus_decay_new() -> None:
    net = _net()
    ema = EMA(net, decay=0.9, warmup=False)
    old = [p.detach().clone() for p in ema.module.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p))
    net(torch.randn(8, 3))  # moves the batch-norm running statistics
    ema.update(net)
    for before, new, averaged in zip(old, net.parameters(), ema.module.parameters(), strict=True):
        assert torch.allclose(averaged, 0.9 * before + 0.1 * new.detach(), atol=1e-6)
        assert not averaged.requires_grad
    for buf, ema_buf in zip(net.buffers(), ema.module.buffers(), strict=True):
        assert torch.equal(buf, ema_buf), "buffers are copied, not averaged"
    assert ema.updates == 1


def test_warmup_lowers_the_decay_of_the_first_updates() -> None:
    ema = EMA(_net(), decay=0.999)
    assert ema.decay_at(0) == pytest.approx(0.1) and ema.decay_at(90) == pytest.approx(0.91)
    assert ema.decay_at(100_000) == 0.999
    assert EMA(_net(), decay=0.999, warmup=False).decay_at(0) == 0.999
    net = _net()
    first = EMA(net, decay=0.999)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    first.update(net)
    moved = next(first.module.parameters()) - (next(net.parameters()) - 1.0)
    assert torch.allclose(moved, torch.full_like(moved, 0.9)), "update 0 uses decay 1/10"


def test_bad_decay_raises() -> None:
    for decay in (1.0, -0.1):
        with pytest.raises(GanaugError, match=r"ema_decay must be in \[0, 1\)"):
            EMA(_net(), decay=decay)
    with pytest.raises(GanaugError, match="ema_decay"):
        ConditionalGAN((1, 8, 8), 3, [0], ema_decay=1.5, **TINY)


@pytest.fixture(scope="module")
def trained() -> ConditionalGAN:
    from helpers.data import make_toy_dataset

    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    return train_gan(
        make_toy_dataset([40, 20, 6]), [0, 1, 2], steps=8, batch_size=16,
        module_kwargs={**TINY, "ema_decay": 0.9}, trainer_kwargs={"enable_progress_bar": False},
    )  # fmt: skip


def test_sampling_uses_the_ema_weights(trained: ConditionalGAN) -> None:
    assert trained.ema is not None and trained.ema.updates == 8
    assert trained.sampling_generator is trained.ema.module
    labels, seed = torch.tensor([0, 1, 2, 2]), 5
    ours = trained.sample(labels, generator=torch.Generator().manual_seed(seed))
    ema = sample_uint8(trained.ema.module, labels, 8, [0, 1, 2], torch.Generator().manual_seed(seed))
    live = sample_uint8(trained.generator, labels, 8, [0, 1, 2], torch.Generator().manual_seed(seed))
    assert torch.equal(ours, ema) and not torch.equal(ours, live)
    live_w, ema_w = trained.generator.project.weight, trained.ema.module.project.weight
    assert not torch.allclose(live_w, ema_w)


def test_export_writes_the_ema_weights_and_says_so(
    trained: ConditionalGAN, tmp_path: Path, toy_dataset: ImageDataset
) -> None:
    folder = export_generator(trained, tmp_path / "gen", toy_dataset.class_names)
    meta = json.loads((folder / "generator.json").read_text())
    assert meta["weights"] == "ema" and meta["ema_decay"] == 0.9
    art = GeneratorArtifact.load(folder)
    labels = torch.tensor([2, 0, 1])
    assert torch.equal(
        art.sample(labels, torch.Generator().manual_seed(1)), trained.sample(labels, torch.Generator().manual_seed(1))
    )
    for key, value in trained.ema.module.state_dict().items():
        assert torch.equal(art.net.state_dict()[key], value)
    # Metadata written before EMA existed (no "weights" / "ema_decay") still loads.
    del meta["weights"], meta["ema_decay"]
    (folder / "generator.json").write_text(json.dumps(meta))
    assert GeneratorArtifact.load(folder).trained_classes == [0, 1, 2]


def test_without_ema_the_live_generator_samples_and_is_exported(tmp_path: Path) -> None:
    gan = ConditionalGAN((1, 8, 8), 3, [0, 1], ema_decay=0.0, **TINY)
    assert gan.ema is None and gan.sampling_generator is gan.generator
    meta = json.loads((export_generator(gan, tmp_path / "g", ["a", "b", "c"]) / "generator.json").read_text())
    assert meta["weights"] == "live" and meta["ema_decay"] is None


@pytest.mark.parametrize("generator", ["dcgan", "resnet"])
def test_export_round_trips_every_generator_with_attention(generator: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    gan = ConditionalGAN((1, 8, 8), 3, [0, 2], generator=generator, attention=True, **TINY)
    with torch.no_grad():
        for p in gan.ema.module.parameters():
            p.add_(0.1 * torch.randn_like(p))  # the exported (EMA) weights differ from the live ones
    folder = export_generator(gan, tmp_path / "g", ["a", "b", "c"])
    meta = json.loads((folder / "generator.json").read_text())
    assert meta["architecture"] == generator and meta["kwargs"]["attention"] is True
    labels = torch.tensor([0, 2, 2])
    art = GeneratorArtifact.load(folder, expect=DataSpec(["a", "b", "c"], (1, 8, 8)))
    assert torch.equal(
        art.sample(labels, torch.Generator().manual_seed(3)), gan.sample(labels, torch.Generator().manual_seed(3))
    )
