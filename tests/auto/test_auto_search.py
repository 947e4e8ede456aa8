"""The auto race: rungs with known scores, and the search on the reference classifier over toy data."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.data import make_toy_dataset

from ganaug.auto.decision import Noise, Score
from ganaug.auto.race import Race
from ganaug.auto.search import (
    AugmentChoice,
    AutoSearch,
    AutoSettings,
    GatedBanks,
    auto_search,
    final_row,
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
    "trainer_kwargs": {"accelerator": "cpu", "enable_progress_bar": False, "num_sanity_val_steps": 0},
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
    with pytest.raises(GanaugError, match="baselines=.*without generated data"):
        AutoSettings(baselines=("gan+classical",))
    with pytest.raises(GanaugError, match="folds"):
        AutoSettings(folds=1)
    with pytest.raises(GanaugError, match="holdout='test'"):
        AutoSettings(holdout="test")
    with pytest.raises(GanaugError, match="validation_runs=1"):
        AutoSettings(validation_runs=1)
    with pytest.raises(GanaugError, match="rungs=.*the last one 1.0"):
        AutoSettings(rungs=(0.2, 0.5))
    s = AutoSettings.from_mapping({"amounts": [0.5], "min_confidences": []}, seed=3)
    assert s.amounts == (0.5,) and s.min_confidences == () and s.seed == 3
    families = AutoSettings.from_mapping({"families": [["classical"], ["la+classical", "none"]]}).families
    assert families == (("classical",), ("la+classical", "none"))
    assert AutoSettings(rungs=(0.1, 0.25, 1.0)).budgets(30) == [3, 8, 30]
    assert "la+classical" in AutoSettings().baselines and "none" in AutoSettings().baselines


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
    row = fit_choice(choice, splits, {None: banks}, epochs=1, synthetic_share=0.3, **TRAIN_KW).row(splits)
    assert row["synthetic_size"] == 15 + 5
    assert choice.to_json()["synthetic_share"] == SYNTHETIC_SHARE  # the choice's own share, not the run's 0.3
    assert fit_choice(AugmentChoice("reweight"), splits, None, epochs=1, **TRAIN_KW).row(splits)["synthetic_size"] == 0
    with pytest.raises(GanaugError, match="bank of GAN snapshot 5"):
        fit_choice(AugmentChoice("gan", {2: 1}, snapshot=5), splits, {None: banks}, epochs=1, **TRAIN_KW)


# Known scores: on the validation split's images (sampling noise 0) with a pooled training variance.
TRUE = {"ref": 0.80, "weak": 0.70, "good": 0.90, "bad": 0.50, "close": 0.805}


def _fake_scorer(calls: list[tuple[str, int, int]]):
    def score(candidates, rung, epochs, final):
        out = {}
        for name in candidates:
            runs = 2 if final else 1
            calls.extend((name, rung, epochs) for _ in range(runs))
            # longer training helps everyone alike; runs differ by a little training noise
            out[name] = [Score(TRUE[name] - 0.1 / epochs + 0.002 * r) for r in range(runs)]
        return out

    return score


def _race(calls: list) -> Race:
    noise = Noise(pair_variance=0.01**2)
    return Race([2, 5, 10], _fake_scorer(calls), ["ref", "weak"], noise, Noise(pair_variance=0.01**2), keep=2)


def test_racing_drops_a_clearly_worse_candidate_early_and_keeps_a_clearly_better_one():
    calls: list = []
    race = _race(calls)
    decision, pool = race.run({"ref": "r", "weak": "w", "good": "g", "bad": "b"})
    first = race.rungs[0]
    assert first.reference == "ref" and set(first.dropped) == {"weak", "bad"}  # 10 and 30 points below
    assert first.promoted == ["ref", "good"]
    assert [r.epochs for r in race.rungs] == [2, 5, 10] and set(race.rungs[-1].scores) == {"ref", "good"}
    assert decision.chosen == "good" and decision.reference == "ref" and decision.chosen_candidate == "g"
    assert ("bad", 1, 5) not in calls and ("weak", 2, 10) not in calls  # never trained past their first rung
    assert len([c for c in calls if c[1] == 2]) == 4  # the last rung: two finalists, two paired runs each


def test_racing_keeps_the_reference_when_the_challenger_is_within_the_noise():
    race = _race([])
    decision, _ = race.run({"ref": "r", "weak": "w", "close": "c"})
    assert race.rungs[-1].scores.keys() == {"ref", "close"}
    assert decision.chosen == "ref" and not decision.improved  # +0.005 against a standard error of 0.01
    assert "no candidate beat 'ref'" in decision.verdict and "'ref' is used" in decision.verdict


def test_racing_adds_candidates_after_a_rung():
    race = _race([])
    added = []

    def after(rung):
        added.append(rung.index)
        return {"good": "g"} if rung.index == 0 else {}

    decision, pool = race.run({"ref": "r", "weak": "w"}, after)
    assert added == [0, 0, 1]  # after a rung, called again until it adds none
    assert "good" in race.rungs[0].scores and decision.chosen == "good" and pool["good"] == "g"


def test_families_meet_at_full_length_and_the_gan_is_built_on_the_winner():
    # "fast" rebalances from the first batch: it leads every short rung, but "slow" (a loss fix) wins at full
    # length; "slower" loses to "slow" within its family, "weak" to "fast" within theirs.
    truth = {"fast": (0.80, 0.85), "weak": (0.60, 0.80), "slow": (0.50, 0.90), "slower": (0.40, 0.70),
             "gan+slow": (0.55, 0.95), "gan+fast": (0.9, 0.9)}  # fmt: skip
    calls = []

    def score(candidates, rung, epochs, every):
        calls.extend((n, rung, epochs) for n in candidates)
        return {n: [Score(truth[n][epochs == 10] + 0.002 * r) for r in range(2 if every else 1)] for n in candidates}

    noise = Noise(pair_variance=0.01**2)
    race = Race([2, 10], score, ["fast", "weak", "slow", "slower"], noise, noise, keep=2,
                families=[["fast", "weak"], ["slow", "slower"]])  # fmt: skip
    built = []

    def after(rung):
        built.append(rung.reference)
        return {f"gan+{rung.reference}": "g"}

    decision, _ = race.run({n: n for n in ["fast", "weak", "slow", "slower"]}, after)
    short, leaders, last = race.rungs
    assert short.promoted[:2] == ["fast", "slow"] and set(short.dropped) == {"weak", "slower"}
    assert (leaders.epochs, set(leaders.scores), leaders.reference) == (10, {"fast", "slow"}, "slow")
    assert built == ["slow", "slow"] and short.reference == "slow" and "gan+slow" in short.promoted
    assert set(last.scores) == {"slow", "gan+slow"} and decision.chosen == "gan+slow"
    assert decision.reference == "slow" and ("weak", 1, 10) not in calls and ("slower", 1, 10) not in calls
    with pytest.raises(GanaugError, match=r"families=.*\['classical'\] in more than one family"):
        AutoSettings(families=(("classical",), ("classical", "la+classical")))
    with pytest.raises(GanaugError, match="families"):
        AutoSettings(families=(("gan+classical",),))


def _snapshot_banks(tmp_path, train):
    """Snapshot 10 holds images of the classes they are labelled with; snapshot 5 holds class 1's images
    labelled as classes 2 and 3 (a generator that has not learnt the rare classes)."""
    good = make_toy_dataset([0, 0, 30, 30], seed=1)
    wrong = make_toy_dataset([0, 60, 0, 0], seed=2)
    labels = good.labels.numpy()
    names = train.class_names
    return {
        5: GatedBanks(SyntheticBank.from_arrays(wrong.images.numpy(), labels, names, tmp_path / "b5")),
        10: GatedBanks(SyntheticBank.from_arrays(good.images.numpy(), labels, names, tmp_path / "b10")),
    }


def test_the_search_races_baselines_and_gan_snapshots_and_keeps_the_final_run(setup, tmp_path):
    train, _ = setup
    val = make_toy_dataset([8, 8, 8, 8], seed=7)
    splits = DatasetSplits(train, val, make_toy_dataset([10, 10, 10, 10], seed=8))
    banks = _snapshot_banks(tmp_path, train)
    # two families (the default ones): each one's best trains the full length before the GAN is built on the winner
    settings = AutoSettings(baselines=("none", "la+classical"), amounts=(1.0,), rungs=(0.5, 1.0), keep=2)
    messages = []
    kw = {**TRAIN_KW, "batch_size": 16, "model_kwargs": {"width": 8, "lr": 3e-2}, "synthetic_share": 1.0}
    result = auto_search(splits, banks, {2: 30, 3: 30}, settings=settings, epochs=4, progress=messages.append,
                         seed=4, **kw)  # fmt: skip
    first, leaders, _ = result.rungs
    reference = first.reference
    gan = "gan" if reference == "none" else f"gan+{reference}"
    assert set(first.scores) == {"none", "la+classical", f"{gan} 100% 5 steps", f"{gan} 100% 10 steps"}
    assert leaders.reference == reference and set(leaders.scores) == {"none", "la+classical"}
    assert result.candidate_epochs == [2, 4, 4] and result.snapshots == [5, 10]
    good, bad = first.scores[f"{gan} 100% 10 steps"][0], first.scores[f"{gan} 100% 5 steps"][0]
    assert good.balanced_accuracy > bad.balanced_accuracy  # the snapshot that learnt the classes scores better
    assert f"{gan} 100% 5 steps" not in result.rungs[-1].scores  # the worse snapshot is not a finalist
    assert messages[0] == "auto: rung 1, none, split 1/1, 2 epochs"
    decision = result.decision
    assert decision.n_splits == 2 and all(len(r.scores) == 2 for r in decision.results.values())
    assert decision.chosen_candidate.snapshot in (None, 10)
    # the chosen candidate's first full-length run is the final model: it trained as the final training does
    assert result.final is not None and result.final.strategy == decision.chosen_candidate.strategy
    again = fit_choice(decision.chosen_candidate, splits, banks, epochs=4, seed=4, **kw).row(splits)
    row = final_row(result, splits, banks, epochs=4, seed=4, **kw)
    row.pop("fit_seconds"), again.pop("fit_seconds")
    assert row == again
    record = result.to_json(train.class_names, final_fit_seconds=2.0)
    assert record["chosen"] == decision.chosen and record["chosen_snapshot"] == decision.chosen_candidate.snapshot
    # the reference's full-length run on the leaders' rung is its first run on the last rung: trained once
    assert len(record["rungs"]) == 3 and record["trainings"] == result.trainings == 4 + 2 + 3
    assert record["decision_cost_in_final_trainings"] == pytest.approx(result.seconds / 2.0, abs=0.01)
    table = decision_table(result, final_fit_seconds=result.seconds / 4)
    assert decision.verdict in table and "= 4.0 final trainings" in table and "rung" in table


def test_folds_score_every_rung_on_every_fold_and_train_the_final_model_apart(setup, tmp_path):
    train, bank = setup
    splits = DatasetSplits(train, train.subset([]), make_toy_dataset([5, 5, 5, 5], seed=3))
    settings = AutoSettings(baselines=("classical",), amounts=(1.0,), rungs=(0.5, 1.0), holdout="folds", folds=2)
    result = auto_search(splits, {None: GatedBanks(bank)}, {2: 30, 3: 30}, settings=settings, epochs=2, **TRAIN_KW)
    assert result.holdout == "folds" and result.final is None
    assert all(len(s) == 2 for r in result.rungs for s in r.scores.values())
    assert final_row(result, splits, {None: GatedBanks(bank)}, epochs=2, **TRAIN_KW)["strategy"] in (
        "classical", "gan+classical",
    )  # fmt: skip


def test_a_validation_search_needs_a_validation_split(setup):
    train, bank = setup
    splits = DatasetSplits(train, train.subset([]), train)
    with pytest.raises(GanaugError, match="needs a validation split"):
        auto_search(splits, {None: GatedBanks(bank)}, {2: 30}, epochs=1, **TRAIN_KW)
    with pytest.raises(GanaugError, match="confidences"):
        auto_search(splits, {None: GatedBanks(bank)}, {2: 30}, settings=AutoSettings(min_confidences=(0.5,)),
                    epochs=1, **TRAIN_KW)  # fmt: skip


def test_with_one_budget_the_candidates_built_on_the_reference_race_at_full_length():
    calls: list = []
    noise = Noise(pair_variance=0.01**2)
    race = Race([10], _fake_scorer(calls), ["ref", "weak"], noise, noise)
    built = []

    def after(rung):
        built.append(rung.reference)
        return {"good": "g"}

    decision, _ = race.run({"ref": "r", "weak": "w"}, after)
    assert built == ["ref", "ref"] and [r.epochs for r in race.rungs] == [10]
    assert set(race.rungs[0].scores) == {"ref", "weak", "good"} and ("good", 0, 10) in calls
    assert all(len(s) == 2 for s in race.rungs[0].scores.values())  # every split, as the last rung trains
    assert decision.chosen == "good"


def test_a_gain_of_unknown_noise_is_kept_even_at_margin_zero():
    # one run per candidate and no pooled variance: every short-rung gain has an infinite uncertainty
    race = Race([2, 10], _fake_scorer([]), ["ref", "weak"], Noise(), Noise(), margin=0.0)
    decision, _ = race.run({"ref": "r", "weak": "w", "good": "g"})
    assert race.rungs[0].dropped == [] and decision.reference == "ref"


def _scores_by_name(name: str) -> Score:
    """Known validation scores: class 2 gains most from the full amount, class 3 from half of it."""
    recalls = {"100%": (0.9, 0.9, 0.9, 0.5), "50%": (0.9, 0.9, 0.5, 0.9), "per class": (0.9, 0.9, 0.9, 0.9)}
    for key, recall in recalls.items():
        if name.endswith(key):
            return Score(sum(recall) / 4, recall)
    if "share" in name:
        return Score(0.75, (0.9, 0.9, 0.6, 0.6))
    return Score(0.5 if name == "classical" else 0.45, (0.9, 0.9, 0.1, 0.1))


def test_three_rungs_build_the_gan_candidates_and_their_variants_at_the_first(setup):
    train, bank = setup
    splits = DatasetSplits(train, make_toy_dataset([8, 8, 8, 8], seed=7), train)
    settings = AutoSettings(baselines=("classical", "la+classical"), families=(), amounts=(0.5, 1.0),
                            synthetic_shares=(0.25,), per_class=True, rungs=(0.2, 0.5, 1.0))  # fmt: skip
    search = AutoSearch(splits, {None: GatedBanks(bank)}, {2: 30, 3: 30}, settings, epochs=10,
                        train_kwargs={"synthetic_weight": 0.5})  # fmt: skip
    first_seen: dict[str, int] = {}

    def score(candidates, rung, epochs, every):
        for name in candidates:
            first_seen.setdefault(name, rung)
        return {name: [_scores_by_name(name)] * (2 if every else 1) for name in candidates}

    search.race.score = score
    result = search.run()
    gan = "gan+classical"
    assert [r.epochs for r in result.rungs] == [2, 5, 10]
    assert {first_seen[f"{gan} {a}"] for a in ("100%", "50%", "100% share 0.25", "per class")} == {0}
    per_class = search.race_pool[f"{gan} per class"]
    assert per_class.synthetic_counts == {2: 30, 3: 15}  # each class at the amount that raised its recall
    assert per_class.synthetic_weight == 0.5  # the run's loss weight, kept by the candidates
    assert result.decision.chosen == f"{gan} per class"
    assert set(result.rungs[-1].scores) == {"classical", f"{gan} per class"}
