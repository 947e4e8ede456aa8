"""k-nearest-neighbour distances between two point sets, computed in chunks so memory stays bounded."""

from __future__ import annotations

import torch

from ganaug.errors import GanaugError

CHUNK = 1024


def as_points(x: torch.Tensor) -> torch.Tensor:
    """Any (N, ...) tensor as float64 points (N, D), one row per sample."""
    x = torch.as_tensor(x)
    return (x.flatten(1) if x.ndim > 1 else x.reshape(-1, 1)).to(torch.float64)


def kth_nearest_distance(
    queries: torch.Tensor, reference: torch.Tensor, k: int = 1, exclude_self: bool = False
) -> torch.Tensor:
    """Euclidean distance from each query row to its k-th nearest reference row, float64 (N,).

    `exclude_self=True` is for queries that ARE the reference set (same rows, same order): each point's
    zero distance to itself is skipped, so k=1 is the nearest *other* point.
    """
    queries, reference = as_points(queries), as_points(reference)
    if exclude_self and queries.shape != reference.shape:
        raise GanaugError("exclude_self needs the queries to be the reference set itself (same rows)")
    available = len(reference) - int(exclude_self)
    if not 1 <= k <= available:
        raise GanaugError(f"k={k}: needs 1 <= k <= {available} (the reference points available per query)")
    out = torch.empty(len(queries), dtype=torch.float64)
    for start in range(0, len(queries), CHUNK):
        d = torch.cdist(queries[start : start + CHUNK], reference)
        if exclude_self:
            rows = torch.arange(len(d))
            d[rows, rows + start] = float("inf")
        out[start : start + len(d)] = d.kthvalue(k, dim=1).values
    return out
