"""FID/KID and precision/recall/density/coverage against cases with known answers."""

from __future__ import annotations

import pytest
import torch

from ganaug.errors import GanaugError
from ganaug.quality.fid import fid_kid, fid_kid_by_class
from ganaug.quality.neighbours import kth_nearest_distance
from ganaug.quality.prdc import prdc, prdc_by_class


def _points(n: int = 200, d: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_fid_is_zero_for_identical_sets_and_the_squared_shift_for_shifted_ones():
    x = _points()
    assert fid_kid(x, x)["fid"] == pytest.approx(0.0, abs=1e-8)
    shift = torch.tensor([0.5, -1.0, 2.0, 0, 0, 0, 0, 0], dtype=torch.float64)
    # Equal covariances: FID reduces to the squared distance between the means.
    assert fid_kid(x, x + shift)["fid"] == pytest.approx(float(shift.square().sum()), rel=1e-6)


def test_kid_is_about_zero_for_one_distribution_and_large_for_shifted_sets():
    x, y = _points(400, seed=1), _points(400, seed=2)
    same = fid_kid(x, y, kid_subset_size=200)
    assert abs(same["kid_mean"]) < 0.02
    identical = fid_kid(x, x)["kid_mean"]
    assert abs(identical) < 0.05  # the very same points: slightly negative, order 1/M
    far = fid_kid(x, x + 3.0, kid_subset_size=200)
    assert far["kid_mean"] > 50 * abs(same["kid_mean"]) and far["kid_mean"] > 1.0
    assert same["kid_subset_size"] == 200 and same["n_real"] == same["n_fake"] == 400


def test_kid_is_seeded_and_leaves_the_global_rng_alone():
    x, y = _points(100, seed=3), _points(80, seed=4)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first = fid_kid(x, y, kid_subset_size=30, seed=7)
    assert torch.rand(1) == before
    assert fid_kid(x, y, kid_subset_size=30, seed=7) == first
    assert fid_kid(x, y, kid_subset_size=30, seed=8)["kid_mean"] != first["kid_mean"]


def test_small_sets_shrink_the_kid_subset_or_report_why_there_is_no_value():
    x = _points(50)
    small = fid_kid(x, x[:5] + 1.0)
    assert small["kid_subset_size"] == 5 and small["fid"] is not None and small["reason"] is None
    single = fid_kid(x, x[:1])
    assert single["fid"] is None and single["kid_mean"] is None and "at least 2" in single["reason"]


def test_fid_kid_bad_inputs_raise_one_line_errors():
    with pytest.raises(GanaugError, match="same D"):
        fid_kid(_points(10, 4), _points(10, 5))
    with pytest.raises(GanaugError, match="kid_subset_size=1"):
        fid_kid(_points(10), _points(10), kid_subset_size=1)


def test_prdc_identical_sets_are_perfect():
    x = _points(300, 16)
    out = prdc(x, x, k=5)
    assert out["precision"] == out["recall"] == out["coverage"] == 1.0
    assert out["density"] == pytest.approx(1.0, abs=0.01)


def test_prdc_far_apart_sets_score_zero_and_a_subset_loses_only_recall():
    x = _points(300, 16)
    far = prdc(x, x + 100.0, k=5)
    assert far["precision"] == far["recall"] == far["density"] == far["coverage"] == 0.0
    # Generated points all on one side of the real cloud: precise (inside real balls) but not diverse.
    plane = _points(300, 2)
    part = prdc(plane, plane[plane[:, 0] > 0.5], k=5)  # the 28% of the points right of x = 0.5
    assert part["precision"] == 1.0 and part["recall"] < 0.5 and part["coverage"] < 0.5


def test_prdc_needs_more_than_k_points_and_a_valid_k():
    x = _points(20)
    out = prdc(x, x[:5], k=5)
    assert out["precision"] is None and "more than k=5" in out["reason"]
    with pytest.raises(GanaugError, match="k=0"):
        prdc(x, x, k=0)
    with pytest.raises(GanaugError, match="same D"):
        prdc(_points(10, 4), _points(10, 5), k=2)


def test_metrics_per_class_compare_each_class_with_its_own():
    x = _points(120, 4)
    labels = torch.arange(120) % 3
    fake = x.clone()
    fake[labels == 2] += 10.0  # only class 2 is off
    names = ["a", "b", "c"]
    fid = fid_kid_by_class(x, labels, fake, labels, names)
    assert set(fid) == {"a", "b", "c"} and fid["c"]["class_id"] == 2
    assert fid["a"]["fid"] == pytest.approx(0.0, abs=1e-8) and fid["c"]["fid"] == pytest.approx(400.0, rel=1e-6)
    pr = prdc_by_class(x, labels, fake[labels != 0], labels[labels != 0], names, k=3)
    assert set(pr) == {"b", "c"}  # default: the classes the generated set holds
    assert pr["b"]["precision"] == 1.0 and pr["c"]["precision"] == 0.0


def test_kth_nearest_distance_skips_self_only_when_asked():
    x = torch.tensor([[0.0], [1.0], [3.0]])
    assert kth_nearest_distance(x, x).tolist() == [0.0, 0.0, 0.0]
    assert kth_nearest_distance(x, x, exclude_self=True).tolist() == [1.0, 1.0, 2.0]
    assert kth_nearest_distance(x, x, k=2, exclude_self=True).tolist() == [3.0, 2.0, 3.0]
    with pytest.raises(GanaugError, match="k=3"):
        kth_nearest_distance(x, x, k=3, exclude_self=True)
    with pytest.raises(GanaugError, match="exclude_self"):
        kth_nearest_distance(x, x[:2], exclude_self=True)


def test_an_empty_generated_set_is_reported_not_an_error():
    real, empty = torch.randn(20, 4), torch.zeros(0, 4)
    fk, pr = fid_kid(real, empty), prdc(real, empty)
    assert fk["fid"] is None and fk["n_fake"] == 0 and "got 20 and 0" in fk["reason"]
    assert pr["precision"] is None and pr["n_fake"] == 0
