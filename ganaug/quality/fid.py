"""FID and KID with torchmetrics, in the domain feature space, overall and per class.

Features are computed once (`FeatureExtractor.embed`) and shared by every metric; torchmetrics'
`FrechetInceptionDistance` / `KernelInceptionDistance` receive them through a pass-through feature
module, which gives the same numbers as handing them the extractor itself (tested).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from ganaug.errors import GanaugError
from ganaug.quality.neighbours import as_points
from ganaug.quality.per_class import per_class
from ganaug.quality.results import FidKid


class _Precomputed(nn.Module):
    """A torchmetrics feature module for inputs that already are features (N, D)."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def fid_kid(
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    seed: int = 0,
) -> FidKid:
    """FID and KID between real and generated features (N, D) / (M, D), computed on the device `real` is on.

    KID is the unbiased MMD estimate: about 0 for two independent samples of one distribution, slightly
    negative (order 1/M) when both sides are the very same points. Its subset size is
    min(kid_subset_size, N, M) (recorded as `kid_subset_size`), so small classes are still scored; its
    subsets are drawn with the torch RNG seeded by `seed`, restored afterwards.
    A value that cannot be computed (fewer than 2 samples on a side) is None, with `reason`.
    Returns {"fid", "kid_mean", "kid_std", "kid_subset_size", "n_real", "n_fake", "reason"}.
    """
    real = as_points(real)
    fake = as_points(fake, real.device)
    if real.shape[1:] != fake.shape[1:]:
        raise GanaugError(f"real features are {tuple(real.shape)} but generated ones {tuple(fake.shape)}; same D")
    if kid_subsets < 1 or kid_subset_size < 2:
        raise GanaugError(f"kid_subsets={kid_subsets}, kid_subset_size={kid_subset_size}: need >= 1 and >= 2")
    out = {"fid": None, "kid_mean": None, "kid_std": None, "kid_subset_size": None}
    out.update(n_real=len(real), n_fake=len(fake), reason=None)
    if min(len(real), len(fake)) < 2:
        out["reason"] = f"needs at least 2 real and 2 generated samples, got {len(real)} and {len(fake)}"
        return out
    extractor = _Precomputed(real.shape[1])
    local = {"sync_on_compute": False}  # both sets are here: nothing to gather from other ranks of a distributed run
    fid = FrechetInceptionDistance(feature=extractor, **local).to(real.device)
    fid.update(real, real=True)
    fid.update(fake, real=False)
    subset = min(kid_subset_size, len(real), len(fake))
    with warnings.catch_warnings():  # torchmetrics warns that KID keeps every feature: they are ours already
        warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
        kid = KernelInceptionDistance(feature=extractor, subsets=kid_subsets, subset_size=subset, **local)
        kid = kid.to(real.device)
    kid.update(real, real=True)
    kid.update(fake, real=False)
    cuda = [real.device.index or 0] if real.device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        kid_mean, kid_std = kid.compute()
    out.update(fid=float(fid.compute()), kid_mean=float(kid_mean), kid_std=float(kid_std), kid_subset_size=subset)
    return out


def fid_kid_by_class(
    real: torch.Tensor,
    real_labels: torch.Tensor,
    fake: torch.Tensor,
    fake_labels: torch.Tensor,
    class_names: Sequence[str],
    classes: Sequence[int] | None = None,
    **kwargs,
) -> dict[str, dict]:
    """`fid_kid` of each class (default: those the generated set holds), keyed by class name."""
    return per_class(lambda r, f: fid_kid(r, f, **kwargs), real, real_labels, fake, fake_labels, class_names, classes)
