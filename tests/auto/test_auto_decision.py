"""The decision rule on cases with known answers: clearly better, clearly worse, ties within noise."""

from __future__ import annotations

import math

import pytest

from ganaug.auto.decision import (
    Noise,
    Score,
    best_option_per_class,
    choose,
    decide,
    holdout_ratio,
    paired_gain,
    sampling_variance,
)
from ganaug.auto.splits import stratified_folds
from ganaug.errors import GanaugError


def scores(*values: float) -> list[Score]:
    return [Score(v) for v in values]


BASE = scores(0.80, 0.82, 0.78)


def test_paired_gain_known_values():
    g = paired_gain([0.9, 0.8, 0.7], [0.8, 0.7, 0.6])
    assert g.mean == pytest.approx(0.1) and g.uncertainty == pytest.approx(0.0) and g.n == 3
    g = paired_gain([0.3, 0.5], [0.2, 0.2])
    assert g.mean == pytest.approx(0.2) and g.uncertainty == pytest.approx(0.1)  # std 0.1414 / sqrt(2)
    assert paired_gain([0.5, None], [0.4, 0.4]).uncertainty == math.inf
    assert paired_gain([None], [0.4]).n == 0


def test_overlapping_folds_widen_the_uncertainty():
    # Nadeau-Bengio: variance x (1/n + n_holdout/n_fit) instead of 1/n
    naive = paired_gain([0.3, 0.5], [0.2, 0.2])
    corrected = paired_gain([0.3, 0.5], [0.2, 0.2], holdout_ratio=0.5)
    assert corrected.uncertainty == pytest.approx(naive.uncertainty * math.sqrt((0.5 + 0.5) / 0.5))
    s = {"classical": BASE, "gan": scores(0.83, 0.82, 0.79)}  # gains .03, 0, .01: se .0088, corrected .0139
    assert decide(s, {}, ["classical"], margin=1.0).chosen == "gan"
    assert decide(s, {}, ["classical"], margin=1.0, noise=Noise(holdout_ratio=0.5)).chosen == "classical"
    splits = stratified_folds([0] * 6 + [1] * 6, n_folds=3)
    assert holdout_ratio(splits) == pytest.approx(4 / 8)


def test_a_clearly_better_candidate_is_chosen():
    d = decide({"classical": BASE, "gan": scores(0.86, 0.87, 0.85)}, {"classical": 0, "gan": 1}, ["classical"])
    assert d.reference == "classical" and d.chosen == "gan" and d.improved and d.chosen_candidate == 1
    assert d.results["gan"].chosen and not d.results["classical"].chosen


def test_a_clearly_worse_candidate_is_not_chosen():
    d = decide({"classical": BASE, "gan": scores(0.70, 0.72, 0.69)}, {}, ["classical"])
    assert d.chosen == "classical" and not d.improved
    assert d.results["gan"].gain.mean < 0


def test_a_tie_within_noise_keeps_the_reference():
    # gains +0.02, -0.015, +0.01: mean +0.005, standard error about 0.010
    d = decide({"classical": BASE, "gan": scores(0.82, 0.805, 0.79)}, {}, ["classical"])
    assert d.chosen == "classical"
    assert 0 < d.results["gan"].gain.mean < d.results["gan"].gain.uncertainty


def test_pairing_cancels_split_to_split_variation():
    # the splits differ by 30 points, the candidate is 1 point better on every one of them
    base = scores(0.60, 0.90, 0.75)
    d = decide({"classical": base, "gan": scores(0.61, 0.911, 0.759)}, {}, ["classical"])
    assert d.chosen == "gan"
    assert d.results["gan"].std > 0.1  # unpaired, the gain would be lost in this spread


def test_the_best_baseline_is_the_reference_and_the_largest_significant_gain_wins():
    s = {
        "none": scores(0.70, 0.71, 0.69),
        "classical": BASE,
        "small": scores(0.75, 0.76, 0.74),  # beats none, not classical
        "good": scores(0.84, 0.85, 0.83),
        "better": scores(0.88, 0.89, 0.87),
    }
    d = decide(s, {}, ["none", "classical"])
    assert d.reference == "classical" and d.chosen == "better"


def test_margin_sets_how_many_standard_errors_a_win_needs():
    s = {"classical": BASE, "gan": scores(0.83, 0.82, 0.79)}  # gains .03, 0, .01: mean .0133, se .0088
    assert decide(s, {}, ["classical"], margin=1.0).chosen == "gan"
    assert decide(s, {}, ["classical"], margin=2.0).chosen == "classical"


def test_bad_decisions_inputs_are_refused():
    with pytest.raises(GanaugError, match="baselines"):
        decide({"gan": BASE}, {}, ["classical"])
    with pytest.raises(GanaugError, match="no baselines"):
        decide({"gan": BASE}, {}, [])
    with pytest.raises(GanaugError, match="margin"):
        decide({"classical": BASE}, {}, ["classical"], margin=-1)


def test_choose_calls_the_users_scorer_for_every_candidate_and_split():
    splits = stratified_folds([0] * 6 + [1] * 6, n_folds=3)
    calls = []

    def score(candidate: float, split) -> Score:
        calls.append((candidate, split.index))
        return Score(0.7 + candidate + 0.01 * split.index)

    d = choose({"classical": 0.0, "half": 0.05, "worse": -0.1}, score, splits, baselines=["classical"])
    assert d.chosen == "half" and d.chosen_candidate == 0.05
    assert sorted(calls) == sorted((c, i) for c in (0.0, 0.05, -0.1) for i in range(3))
    with pytest.raises(GanaugError, match="not among the candidates"):
        choose({"gan": 1}, score, splits, baselines=["classical"])
    with pytest.raises(GanaugError, match="return a Score"):
        choose({"classical": 0}, lambda c, s: 0.5, splits, baselines=["classical"])


def test_per_class_choice_picks_the_amount_that_helps_each_class():
    def s(recalls_per_split):
        return [Score(0.8, tuple(r)) for r in recalls_per_split]

    ref = s([(0.9, 0.5, 0.5), (0.9, 0.4, 0.6), (0.9, 0.5, 0.4)])
    a = s([(0.9, 0.7, 0.5), (0.9, 0.6, 0.6), (0.9, 0.7, 0.4)])  # class 1 +0.2 every split
    b = s([(0.9, 0.6, 0.3), (0.9, 0.5, 0.4), (0.9, 0.6, 0.2)])  # class 1 +0.1, class 2 -0.2
    chosen = best_option_per_class({"ref": ref, "a": a, "b": b}, "ref", ["a", "b"], [1, 2])
    assert chosen == {1: "a", 2: None}


def test_sampling_variance_known_values():
    # two classes of 100 held-out images, every recall 0.9: per class (0.09 + 0.09) / 100
    a = [Score(0.9, (0.9, 0.9)), Score(0.9, (0.9, 0.9))]
    assert sampling_variance(a, a, [100, 100]) == pytest.approx(0.0018 * 2 / 4)  # balanced accuracy: / K^2
    assert sampling_variance(a, a, [100, 100], class_id=1) == pytest.approx(0.0018)
    perfect = [Score(1.0, (1.0, 1.0))]
    assert sampling_variance(perfect, perfect, [5, 5]) == 0.0  # no error, no sampling noise in it
    absent = [Score(0.9, (0.9, None))]
    assert sampling_variance(absent, a, [100, 0]) == pytest.approx(0.0018)  # one class counted: / 1


def test_a_fixed_held_out_set_adds_its_sampling_noise():
    # the same +0.02 in every run: the runs show no training noise, but 100 images per class leave
    # a standard error of 0.03 on each balanced accuracy difference; 10,000 per class leave 0.003
    ref = [Score(0.88, (0.9, 0.86)), Score(0.89, (0.9, 0.88))]
    gan = [Score(0.90, (0.9, 0.9)), Score(0.91, (0.9, 0.92))]
    small = decide({"classical": ref, "gan": gan}, {}, ["classical"], noise=Noise(holdout_counts=(100, 100)))
    assert small.chosen == "classical"
    assert small.results["gan"].gain.uncertainty == pytest.approx(
        math.sqrt(sampling_variance(gan, ref, [100, 100])), rel=1e-6
    )
    large = decide({"classical": ref, "gan": gan}, {}, ["classical"], noise=Noise(holdout_counts=(10000, 10000)))
    assert large.chosen == "gan"
    both = {"ref": ref, "gan": gan}
    per_class = best_option_per_class(both, "ref", ["gan"], [1], noise=Noise(holdout_counts=(100, 100)))
    assert per_class == {1: None}  # +0.04 recall on 100 images is within the noise
    assert best_option_per_class(both, "ref", ["gan"], [1], noise=Noise(holdout_counts=(1, 10**6))) == {1: "gan"}


def test_a_pooled_training_variance_gives_a_single_run_a_finite_uncertainty():
    assert paired_gain([0.9], [0.8]).uncertainty == math.inf
    g = paired_gain([0.9], [0.8], pooled_variance=0.0004)
    assert g.mean == pytest.approx(0.1) and g.uncertainty == pytest.approx(0.02) and g.n == 1
    two = paired_gain([0.9, 0.7], [0.8, 0.7], pooled_variance=0.0004)  # the pooled variance, over 2 runs
    assert two.uncertainty == pytest.approx(0.02 / math.sqrt(2))
    noisy = Noise(pair_variance=0.01**2)
    d = decide({"classical": scores(0.90), "gan": scores(0.93)}, {}, ["classical"], noise=noisy)
    assert d.chosen == "gan"  # +0.03 against a standard error of 0.01
    d = decide({"classical": scores(0.90), "gan": scores(0.905)}, {}, ["classical"], noise=noisy)
    assert d.chosen == "classical"
