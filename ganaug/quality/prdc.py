"""Precision, recall, density and coverage of generated samples (Naeem et al. 2020, k-NN estimates).

Each real point owns a ball reaching its k-th nearest real neighbour (each generated point likewise
among the generated). precision: share of generated points inside some real ball; recall: share of
real points inside some generated ball; density: generated points' mean count of real balls they lie
in, divided by k (about 1 when the sets match, can exceed 1); coverage: share of real balls that hold
a generated point. Strict inequalities, as in the authors' `prdc` package.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ganaug.errors import GanaugError
from ganaug.quality.neighbours import CHUNK, as_points, kth_nearest_distance
from ganaug.quality.per_class import per_class
from ganaug.quality.results import Prdc


def prdc(real: torch.Tensor, fake: torch.Tensor, k: int = 5) -> Prdc:
    """Precision, recall, density, coverage of `fake` (M, D) against `real` (N, D) with k neighbours, computed
    on the device `real` is on.

    Both sets need more than k points; otherwise the values are None with the `reason`.
    Returns {"precision", "recall", "density", "coverage", "k", "n_real", "n_fake", "reason"}.
    """
    if k < 1:
        raise GanaugError(f"k={k}: the number of nearest neighbours must be at least 1")
    real, fake = as_points(real), as_points(fake)
    out = {"precision": None, "recall": None, "density": None, "coverage": None}
    out.update(k=k, n_real=len(real), n_fake=len(fake), reason=None)
    if min(len(real), len(fake)) <= k:
        out["reason"] = f"needs more than k={k} real and generated samples, got {len(real)} and {len(fake)}"
        return out
    if real.shape[1:] != fake.shape[1:]:
        raise GanaugError(f"real features are {tuple(real.shape)} but generated ones {tuple(fake.shape)}; same D")
    fake = fake.to(real.device)
    device, dtype = real.device, real.dtype
    real_radii = kth_nearest_distance(real, real, k, exclude_self=True).to(device, dtype)
    fake_radii = kth_nearest_distance(fake, fake, k, exclude_self=True).to(device, dtype)
    inside_real = torch.zeros(len(fake), dtype=torch.float64, device=device)  # real balls holding each generated point
    nearest_fake = torch.full((len(real),), float("inf"), dtype=dtype, device=device)
    real_recalled = torch.zeros(len(real), dtype=torch.bool, device=device)
    for start in range(0, len(fake), CHUNK):
        d = torch.cdist(fake[start : start + CHUNK], real)  # (chunk, N)
        inside_real[start : start + len(d)] = (d < real_radii[None, :]).sum(dim=1).double()
        nearest_fake = torch.minimum(nearest_fake, d.min(dim=0).values)
        real_recalled |= (d < fake_radii[start : start + len(d), None]).any(dim=0)
    out.update(
        precision=float((inside_real > 0).double().mean()),
        recall=float(real_recalled.double().mean()),
        density=float(inside_real.mean() / k),
        coverage=float((nearest_fake < real_radii).double().mean()),
    )
    return out


def prdc_by_class(
    real: torch.Tensor,
    real_labels: torch.Tensor,
    fake: torch.Tensor,
    fake_labels: torch.Tensor,
    class_names: Sequence[str],
    classes: Sequence[int] | None = None,
    k: int = 5,
) -> dict[str, dict]:
    """`prdc` of each class (default: those the generated set holds), keyed by class name."""
    return per_class(lambda r, f: prdc(r, f, k), real, real_labels, fake, fake_labels, class_names, classes)
