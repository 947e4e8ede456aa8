"""The quality gate: drop what the domain classifier does not recognise and copies of training images."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from helpers.data import make_toy_dataset
from helpers.quality import heldout_set, toy_extractor, train_set

from ganaug.errors import GanaugError
from ganaug.quality.gate import gate_bank, gate_samples, generate_gated
from ganaug.synth.bank import SyntheticBank


class PoolSampler:
    """A stand-in generator: draws toy images of the asked class, or of the next class with prob 1 - p_good."""

    image_shape = (1, 8, 8)
    class_names = ["class0", "class1", "class2"]

    def __init__(self, p_good: float) -> None:
        self.pool = make_toy_dataset([200, 200, 200], seed=5)
        self.p_good = p_good

    def sample(self, labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        good = torch.rand(len(labels), generator=generator) < self.p_good
        shown = torch.where(good, labels, (labels + 1) % 3)
        pick = torch.randint(0, 200, (len(labels),), generator=generator)
        return self.pool.images[shown * 200 + pick]


def _constructed_bank(tmp_path):
    """12 fresh samples per class 1 and 2, then 5 mislabelled ones and 4 training copies: their positions."""
    train, fresh = train_set(), make_toy_dataset([0, 12, 12], seed=9)
    wrong = make_toy_dataset([5, 0, 0], seed=10)  # class-0 images claimed to be class 2
    copies = train.subset([40, 41, 60, 61])  # two of class 1, two of class 2
    images = torch.cat([fresh.images, wrong.images, copies.images])
    labels = torch.cat([fresh.labels, torch.full((5,), 2), copies.labels])
    bank = SyntheticBank.from_arrays(images, labels, train.class_names, tmp_path / "bank", source={"seed": 4})
    return bank, np.arange(24, 29), np.arange(29, 33)


def test_gate_drops_exactly_the_low_confidence_and_copied_samples(tmp_path):
    bank, wrong, copies = _constructed_bank(tmp_path)
    gated, report = gate_bank(
        bank, toy_extractor(), train_set(), min_confidence=0.5, drop_near_copies=True, directory=tmp_path / "gated"
    )
    assert report["kept_indices"] == list(range(24))
    assert report["totals"] == {"generated": 33, "dropped_low_confidence": 5, "dropped_near_copy": 4, "kept": 24}
    assert report["per_class"]["class1"] == {
        "class_id": 1,
        "generated": 14,
        "dropped_low_confidence": 0,
        "dropped_near_copy": 2,
        "kept": 12,
    }
    assert report["per_class"]["class2"]["dropped_low_confidence"] == 5
    assert np.array_equal(gated.images, bank.images[:24]) and gated.counts() == [0, 12, 12]
    assert gated.source["seed"] == 4 and gated.source["gate"]["totals"]["kept"] == 24
    assert SyntheticBank.load(tmp_path / "gated").counts() == [0, 12, 12]


def test_gate_options_switch_each_check(tmp_path):
    bank, _, _ = _constructed_bank(tmp_path)
    ex, train = toy_extractor(), train_set()
    _, no_copies = gate_bank(bank, ex, train, min_confidence=0.5, drop_near_copies=False, directory=tmp_path / "a")
    assert no_copies["totals"]["dropped_near_copy"] == 0 and no_copies["near_copy_threshold"] is None
    _, lax = gate_bank(bank, ex, train, min_confidence=0.0, drop_near_copies=True, directory=tmp_path / "b")
    assert lax["totals"]["dropped_low_confidence"] == 0 and lax["totals"]["dropped_near_copy"] >= 4
    _, held = gate_bank(
        bank, ex, train, min_confidence=0.5, drop_near_copies=True, directory=tmp_path / "c", heldout=heldout_set()
    )
    assert held["totals"]["dropped_near_copy"] >= 4 and held["near_copy_threshold"] > 0
    _, strict = gate_bank(
        bank, ex, train, min_confidence=1.0, drop_near_copies=True, directory=tmp_path / "d", near_copy_threshold=0.0
    )
    assert strict["totals"]["kept"] == 0 and strict["near_copy_threshold"] == 0.0


def test_gate_samples_flags_are_disjoint():
    train, ex = train_set(), toy_extractor()
    images, labels = train.images, train.labels.clone()
    labels[:3] = 2  # mislabelled copies: low confidence first, so not counted twice
    low, copy = gate_samples(images, labels, ex, train, min_confidence=0.5, near_copy_threshold=0.0)
    assert low[:3].all() and not (low & copy).any() and copy[3:].all()


def test_generate_gated_fills_each_target_in_rounds(tmp_path):
    sampler, ex, train = PoolSampler(p_good=0.5), toy_extractor(), train_set()
    kwargs = {"extractor": ex, "train": train, "min_confidence": 0.5, "near_copy_threshold": 0.01, "seed": 1}
    bank, report = generate_gated(sampler, {1: 30, 2: 20, 0: 0}, tmp_path / "bank", **kwargs)
    assert bank.counts() == [0, 30, 20] and report["rounds"] >= 2
    row = report["per_class"]["class1"]
    assert row["target"] == row["kept"] == 30 and row["shortfall"] == 0
    assert row["generated"] == row["dropped_low_confidence"] + row["dropped_near_copy"] + row["surplus"] + 30
    assert 0.3 < row["keep_rate"] < 0.7
    probs = ex.embed(bank.images)[1]
    assert (probs[torch.arange(len(bank)), torch.from_numpy(np.array(bank.labels))] >= 0.5).all()
    again, _ = generate_gated(sampler, {1: 30, 2: 20}, tmp_path / "again", **kwargs)
    assert np.array_equal(again.images, bank.images)  # seeded
    assert bank.source["gate"]["totals"]["kept"] == 50 and bank.source["seed"] == 1


def test_generate_gated_reports_a_shortfall_when_the_generator_never_passes(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="ganaug"):
        bank, report = generate_gated(
            PoolSampler(p_good=0.0),
            {2: 5},
            tmp_path / "bank",
            extractor=toy_extractor(),
            train=train_set(),
            max_rounds=2,
            drop_near_copies=False,
        )
    assert len(bank) == 0 and report["rounds"] == 2
    assert report["per_class"]["class2"]["shortfall"] == 5 and report["per_class"]["class2"]["generated"] == 5 + 100
    assert "reached 0 of 5 samples after 2 rounds" in caplog.text


def test_gate_bad_inputs_raise(tmp_path):
    bank, _, _ = _constructed_bank(tmp_path)
    ex, train = toy_extractor(), train_set()
    with pytest.raises(GanaugError, match="min_confidence=1.5"):
        gate_bank(bank, ex, train, min_confidence=1.5, drop_near_copies=False, directory=tmp_path / "x")
    with pytest.raises(GanaugError, match="near_copy_threshold=-0.1"):
        gate_bank(
            bank,
            ex,
            train,
            min_confidence=0.5,
            drop_near_copies=True,
            directory=tmp_path / "x",
            near_copy_threshold=-0.1,
        )
    other = make_toy_dataset([5, 5], seed=0)
    with pytest.raises(GanaugError, match="pass the training split the GAN learnt"):
        gate_bank(bank, ex, other, min_confidence=0.5, drop_near_copies=False, directory=tmp_path / "x")
    renamed = SyntheticBank.from_arrays(bank.images, bank.labels, ["a", "b", "c"], tmp_path / "renamed")
    with pytest.raises(GanaugError, match="train the extractor on this data"):
        gate_bank(renamed, ex, train, min_confidence=0.5, drop_near_copies=False, directory=tmp_path / "x")
    with pytest.raises(GanaugError, match="max_rounds=0"):
        generate_gated(PoolSampler(0.5), {1: 3}, tmp_path / "y", extractor=ex, train=train, max_rounds=0)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_the_gate_shows_a_bar_of_kept_samples_when_asked(tmp_path, capsys):
    kwargs = {"extractor": toy_extractor(), "train": train_set(), "min_confidence": 0.5, "seed": 1}
    generate_gated(PoolSampler(p_good=0.5), {1: 30, 2: 20}, tmp_path / "bank", progress=True, **kwargs)
    err = capsys.readouterr().err
    assert "quality gate" in err and "/50" in err and "round=" in err
    generate_gated(PoolSampler(p_good=0.5), {1: 30, 2: 20}, tmp_path / "quiet", **kwargs)
    assert "quality gate" not in capsys.readouterr().err  # off a terminal, by default
