"""The layouts of the quality results: what each metric, the quality report and the gate report hold.

They are TypedDicts, plain JSON-ready dicts (what `quality.json` and a bank's `gate.json` store), with
their layout written here once. A value that could not be computed is None, and `reason` says why.
"""

from __future__ import annotations

from typing import TypedDict


class FidKid(TypedDict):
    """FID and KID between real and generated features (`fid.fid_kid`)."""

    fid: float | None
    kid_mean: float | None
    kid_std: float | None
    kid_subset_size: int | None
    n_real: int
    n_fake: int
    reason: str | None


class Prdc(TypedDict):
    """Precision, recall, density and coverage with k nearest neighbours (`prdc.prdc`)."""

    precision: float | None
    recall: float | None
    density: float | None
    coverage: float | None
    k: int
    n_real: int
    n_fake: int
    reason: str | None


class DistanceSummary(TypedDict):
    """Nearest-training-image distances of a set of images: how many, the near-copy share, median, minimum."""

    n: int
    near_copy_share: float | None
    median_distance: float | None
    min_distance: float | None


class Memorisation(TypedDict):
    """Generated samples' distances to the training set against held-out real images' (`memorisation`)."""

    space: str
    threshold: float
    quantile: float
    generated: DistanceSummary
    heldout: DistanceSummary
    median_ratio: float | None
    per_class: dict[str, dict]


class Confidence(TypedDict):
    """How the domain classifier sees generated samples of an intended class."""

    mean_probability: float | None
    agreement: float | None


class CasScore(TypedDict):
    """One CAS training's scores on the held-out images of the bank's classes."""

    accuracy: float
    balanced_accuracy: float
    per_class_recall: dict[str, float | None]
    train_size: int
    test_size: int
    epochs: int


class Cas(TypedDict):
    """Classification Accuracy Score of a bank, and the same training on real images (`real_baseline`)."""

    classes: list[int]
    accuracy: float | None
    balanced_accuracy: float | None
    per_class_recall: dict[str, float | None] | None
    train_size: int
    test_size: int | None
    steps: int
    epochs: int | None
    seed: int
    reason: str | None
    real_baseline: CasScore | None


class ClassQuality(TypedDict):
    """One class's quality: FID/KID, PRDC, the classifier's confidence, memorisation."""

    class_id: int
    fid_kid: dict
    prdc: dict
    confidence: Confidence
    memorisation: dict


class QualityReport(TypedDict):
    """The quality report of a bank (`report.quality_report`, `quality.json`)."""

    bank: dict
    classes: list[int]
    extractor: dict
    overall: dict
    per_class: dict[str, ClassQuality]
    memorisation: dict
    cas: Cas | None


class GateClassRow(TypedDict):
    """One class's line of a gate report: what was generated, dropped (by reason) and kept."""

    class_id: int
    target: int
    generated: int
    dropped_low_confidence: int
    dropped_near_copy: int
    surplus: int
    kept: int
    shortfall: int
    keep_rate: float | None


class GateReport(TypedDict):
    """What the quality gate did while building a bank (`gate.generate_gated`, a bank's `gate.json`)."""

    min_confidence: float
    near_copy_threshold: float | None
    rounds: int
    totals: dict[str, int]
    per_class: dict[str, GateClassRow]
