"""Imbalance tools: make a dataset long-tailed, pick its minority classes, size the synthetic data, and weigh
classes by their counts (the classifier's re-weighting and the GAN's group spectral regularisation).

These decide *which* classes a GAN learns, *how many* samples each gets and how much each weighs; nothing here
trains.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import torch

from ganaug.data.dataset import ImageDataset
from ganaug.errors import GanaugError, at_least, between, checked, one_of, seed

# Each imbalance profile, and the parameters of make_imbalanced it uses (what a cached split depends on);
# "none" keeps the dataset as it is.
PROFILES: dict[str, tuple[str, ...]] = {
    "exponential": ("ratio", "seed"),
    "step": ("ratio", "seed", "step_fraction"),
    "none": (),
}
TARGET_MODES = ("fill", "ratio", "counts")


def class_counts(labels: torch.Tensor, num_classes: int) -> list[int]:
    """Number of labels equal to each class id 0..num_classes-1."""
    labels = torch.as_tensor(labels, dtype=torch.int64).reshape(-1)
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise GanaugError(
            f"labels span {int(labels.min())}..{int(labels.max())} but there are {num_classes} classes; "
            "labels must be class ids 0..num_classes-1"
        )
    return torch.bincount(labels, minlength=num_classes).tolist()


def _mean_one_over_present(raw: list[float], counts: Sequence[float]) -> list[float]:
    """`raw` per-class weights scaled to mean 1 over the classes with images (to sum to their number)."""
    present = sum(1 for n in counts if n > 0)
    total = sum(raw)
    return [w * present / total for w in raw]


def inverse_frequency(counts: Sequence[float]) -> list[float]:
    """1/count per class, scaled to mean 1 over the classes present; 0 for a class with no images."""
    return _mean_one_over_present([1.0 / n if n > 0 else 0.0 for n in counts], counts)


# The effective number's beta: 0 weighs every class alike, values towards 1 weigh by inverse frequency.
EFFECTIVE_NUMBER_BETA = between(0, 1, high_open=True)


def effective_number_weights(counts: Sequence[float], beta: float) -> list[float]:
    """(1 - beta) / (1 - beta ** n_c) per class (Cui et al. 2019), scaled to sum to the number of classes
    present; 0 for a class with no images."""
    return _mean_one_over_present([(1.0 - beta) / (1.0 - beta**n) if n > 0 else 0.0 for n in counts], counts)


def _profile_targets(
    n0: int, num_classes: int, ratio: float, profile: str, step_fraction: float
) -> list[int]:
    """Wanted images per class before capping at what each class has."""
    if profile == "exponential":
        if num_classes == 1:
            return [n0]
        return [round(n0 * ratio ** (-c / (num_classes - 1))) for c in range(num_classes)]
    n_minor = min(num_classes - 1, max(1, round(step_fraction * num_classes)))
    low = round(n0 / ratio)
    return [n0 if c < num_classes - n_minor else low for c in range(num_classes)]


@checked(ratio=at_least(1), profile=one_of(PROFILES), step_fraction=between(0, 1, low_open=True, high_open=True),
         seed=seed())
def make_imbalanced(
    dataset: ImageDataset,
    ratio: float,
    profile: str = "exponential",
    seed: int = 0,
    step_fraction: float = 0.5,
) -> ImageDataset:
    """A subset with a long-tailed class profile, n_0 / n_last = `ratio`, scaled from class 0's count.

    exponential: n_c = round(n_0 * ratio ** (-c / (C - 1))); step: the last `step_fraction` of
    classes (by id) get round(n_0 / ratio); none: the dataset itself. Each target is at least 1 and at
    most what the class has. Which images are kept is a seeded random choice per class, so `seed` fixes
    the subset.
    """
    if profile == "none":
        return dataset
    counts = dataset.counts()
    if counts[0] == 0:
        raise GanaugError("class 0 has no images, yet the profile scales from it; add class 0 images")
    targets = _profile_targets(counts[0], dataset.num_classes, ratio, profile, step_fraction)
    gen = torch.Generator().manual_seed(seed)
    keep = []
    for c, (want, have) in enumerate(zip(targets, counts, strict=True)):
        idx = torch.nonzero(dataset.labels == c).flatten()
        chosen = torch.randperm(have, generator=gen)[: min(max(want, 1), have)]
        keep.append(idx[chosen])
    return dataset.subset(torch.cat(keep).sort().values)


def resolve_classes(classes: Sequence[int | str], class_names: list[str]) -> list[int]:
    """Class ids for `classes` given as ids or names (duplicates dropped, order kept).

    A string is a class name first; a string of digits that names no class is read as an id,
    since config files and command lines often carry ids as strings.
    """
    ids: list[int] = []
    for item in classes:
        if isinstance(item, numbers.Integral) and not isinstance(item, bool):
            cid = int(item)
        elif str(item) in class_names:
            cid = class_names.index(str(item))
        elif isinstance(item, str) and item.strip().isdigit():
            cid = int(item)
        else:
            cid = -1
        if not 0 <= cid < len(class_names):
            known = ", ".join(f"{i}={n!r}" for i, n in enumerate(class_names))
            raise GanaugError(f"unknown class {item!r}; known classes (id=name): {known}")
        if cid not in ids:
            ids.append(cid)
    return ids


def check_training_counts(counts: Sequence[int], class_names: Sequence[str]) -> None:
    """Refuse a training split no strategy can learn from: fewer than two classes with images, or a class
    with none (it is in the other splits, so no classifier could ever predict it right)."""
    present = [name for name, n in zip(class_names, counts, strict=True) if n > 0]
    if len(present) < 2:
        raise GanaugError(
            f"the training split holds images of {len(present)} class ({', '.join(map(repr, present))}); a "
            "classifier needs at least two: give the data more classes"
        )
    empty = [name for name, n in zip(class_names, counts, strict=True) if n == 0]
    if empty:
        raise GanaugError(
            f"class {', '.join(map(repr, empty))} has no training images (only validation or test images); no "
            "strategy can learn it: add training images of it, or remove it from the data"
        )


@checked(threshold=between(0, 1, low_open=True))
def select_minority(
    counts: list[int],
    class_names: list[str],
    classes: Sequence[int | str] | None = None,
    threshold: float = 0.5,
) -> list[int]:
    """The minority class ids (sorted): `classes` when given, else every class below threshold * largest.

    A chosen class with no training images is an error: a GAN cannot learn a class it never sees.
    """
    if len(counts) != len(class_names):
        raise GanaugError(f"{len(counts)} class counts but {len(class_names)} class names; they must match")
    if classes is not None:
        chosen = resolve_classes(classes, class_names)
    else:
        largest = max(counts, default=0)
        chosen = [c for c, n in enumerate(counts) if n < threshold * largest]
    for c in chosen:
        if counts[c] == 0:
            raise GanaugError(
                f"class {class_names[c]!r} has no training images; a GAN cannot learn it, "
                "add images of it or leave it out of the minority classes"
            )
    return sorted(chosen)


# A fill above 1 would give the minority classes more images than the largest class: the imbalance inverted.
@checked(mode=one_of(TARGET_MODES), fill_fraction=between(0, 1, low_open=True), ratio=at_least(0))
def synthetic_targets(
    counts: list[int],
    minority: list[int],
    mode: str = "fill",
    fill_fraction: float = 1.0,
    ratio: float = 1.0,
    explicit: Mapping[int | str, int] | None = None,
    class_names: list[str] | None = None,
) -> dict[int, int]:
    """How many synthetic images each minority class gets (class id -> count).

    fill: up to round(fill_fraction * largest count) images in total per class; ratio: round(ratio *
    count) synthetic per class (synthetic per real); counts: `explicit` per class, keys ids or
    names (used only in this mode; minority classes it leaves out get 0). Other classes are absent.
    """
    names = class_names if class_names is not None else [str(i) for i in range(len(counts))]
    for c in minority:
        if not 0 <= c < len(counts):
            raise GanaugError(f"minority class id {c} is out of range 0..{len(counts) - 1}; pass valid ids")
    if mode == "fill":
        goal = round(fill_fraction * max(counts, default=0))
        return {c: max(0, goal - counts[c]) for c in minority}
    if mode == "ratio":
        return {c: round(ratio * counts[c]) for c in minority}
    if not explicit:
        raise GanaugError("mode=counts needs explicit per-class counts, e.g. {'7': 500}; give them")
    wanted: dict[int, int] = {}
    for key, value in explicit.items():
        (cid,) = resolve_classes([key], names)
        if cid not in minority:
            raise GanaugError(
                f"class {names[cid]!r} has an explicit synthetic count but is not a minority class; "
                "add it to the minority classes or drop its count"
            )
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
            raise GanaugError(f"synthetic count {value!r} for class {names[cid]!r}: give an integer >= 0")
        wanted[cid] = int(value)
    return {c: wanted.get(c, 0) for c in minority}
