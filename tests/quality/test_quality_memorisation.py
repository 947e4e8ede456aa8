"""Memorisation: copies of training images are near-copies, fresh samples and noise are not."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.data import make_toy_dataset
from helpers.quality import heldout_set, train_set

from ganaug.errors import GanaugError
from ganaug.quality.memorisation import memorisation, near_copy_threshold, pixel_distance_to_train


def test_a_bank_of_training_copies_is_all_near_copies():
    train, held = train_set(), heldout_set()
    out = memorisation(train.images, train.labels, train, held)
    assert out["space"] == "pixel_rms"
    assert out["generated"]["near_copy_share"] == 1.0 and out["generated"]["median_distance"] == pytest.approx(0)
    assert out["median_ratio"] == pytest.approx(0.0, abs=1e-6)
    assert out["heldout"]["near_copy_share"] == pytest.approx(0.01, abs=0.02)  # the quantile, by construction
    assert {row["near_copy_share"] for row in out["per_class"].values()} == {1.0}
    assert out["per_class"]["class2"] == {
        "class_id": 2,
        "n": 6,
        "near_copy_share": 1.0,
        "median_distance": pytest.approx(0, abs=1e-6),
        "min_distance": pytest.approx(0, abs=1e-6),
    }


def test_random_noise_has_no_near_copies():
    train, held = train_set(), heldout_set()
    noise = torch.randint(0, 256, (50, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    out = memorisation(noise, torch.zeros(50, dtype=torch.int64), train, held)
    assert out["generated"]["near_copy_share"] == 0.0 and out["median_ratio"] > 3
    assert list(out["per_class"]) == ["class0"]


def test_fresh_samples_of_the_domain_look_like_held_out_images():
    train, held = train_set(), heldout_set()
    fresh = make_toy_dataset([20, 20, 20], seed=7)
    out = memorisation(fresh.images.numpy(), fresh.labels.numpy(), train, held)
    assert out["generated"]["near_copy_share"] < 0.1 and 0.8 < out["median_ratio"] < 1.2


def test_distances_are_rms_pixels_on_the_unit_scale():
    train = train_set()
    shifted = train.images[:3].clone()
    shifted[0, 0, 0, 0] = 255 if int(shifted[0, 0, 0, 0]) < 128 else 0  # one pixel changed
    d = pixel_distance_to_train(train.images[:3], train)
    assert d.tolist() == [0.0, 0.0, 0.0]
    assert float(pixel_distance_to_train(shifted[:1], train)) <= 1 / 8 + 1e-9  # at most one full pixel of 64


def test_threshold_options():
    train, held = train_set(), heldout_set()
    explicit = memorisation(train.images[:4], train.labels[:4], train, held, threshold=0.0)
    assert explicit["threshold"] == 0.0 and explicit["generated"]["near_copy_share"] == 1.0
    own = near_copy_threshold(train, train)  # no held-out split: nearest other training image
    assert 0.0 < own < 0.2
    assert near_copy_threshold(held, train, quantile=0.0) == pytest.approx(
        float(pixel_distance_to_train(held.images, train).min())
    )


def test_memorisation_bad_inputs_raise():
    train, held = train_set(), heldout_set()
    with pytest.raises(GanaugError, match="same data"):
        pixel_distance_to_train(np.zeros((2, 3, 8, 8), dtype=np.uint8), train)
    with pytest.raises(GanaugError, match="quantile=1.5"):
        near_copy_threshold(held, train, quantile=1.5)
    with pytest.raises(GanaugError, match="threshold=-1"):
        memorisation(train.images, train.labels, train, held, threshold=-1)
    with pytest.raises(GanaugError, match="training split is empty"):
        pixel_distance_to_train(train.images, train.subset([]))
    with pytest.raises(GanaugError, match="no held-out images"):
        near_copy_threshold(held.subset([]), train)
