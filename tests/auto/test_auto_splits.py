"""Stratified folds for decisions on held-back training data."""

from __future__ import annotations

import numpy as np
import pytest

from ganaug.auto.splits import stratified_folds
from ganaug.errors import GanaugError

LABELS = np.repeat(np.arange(4), [30, 9, 2, 1])


def test_every_image_is_held_out_once_per_repeat_except_singletons():
    splits = stratified_folds(LABELS, n_folds=3, repeats=2, seed=0)
    assert [s.index for s in splits] == list(range(6))
    for r in range(2):
        held = np.concatenate([s.holdout for s in splits[3 * r : 3 * r + 3]])
        assert sorted(held.tolist()) == [i for i in range(len(LABELS)) if LABELS[i] != 3]
    for s in splits:
        assert sorted(np.concatenate([s.fit, s.holdout]).tolist()) == list(range(len(LABELS)))
        assert len(np.intersect1d(s.fit, s.holdout)) == 0


def test_folds_are_stratified_and_keep_every_class_on_the_fit_side():
    for s in stratified_folds(LABELS, n_folds=3, seed=1):
        held = np.bincount(LABELS[s.holdout], minlength=4)
        assert held[0] == 10 and held[1] == 3 and held[3] == 0
        assert (np.bincount(LABELS[s.fit], minlength=4) >= 1).all()


def test_seeded_and_repeats_reshuffle():
    a = stratified_folds(LABELS, 3, repeats=2, seed=5)
    b = stratified_folds(LABELS, 3, repeats=2, seed=5)
    assert all(np.array_equal(x.holdout, y.holdout) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0].holdout, a[3].holdout)
    c = stratified_folds(LABELS, 3, repeats=1, seed=6)
    assert not np.array_equal(a[0].holdout, c[0].holdout)


def test_a_fold_with_nothing_to_hold_out_is_refused():
    with pytest.raises(GanaugError, match="fold 3 of 3 holds out no image"):
        stratified_folds([0, 0, 1, 2, 3], n_folds=3)


@pytest.mark.parametrize("kwargs", [{"n_folds": 1}, {"repeats": 0}, {"n_folds": 50}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(GanaugError):
        stratified_folds(LABELS, **kwargs)
