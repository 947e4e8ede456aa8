"""The auto search on the reference classifier: wiring, candidates, gates, the record and the table."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.data import make_toy_dataset

from ganaug.auto.decision import Score
from ganaug.auto.proxy import kendall_tau, proxy_check
from ganaug.auto.search import (
    AugmentChoice,
    AutoSettings,
    GatedBanks,
    auto_search,
    fit_choice,
    scaled_counts,
)
from ganaug.data.dataset import DatasetSplits
from ganaug.errors import GanaugError
from ganaug.report.auto import decision_table
from ganaug.synth.bank import SyntheticBank
from ganaug.synth.mixing import SYNTHETIC_SHARE

TRAIN_KW = {
    "batch_size": 32,
    "model_kwargs": {"width": 4},
    "trainer_kwargs": {"accelerator": "cpu", "enable_progress_bar": False},
}


@pytest.fixture
def setup(tmp_path):
    train = make_toy_dataset([40, 20, 8, 6])
    fake = make_toy_dataset([0, 0, 30, 30], seed=1)
    bank = SyntheticBank.from_arrays(fake.images.numpy(), fake.labels.numpy(), train.class_names, tmp_path / "bank")
    return train, bank


def test_scaled_counts_and_settings_checks():
    assert scaled_counts({2: 30, 3: 10, 4: 0}, 0.1) == {2: 3, 3: 1, 4: 0}
    with pytest.raises(GanaugError, match="amounts"):
        AutoSettings(amounts=(0.0,))
    with pytest.raises(GanaugError, match="baselines"):
        AutoSettings(baselines=("gan",))
    with pytest.raises(GanaugError, match="folds"):
        AutoSettings(folds=1)
    with pytest.raises(GanaugError, match="holdout='test'"):
        AutoSettings(holdout="test")
    with pytest.raises(GanaugError, match="validation_runs=1"):
        AutoSettings(validation_runs=1)
    s = AutoSettings.from_mapping({"amounts": [0.5], "min_confidences": []}, seed=3)
    assert s.amounts == (0.5,) and s.min_confidences == () and s.seed == 3


def test_gated_bank_keeps_confident_samples_and_fit_choice_caps_counts(setup):
    train, bank = setup
    confidences = np.where(np.arange(len(bank)) % 2 == 0, 0.95, 0.2)
    banks = GatedBanks(bank, confidences)
    assert banks(0.9).counts() == [0, 0, 15, 15] and len(GatedBanks(bank)(None)) == 60
    assert banks(0.9) is banks(0.9)  # built once per threshold
    with pytest.raises(GanaugError, match="confidence"):
        GatedBanks(bank)(0.5)
    with pytest.raises(GanaugError, match="3 confidences for a bank of 60"):
        GatedBanks(bank, confidences[:3])
    splits = DatasetSplits(train, train.subset([]), train)
    choice = AugmentChoice("gan+classical", {2: 25, 3: 5}, min_confidence=0.9, synthetic_weight=0.5)
    row = fit_choice(choice, splits, banks, epochs=1, synthetic_share=0.3, **TRAIN_KW)
    assert row["synthetic_size"] == 15 + 5
    assert choice.to_json()["synthetic_share"] == SYNTHETIC_SHARE  # the choice's own share, not the run's 0.3
    assert fit_choice(AugmentChoice("reweight"), splits, None, epochs=1, **TRAIN_KW)["synthetic_size"] == 0


def test_search_scores_every_candidate_on_every_split_and_records_the_decision(setup):
    train, bank = setup
    settings = AutoSettings(
        baselines=("none", "oversample", "classical"),
        amounts=(0.5, 1.0),
        min_confidences=(0.5,),
        synthetic_weights=(0.5,),
        synthetic_shares=(1.0,),
        holdout="folds",
        folds=2,
        proxy_epochs=1,
    )
    confidences = np.full(len(bank), 0.8)
    messages = []
    result = auto_search(
        train,
        GatedBanks(bank, confidences),
        {2: 30, 3: 30},
        settings=settings,
        epochs=3,
        progress=messages.append,
        synthetic_share=0.5,
        **TRAIN_KW,
    )
    d = result.decision
    names = list(d.results)
    assert names[:5] == ["none", "oversample", "classical", "gan+classical 100%", "gan+classical 50%"]
    assert any(n.endswith("gate 0.5") for n in names) and any(n.endswith("weight 0.5") for n in names)
    shared = [n for n in names if n.endswith("share 1")]
    assert len(shared) == 1 and d.candidates[shared[0]].synthetic_share == 1.0
    gan_choices = [c for n, c in d.candidates.items() if c.strategy == "gan+classical" and n not in shared]
    assert {c.synthetic_share for c in gan_choices} == {0.5}  # the run's share, until stage 3 varies it
    check = result.proxy_check
    assert check.proxy_epochs == 1 and check.full_epochs == 3
    assert sorted(check.proxy_ranking) == sorted(check.full_ranking) == ["classical", "none", "oversample"]
    assert check.probe.probe == "gan+classical 100%" and "probe_gain_proxy" in check.to_json()
    assert result.candidate_epochs == (1 if check.trusted else 3)
    # the baselines and the probe (the largest amount) train at both lengths, every other candidate once
    assert result.trainings == 2 * (len(names) + 4) == len(messages)
    assert messages[0] == "auto: none, split 1/2, 3 epochs" and "auto: gan+classical 50%, split 1/2" in messages[16]
    assert all(len(r.scores) == 2 for r in d.results.values())
    assert d.reference in ("none", "oversample", "classical") and d.chosen in names
    record = result.to_json(train.class_names, final_fit_seconds=2.0)
    assert record["chosen"] == d.chosen and len(record["candidates"]) == len(names)
    assert record["decision_cost_in_final_trainings"] == pytest.approx(result.seconds / 2.0, abs=0.01)
    assert set(record["per_class"]) >= {"class2", "class3"}
    table = decision_table(result, final_fit_seconds=result.seconds / 4)
    assert d.verdict in table and all(n in table for n in names) and "= 4.0 final trainings" in table
    with pytest.raises(GanaugError, match="confidences"):
        auto_search(train, GatedBanks(bank), {2: 30}, settings=settings, epochs=1, **TRAIN_KW)


def test_kendall_tau_known_values():
    assert kendall_tau(["a", "b", "c", "d"], ["a", "b", "c", "d"]) == 1.0
    assert kendall_tau(["a", "b", "c", "d"], ["d", "c", "b", "a"]) == -1.0
    assert kendall_tau(["a", "b", "c", "d"], ["a", "b", "d", "c"]) == pytest.approx(4 / 6)
    with pytest.raises(GanaugError):
        kendall_tau(["a"], ["b"])


def _means(**values: float) -> dict[str, list[Score]]:
    return {name: [Score(v), Score(v)] for name, v in values.items()}


@pytest.mark.parametrize(
    ("proxy", "trusted"),
    [
        ({"none": 0.7, "oversample": 0.8, "reweight": 0.85, "classical": 0.9}, True),  # same order
        ({"none": 0.7, "oversample": 0.86, "reweight": 0.85, "classical": 0.9}, True),  # one swap below the top
        ({"none": 0.7, "oversample": 0.8, "reweight": 0.95, "classical": 0.9}, False),  # another best baseline
        ({"none": 0.9, "oversample": 0.85, "reweight": 0.8, "classical": 0.7}, False),  # reversed
    ],
)
def test_proxy_is_trusted_only_when_it_ranks_the_baselines_like_the_full_length(proxy, trusted):
    full = _means(none=0.75, oversample=0.85, reweight=0.88, classical=0.93)
    check = proxy_check(_means(**proxy), full, proxy=10, epochs=30, baselines=list(full))
    assert check.trusted is trusted and check.full_ranking[0] == "classical" and check.probe is None


def _runs(**values: tuple[float, float]) -> dict[str, list[Score]]:
    return {name: [Score(v) for v in pair] for name, pair in values.items()}


@pytest.mark.parametrize(
    ("probe_proxy", "trusted"),
    [
        ((0.915, 0.945), True),  # the same gain, +0.04, at both lengths
        ((0.885, 0.915), False),  # +0.01: still a win, but 0.03 below the full-length gain (its error: 0.01)
        ((0.87, 0.91), False),  # +0.00: the proxy would keep the reference where the full length would not
    ],
)
def test_proxy_is_trusted_only_when_it_measures_the_probe_gain_like_the_full_length(probe_proxy, trusted):
    full = _runs(none=(0.70, 0.72), classical=(0.90, 0.92), probe=(0.93, 0.97))  # gain +0.04 ± 0.01
    short = _runs(none=(0.68, 0.70), classical=(0.88, 0.90), probe=probe_proxy)
    check = proxy_check(short, full, proxy=10, epochs=30, baselines=["none", "classical"], probe="probe")
    assert check.kendall_tau == 1.0 and check.probe.probe_gain_full == pytest.approx(0.04)
    assert check.probe.probe_uncertainty_full == pytest.approx(0.01)
    assert check.trusted is trusted


def test_no_proxy_with_fewer_than_three_baselines(setup):
    train, bank = setup
    settings = AutoSettings(
        baselines=("classical",),
        amounts=(1.0,),
        min_confidences=(),
        synthetic_weights=(),
        synthetic_shares=(),
        per_class=False,
        holdout="folds",
        folds=2,
        proxy_epochs=1,
    )
    result = auto_search(train, GatedBanks(bank), {2: 30, 3: 30}, settings=settings, epochs=2, **TRAIN_KW)
    assert result.proxy_check is None and result.candidate_epochs == 2 and result.trainings == 4


def test_validation_holdout_trains_on_everything_and_scores_on_the_validation_split(setup):
    train, bank = setup
    val = make_toy_dataset([10, 10, 10, 10], seed=7)
    settings = AutoSettings(
        baselines=("none", "classical"),
        amounts=(1.0,),
        min_confidences=(),
        synthetic_weights=(),
        synthetic_shares=(),
        per_class=False,
        validation_runs=2,
    )
    messages = []
    result = auto_search(
        train, GatedBanks(bank), {2: 30, 3: 30}, settings=settings, val=val, epochs=2, progress=messages.append,
        seed=4, **TRAIN_KW,
    )
    assert result.holdout == "validation" and result.trainings == 3 * 2 and result.proxy_check is None
    assert messages[0] == "auto: none, split 1/2, 2 epochs"
    d = result.decision
    assert d.n_splits == 2 and all(len(r.scores) == 2 for r in d.results.values())
    # run r of every candidate trains the whole split with seed 4 * 1000 + r + 1, scored on val
    again = fit_choice(AugmentChoice("classical"), DatasetSplits(train, train.subset([]), val), None, epochs=2,
                       seed=4002, **TRAIN_KW)
    assert d.results["classical"].scores[1].balanced_accuracy == again["balanced_accuracy"]
    # the gain's uncertainty includes the validation set's sampling noise: never zero, even for a copy
    assert d.results["gan+classical 100%"].gain.uncertainty > 0
    record = result.to_json(train.class_names)
    assert record["holdout"] == "validation" and "trainings scored on the validation split" in decision_table(result)
    with pytest.raises(GanaugError, match="needs a validation split"):
        auto_search(train, GatedBanks(bank), {2: 30}, settings=settings, val=train.subset([]), epochs=1, **TRAIN_KW)
