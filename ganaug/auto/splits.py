"""Held-back data for decisions: stratified folds of a training set, repeated with fresh shuffles.

A class with very few images makes any single split unreliable, so a decision is taken over several:
every image of a class is held out once per repeat (stratified K-fold), and a repeat reshuffles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ganaug.errors import GanaugError, at_least, checked


@dataclass(frozen=True)
class HoldoutSplit:
    """One split of a training set: positions to fit on and positions to score on (both sorted)."""

    index: int
    fit: np.ndarray
    holdout: np.ndarray


@checked(n_folds=at_least(2), repeats=at_least(1))
def stratified_folds(
    labels: np.ndarray | torch.Tensor, n_folds: int = 3, repeats: int = 1, seed: int = 0
) -> list[HoldoutSplit]:
    """`n_folds * repeats` splits; in each repeat every image is held out in exactly one fold.

    Per class, the shuffled images are dealt round-robin to the folds, starting where the previous
    class stopped, so folds differ in size by at most one image per class. A class keeps at least one
    image on the fit side of every split: a class with a single image is never held out, and a class
    with fewer images than folds is held out in only some folds (its recall is then absent there).
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(labels) < n_folds:
        raise GanaugError(f"{len(labels)} images cannot be split into {n_folds} folds; use fewer folds")
    splits = []
    everything = np.arange(len(labels))
    for r in range(repeats):
        rng = np.random.default_rng([seed, r])
        fold_of = np.full(len(labels), -1, dtype=np.int64)
        offset = 0
        for c in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == c))
            if len(members) < 2:
                continue
            fold_of[members] = (offset + np.arange(len(members))) % n_folds
            offset += len(members)
        for k in range(n_folds):
            held = fold_of == k
            if not held.any():
                raise GanaugError(
                    f"fold {k + 1} of {n_folds} holds out no image: too few classes have two or more images; "
                    "use fewer folds"
                )
            splits.append(HoldoutSplit(r * n_folds + k, everything[~held], everything[held]))
    return splits
