"""Memorisation: how close generated samples come to training images, against real held-out images.

Distances are in PIXEL space: the root-mean-square difference of the two images with pixels scaled to
[0, 1] (Euclidean distance / sqrt(C*H*W)), so 0 is an exact copy and the scale does not depend on the
image size. Held-out real images show how close an unseen image of the domain naturally comes to the
training set; a generated sample closer than almost all of them (below the `quantile` of their
distances, 1% by default) is counted as a near-copy. Synthetic data made of copies leaks its training
images.
"""

from __future__ import annotations

import numpy as np
import torch

from ganaug.data.dataset import ImageDataset
from ganaug.errors import GanaugError
from ganaug.quality.neighbours import kth_nearest_distance
from ganaug.quality.results import DistanceSummary, Memorisation


def _rms(distances: torch.Tensor, image_shape: tuple[int, int, int]) -> torch.Tensor:
    """Euclidean distances between uint8 images -> RMS pixel differences on the [0, 1] scale."""
    return distances / (255.0 * float(np.sqrt(np.prod(image_shape))))


def pixel_distance_to_train(
    images: torch.Tensor | np.ndarray, train: ImageDataset, device: torch.device | str | None = None
) -> torch.Tensor:
    """RMS pixel distance ([0, 1] scale) of each uint8 image (N, C, H, W) to its nearest training image,
    float64 on the CPU, searched on `device` (default: where the images are)."""
    images = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.array(images))
    if images.dtype != torch.uint8 or tuple(images.shape[1:]) != train.image_shape:
        raise GanaugError(
            f"images are {images.dtype} {tuple(images.shape)} but the training images are uint8 "
            f"{train.image_shape}; compare images of the same data"
        )
    if len(train) == 0:
        raise GanaugError("the training split is empty; memorisation needs training images to compare with")
    if len(images) == 0:
        return torch.zeros(0, dtype=torch.float64)
    return _rms(kth_nearest_distance(images, train.images, device=device), train.image_shape)


def near_copy_threshold(
    heldout: ImageDataset, train: ImageDataset, quantile: float = 0.01, device: torch.device | str | None = None
) -> float:
    """The `quantile` of held-out real images' distances to their nearest training image (searched on `device`).

    With `heldout` = the training set itself, each image's own copy is skipped (the nearest *other*
    training image), for callers that have no held-out split.
    """
    if not 0.0 <= quantile < 1.0:
        raise GanaugError(f"quantile={quantile}: must lie in [0, 1) (0.01 = the 1st percentile)")
    if heldout is train:
        nearest = kth_nearest_distance(train.images, train.images, exclude_self=True, device=device)
        distances = _rms(nearest, train.image_shape)
    else:
        distances = pixel_distance_to_train(heldout.images, train, device)
    if len(distances) == 0:
        raise GanaugError("no held-out images to derive the near-copy threshold from; pass a threshold instead")
    return float(torch.quantile(distances, quantile))


def _summary(d: torch.Tensor, threshold: float) -> DistanceSummary:
    if len(d) == 0:
        return {"n": 0, "near_copy_share": None, "median_distance": None, "min_distance": None}
    return {
        "n": len(d),
        "near_copy_share": float((d <= threshold).double().mean()),
        "median_distance": float(d.median()),
        "min_distance": float(d.min()),
    }


def memorisation(
    images: torch.Tensor | np.ndarray,
    labels: torch.Tensor | np.ndarray,
    train: ImageDataset,
    heldout: ImageDataset,
    *,
    threshold: float | None = None,
    quantile: float = 0.01,
    device: torch.device | str | None = None,
) -> Memorisation:
    """Nearest-training-image distances of generated `images` (labels = their classes) vs held-out images.

    A generated sample at distance <= threshold is a near-copy; `threshold` defaults to
    `near_copy_threshold(heldout, train, quantile)`. `heldout` is also summarised the same way, so its
    own near-copy share (about `quantile` by construction) is the baseline to compare with. The searches run
    on `device` (default: the CPU).
    Returns {"space": "pixel_rms", "threshold", "quantile", "generated": {n, near_copy_share,
    median_distance, min_distance}, "heldout": {...}, "median_ratio" (generated median / held-out median;
    well below 1 suggests copying), "per_class": {name: {"class_id", ...generated summary}}}.
    """
    labels = torch.as_tensor(np.array(labels), dtype=torch.int64)
    gen_d = pixel_distance_to_train(images, train, device)
    held_d = pixel_distance_to_train(heldout.images, train, device)
    if threshold is None:
        threshold = near_copy_threshold(heldout, train, quantile, device)
    elif threshold < 0:
        raise GanaugError(f"threshold={threshold}: a distance threshold must be >= 0")
    generated, held = _summary(gen_d, threshold), _summary(held_d, threshold)
    ratio = None
    if generated["median_distance"] is not None and held["median_distance"]:
        ratio = generated["median_distance"] / held["median_distance"]
    present = sorted(set(labels.tolist()))
    return {
        "space": "pixel_rms",
        "threshold": float(threshold),
        "quantile": quantile,
        "generated": generated,
        "heldout": held,
        "median_ratio": ratio,
        "per_class": {
            train.class_names[c]: {"class_id": c, **_summary(gen_d[labels == c], threshold)} for c in present
        },
    }
