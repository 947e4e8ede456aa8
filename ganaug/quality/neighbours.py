"""k-nearest-neighbour distances between two point sets, computed in chunks so memory stays bounded, on the
device the points are on (the feature extractor's: the configured accelerator in the flow)."""

from __future__ import annotations

import torch

from ganaug.errors import GanaugError

CHUNK = 1024


def point_dtype(device: torch.device) -> torch.dtype:
    """float64 on the CPU; float32 on an accelerator, where float64 runs at a fraction of the speed (or not at
    all, on MPS) and distances between features of a few hundred dimensions need no more."""
    return torch.float64 if device.type == "cpu" else torch.float32


def as_points(x: torch.Tensor, device: torch.device | str | None = None) -> torch.Tensor:
    """Any (N, ...) tensor as points (N, D), one row per sample, on `device` (default: where `x` is) in
    `point_dtype` there."""
    x = torch.as_tensor(x)
    where = torch.device(device) if device is not None else x.device
    points = x.flatten(1) if x.ndim > 1 else x.reshape(-1, 1)
    return points.to(device=where, dtype=point_dtype(where))


def kth_nearest_distance(
    queries: torch.Tensor,
    reference: torch.Tensor,
    k: int = 1,
    exclude_self: bool = False,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Euclidean distance from each query row to its k-th nearest reference row: float64 (N,) on the CPU,
    computed on `device` (default: where the queries are) `CHUNK` queries at a time.

    `exclude_self=True` is for queries that ARE the reference set (same rows, same order): each point's
    zero distance to itself is skipped, so k=1 is the nearest *other* point.
    """
    queries = as_points(queries, device)
    reference = as_points(reference, queries.device)
    if exclude_self and queries.shape != reference.shape:
        raise GanaugError("exclude_self needs the queries to be the reference set itself (same rows)")
    available = len(reference) - int(exclude_self)
    if not 1 <= k <= available:
        raise GanaugError(f"k={k}: needs 1 <= k <= {available} (the reference points available per query)")
    out = torch.empty(len(queries), dtype=torch.float64)
    for start in range(0, len(queries), CHUNK):
        d = torch.cdist(queries[start : start + CHUNK], reference)
        if exclude_self:
            rows = torch.arange(len(d), device=d.device)
            d[rows, rows + start] = float("inf")
        out[start : start + len(d)] = d.kthvalue(k, dim=1).values.double().cpu()
    return out
