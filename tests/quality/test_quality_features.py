"""The domain feature extractor: training, torchmetrics compatibility, safetensors save/load."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers.quality import heldout_set, toy_extractor, train_set
from torchmetrics.image.fid import FrechetInceptionDistance

from ganaug.data.dataset import DataSpec
from ganaug.errors import GanaugError
from ganaug.quality.features import FeatureExtractor, train_feature_extractor
from ganaug.quality.fid import fid_kid


def test_extractor_learns_the_classes_and_records_how_well():
    ex = toy_extractor()
    held = heldout_set()
    features, probs = ex.embed(held.images)
    assert features.shape == (90, ex.num_features) == (90, 32) and features.dtype == torch.float64
    assert probs.shape == (90, 3) and torch.allclose(probs.sum(1), torch.ones(90, dtype=torch.float64))
    assert (probs.argmax(1) == held.labels).double().mean() > 0.95
    assert ex.meta["val_balanced_accuracy"] > 0.95 and ex.meta["seed"] == 0 and ex.meta["train_size"] == 66


def test_extractor_is_a_torchmetrics_feature_module_giving_the_same_fid():
    ex, held, train = toy_extractor(), heldout_set(), train_set()
    metric = FrechetInceptionDistance(feature=ex)
    metric.update(held.images, real=True)
    metric.update(train.images, real=False)
    ours = fid_kid(ex.embed(held.images)[0], ex.embed(train.images)[0])["fid"]
    assert float(metric.compute()) == pytest.approx(ours, rel=1e-4)
    assert not ex.training and not ex.train().training  # batch-norm statistics stay frozen


def test_embed_takes_numpy_and_batches_without_changing_the_result():
    ex, held = toy_extractor(), heldout_set()
    whole = ex.embed(held.images)[0]
    batched = ex.embed(held.images.numpy(), batch_size=7)[0]
    assert torch.allclose(whole, batched, atol=1e-5)
    empty_f, empty_p = ex.embed(held.images[:0])
    assert empty_f.shape == (0, 32) and empty_p.shape == (0, 3)


def test_extractor_rejects_images_it_was_not_trained_for():
    ex = toy_extractor()
    with pytest.raises(GanaugError, match="uint8 images"):
        ex(torch.zeros(2, 1, 8, 8))
    with pytest.raises(GanaugError, match="uint8 images"):
        ex.embed(torch.zeros(2, 3, 8, 8, dtype=torch.uint8))


def test_training_is_seeded():
    small = train_set()
    a = train_feature_extractor(small, epochs=1, batch_size=32, width=4, seed=3)
    b = train_feature_extractor(small, epochs=1, batch_size=32, width=4, seed=3)
    assert torch.equal(a.embed(small.images)[0], b.embed(small.images)[0])
    assert "val_balanced_accuracy" not in a.meta


def test_training_bad_settings_raise():
    with pytest.raises(GanaugError, match="real data only"):
        train_feature_extractor(train_set(), strategy="gan")
    with pytest.raises(GanaugError, match="epochs=0"):
        train_feature_extractor(train_set(), epochs=0)


def test_save_load_roundtrip_without_pickle(tmp_path):
    ex, held = toy_extractor(), heldout_set()
    ex.save(tmp_path / "fx")
    assert sorted(p.name for p in (tmp_path / "fx").iterdir()) == ["extractor.json", "extractor.safetensors"]
    info = json.loads((tmp_path / "fx" / "extractor.json").read_text())
    assert info["format"] == "ganaug-feature-extractor" and info["class_names"] == held.class_names
    back = FeatureExtractor.load(tmp_path / "fx", expect=held)
    assert back.meta == ex.meta
    for mine, theirs in zip(ex.embed(held.images), back.embed(held.images), strict=True):
        assert torch.equal(mine, theirs)


def test_load_errors_name_the_problem_and_the_fix(tmp_path):
    ex = toy_extractor()
    with pytest.raises(GanaugError, match="file not found"):
        FeatureExtractor.load(tmp_path / "missing")
    ex.save(tmp_path / "fx")
    names = list(ex.class_names)
    with pytest.raises(GanaugError, match=r"\(1, 8, 8\) images, but the data has .* of \(3, 8, 8\)"):
        FeatureExtractor.load(tmp_path / "fx", expect=DataSpec(names, (3, 8, 8)))
    with pytest.raises(GanaugError, match="has classes .* train the feature extractor again on this data"):
        FeatureExtractor.load(tmp_path / "fx", expect=DataSpec(["x", "y", "z"], (1, 8, 8)))
    (tmp_path / "fx" / "extractor.safetensors").write_bytes(np.arange(10, dtype=np.uint8).tobytes())
    with pytest.raises(GanaugError, match="missing or corrupt feature extractor"):
        FeatureExtractor.load(tmp_path / "fx")
    (tmp_path / "fx" / "extractor.json").write_text('{"format": "other"}')
    with pytest.raises(GanaugError, match="not a ganaug-feature-extractor version 1 file"):
        FeatureExtractor.load(tmp_path / "fx")
