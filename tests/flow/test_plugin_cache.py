"""`synthesize` (behind `augment` and GANOverSampler) builds a damaged cache entry again, as the flow does."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from ganaug.flow.plugin import synthesize
from ganaug.synth.bank import SyntheticBank
from tests.helpers.data import make_toy_dataset

TINY = {"generator_kwargs": {"latent_dim": 8, "base_channels": 4}, "discriminator_kwargs": {"base_channels": 4}}


def _synthesize(cache: Path) -> tuple[Path, SyntheticBank]:
    train = make_toy_dataset([20, 6])
    return synthesize(train, [1], {1: 5}, cache_dir=cache, steps=3, batch_size=8, module_kwargs=TINY)


def _damage_weights(cache: Path) -> Path:
    (entry,) = [p for p in cache.glob("gan-*") if p.is_dir()]
    (entry / "generator" / "generator.safetensors").write_bytes(os.urandom(256))
    return entry


def _truncate_images(cache: Path) -> Path:
    (entry,) = [p for p in cache.glob("bank-*") if p.is_dir()]
    path = entry / "images.npy"
    path.write_bytes(path.read_bytes()[:100])
    return entry


@pytest.mark.parametrize("damage", [_damage_weights, _truncate_images])
def test_a_damaged_entry_is_built_again(tmp_path: Path, caplog: pytest.LogCaptureFixture, damage) -> None:
    cache = tmp_path / "cache"
    gan_dir, bank = _synthesize(cache)
    images = np.array(bank.images)
    entry = damage(cache)
    with caplog.at_level(logging.WARNING, logger="ganaug"):
        again_dir, again = _synthesize(cache)
    assert f"the cached entry {entry} is damaged" in caplog.text
    assert again_dir == gan_dir and len(again) == 5
    if damage is _truncate_images:  # the same GAN samples the same bank again
        assert np.array_equal(np.array(again.images), images)
    with caplog.at_level(logging.WARNING, logger="ganaug"):
        caplog.clear()
        _synthesize(cache)
    assert "damaged" not in caplog.text
