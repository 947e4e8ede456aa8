"""Classification Accuracy Score and the bundled quality report."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers.data import make_toy_dataset
from helpers.quality import heldout_set, toy_extractor, train_set

from ganaug.errors import GanaugError
from ganaug.quality.cas import bank_dataset, classification_accuracy_score, epochs_for_steps
from ganaug.quality.report import quality_report
from ganaug.synth.bank import SyntheticBank

FAST = {"steps": 90, "batch_size": 16, "model_kwargs": {"width": 8}}


def _bank(tmp_path, counts, seed=3, shuffle=False, name="bank"):
    real = make_toy_dataset(counts, seed=seed)
    labels = real.labels
    if shuffle:
        labels = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))]
    return SyntheticBank.from_arrays(real.images, labels, real.class_names, tmp_path / name)


def test_cas_is_high_for_real_images_and_near_chance_for_shuffled_labels(tmp_path):
    held = heldout_set()
    good = classification_accuracy_score(_bank(tmp_path, [30, 30, 30]), held, **FAST)
    assert good["balanced_accuracy"] > 0.95 and good["accuracy"] > 0.95 and good["reason"] is None
    assert good["classes"] == [0, 1, 2] and good["train_size"] == 90 and good["test_size"] == 90
    assert set(good["per_class_recall"]) == {"class0", "class1", "class2"}
    shuffled = classification_accuracy_score(_bank(tmp_path, [30, 30, 30], shuffle=True, name="s"), held, **FAST)
    assert shuffled["balanced_accuracy"] < 0.6


def test_cas_scores_only_the_bank_classes_and_reports_a_real_baseline(tmp_path):
    held, train = heldout_set(), train_set()
    out = classification_accuracy_score(_bank(tmp_path, [0, 25, 25]), held, real_train=train, **FAST)
    assert out["classes"] == [1, 2] and out["test_size"] == 60 and set(out["per_class_recall"]) == {"class1", "class2"}
    assert out["balanced_accuracy"] > 0.9
    assert out["real_baseline"]["train_size"] == 26 and out["real_baseline"]["test_size"] == 60
    # the same number of updates for both: 50 samples are 4 batches of 16, 26 samples 2
    assert out["steps"] == 90 and out["epochs"] == 23 and out["real_baseline"]["epochs"] == 45


def test_epochs_for_steps_covers_the_steps():
    assert epochs_for_steps(122, 128, 500) == 500
    assert epochs_for_steps(1000, 128, 500) == 63  # 8 batches an epoch
    assert epochs_for_steps(1000, 128, 1) == 1


def test_cas_with_one_class_says_why_there_is_no_score(tmp_path):
    out = classification_accuracy_score(_bank(tmp_path, [0, 0, 10]), heldout_set(), **FAST)
    assert out["accuracy"] is None and "at least 2" in out["reason"]


def test_cas_bad_inputs_raise(tmp_path):
    bank = _bank(tmp_path, [0, 5, 5])
    with pytest.raises(GanaugError, match="score a bank against its own data"):
        classification_accuracy_score(bank, make_toy_dataset([5, 5]), **FAST)
    with pytest.raises(GanaugError, match="no images of the bank's classes"):
        classification_accuracy_score(bank, make_toy_dataset([5, 0, 0]), **FAST)
    with pytest.raises(GanaugError, match="steps=0: must be >= 1"):
        classification_accuracy_score(bank, make_toy_dataset([5, 5, 5]), **{**FAST, "steps": 0})


def test_bank_dataset_holds_the_bank(tmp_path):
    bank = _bank(tmp_path, [2, 3, 4])
    ds = bank_dataset(bank)
    assert np.array_equal(ds.images.numpy(), bank.images) and ds.counts() == [2, 3, 4]


def test_quality_report_bundles_every_measure_as_json(tmp_path):
    bank = _bank(tmp_path, [0, 25, 25])
    report = quality_report(bank, toy_extractor(), train_set(), heldout_set(), cas_kwargs=FAST)
    json.dumps(report, allow_nan=False)
    assert report["classes"] == [1, 2] and report["bank"]["counts"] == [0, 25, 25]
    overall = report["overall"]
    assert overall["fid_kid"]["n_real"] == 60 and overall["fid_kid"]["n_fake"] == 50
    assert overall["prdc"]["precision"] > 0.7 and overall["confidence"]["agreement"] == 1.0
    row = report["per_class"]["class2"]
    assert row["class_id"] == 2 and set(row) == {"class_id", "fid_kid", "prdc", "confidence", "memorisation"}
    assert row["memorisation"]["n"] == 25 and row["prdc"]["n_real"] == 30
    assert report["memorisation"]["space"] == "pixel_rms" and report["cas"]["balanced_accuracy"] > 0.9
    assert report["extractor"]["width"] == 8


def test_quality_report_separates_a_good_bank_from_a_bad_one(tmp_path):
    ex, train, held = toy_extractor(), train_set(), heldout_set()
    good = quality_report(_bank(tmp_path, [0, 25, 25]), ex, train, held, cas=False)
    noise = torch.randint(0, 256, (50, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    bad_bank = SyntheticBank.from_arrays(noise, torch.arange(50) % 2 + 1, train.class_names, tmp_path / "bad")
    bad = quality_report(bad_bank, ex, train, held, cas=False)
    assert bad["cas"] is None
    assert bad["overall"]["fid_kid"]["fid"] > 10 * good["overall"]["fid_kid"]["fid"]
    assert bad["overall"]["prdc"]["precision"] < good["overall"]["prdc"]["precision"]
    copies = SyntheticBank.from_arrays(train.images, train.labels, train.class_names, tmp_path / "copies")
    assert quality_report(copies, ex, train, held, cas=False)["memorisation"]["generated"]["near_copy_share"] == 1.0


def test_quality_report_caps_samples_per_class_and_checks_the_data(tmp_path):
    bank = _bank(tmp_path, [0, 25, 25])
    capped = quality_report(bank, toy_extractor(), train_set(), heldout_set(), cas=False, max_per_class=10)
    assert capped["overall"]["fid_kid"]["n_fake"] == 20 and capped["overall"]["fid_kid"]["n_real"] == 20
    with pytest.raises(GanaugError, match="heldout split"):
        quality_report(bank, toy_extractor(), train_set(), make_toy_dataset([5, 5]), cas=False)


def test_the_report_shows_a_bar_over_its_measures_when_asked(tmp_path, capsys):
    quality_report(_bank(tmp_path, [0, 25, 25]), toy_extractor(), train_set(), heldout_set(), cas=False, progress=True)
    err = capsys.readouterr().err
    assert "quality metrics" in err and "/4" in err
