"""The headline comparison, summaries with unmeasured values, rarest classes and quality metrics."""

from __future__ import annotations

import pytest
from helpers.sweeps import row

from ganaug.classify.summary import summarize
from ganaug.report.build import quality_metrics, rarest_classes
from ganaug.report.compare import compare, upper_bound
from ganaug.report.runs import Job
from ganaug.report.table import summary_table


def _summary(values: dict[str, list[float]]) -> list[dict]:
    return summarize([row(s, seed, v) for s, vs in values.items() for seed, v in enumerate(vs)])


def test_beats_when_the_margin_exceeds_two_std() -> None:
    upper = upper_bound(_summary({"none": [0.98, 0.98]}))
    c = compare(_summary({"none": [0.7, 0.8], "classical": [0.90, 0.92, 0.94], "gan+classical": [0.96, 0.97]}),
                upper)
    assert c is not None and c.best == "classical"
    assert c.best_mean == pytest.approx(0.92) and c.best_std == pytest.approx(0.02)
    assert c.difference == pytest.approx(0.045)
    assert c.threshold == pytest.approx(0.04)  # twice the larger std (0.02 against 0.00707)
    assert c.verdict == "beats"
    assert c.gap_closed == pytest.approx(0.045 / 0.06)


@pytest.mark.parametrize(
    ("gan", "verdict"),
    [([0.93, 0.95], "within"), ([0.90, 0.91], "within"), ([0.80, 0.82], "worse"), ([0.99], "untested")],
)
def test_verdicts_other_than_beats(gan: list[float], verdict: str) -> None:
    c = compare(_summary({"classical": [0.90, 0.92, 0.94], "gan+classical": gan}))
    assert c is not None and c.verdict == verdict
    assert c.gap_closed is None and c.upper is None


def test_no_comparison_without_both_sides_and_no_gap_without_room() -> None:
    assert compare(_summary({"classical": [0.9]})) is None
    assert compare(_summary({"gan+classical": [0.9]})) is None
    no_room = compare(_summary({"classical": [0.9, 0.9], "gan+classical": [0.95, 0.95]}),
                      upper_bound(_summary({"none": [0.85]})))
    assert no_room is not None and no_room.room == pytest.approx(-0.05) and no_room.gap_closed is None


def test_unmeasured_values_are_left_out_of_means() -> None:
    rows = [row("gan", 0, 0.5, [0.2, None, 0.6, None], rarest_recall=None),
            row("gan", 1, 0.7, [0.4, None, 0.8, 1.0], rarest_recall=0.3),
            row("none", 0, 0.4, rarest_recall=None)]
    by = {s["strategy"]: s for s in summarize(rows)}
    gan = by["gan"]
    assert gan["rarest_class_recall"] == pytest.approx(0.3) and gan["rarest_class_recall_n"] == 1
    assert gan["per_class_recall"][0] == pytest.approx(0.3)
    assert gan["per_class_recall"][1] is None and gan["per_class_recall_std"][1] is None
    assert gan["per_class_recall"][3] == pytest.approx(1.0) and gan["per_class_recall_std"][3] == 0.0
    assert by["none"]["rarest_class_recall"] is None
    table = summary_table(list(by.values()))
    assert "| none | 1 | 0.4000 ± 0.0000 | 0.4000 ± 0.0000 | 0.4000 ± 0.0000 | n/a |" in table


def test_rarest_classes_from_counts_profile_or_rows() -> None:
    rows = [row("none", 0, 0.5)]
    assert rarest_classes([50, 3, 9, 3, 40], rows, "none", 5) == [1, 3, 2]
    assert rarest_classes(None, rows, "exponential", 5) == [4, 3, 2]
    assert rarest_classes(None, rows, "none", 4) == [3]
    assert rarest_classes([5, 1], rows, "none", 2) == [1, 0]


def test_quality_metrics_flatten_numbers_once_per_distinct_set(tmp_path) -> None:
    q = {"overall": {"fid_kid": {"fid": 12.5, "kid_mean": 0.01}, "note": "x", "ok": True, "bad": float("nan")},
         "per_class": {"3": {"fid": 40.0}}, "bank": {"size": 10}, "classes": [3],
         "memorisation": {"median_ratio": 0.9, "generated": {"near_copy_share": 0.0}}, "cas": None}
    jobs = [Job(tmp_path, [], quality=q), Job(tmp_path, [], quality=q), Job(tmp_path, [], quality={"fid": 10.5}),
            Job(tmp_path, [])]
    assert quality_metrics(jobs) == [
        {"fid_kid.fid": 12.5, "fid_kid.kid_mean": 0.01, "memorisation.median_ratio": 0.9,
         "memorisation.generated.near_copy_share": 0.0},
        {"fid": 10.5},
    ]


@pytest.mark.parametrize(
    ("auto", "never_worse"),
    [([0.93, 0.91], True), ([0.91, 0.90], True), ([0.89, 0.89], False), ([0.95], None)],
)
def test_auto_is_judged_against_one_standard_deviation(auto: list[float], never_worse: bool | None) -> None:
    # best classical 0.92 ± 0.02: auto may be at most 0.02 below it (the larger std)
    c = compare(_summary({"classical": [0.90, 0.92, 0.94], "auto": auto}), candidate="auto")
    assert c is not None and c.name == "auto" and c.best == "classical"
    assert c.never_worse is never_worse


@pytest.mark.parametrize(
    ("gan", "auto", "follows"),
    [
        ([0.97, 0.97, 0.98], [0.93, 0.94, 0.95], True),  # gan+classical beats classical; auto above it
        ([0.97, 0.97, 0.98], [0.91, 0.92, 0.93], False),  # gan+classical beats classical; auto only level
        ([0.93, 0.92, 0.94], [0.91, 0.92, 0.93], None),  # gan+classical within the noise: nothing to follow
    ],
)
def test_auto_follows_gan_where_gan_beats_classical(gan: list[float], auto: list[float], follows: bool | None):
    summary = _summary({"classical": [0.91, 0.92, 0.93], "gan+classical": gan, "auto": auto})
    auto_c, gan_c = compare(summary, candidate="auto"), compare(summary)
    assert auto_c is not None and auto_c.follows(gan_c) is follows
    assert auto_c.follows(None) is None
