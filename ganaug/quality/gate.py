"""The quality gate applied when building a bank: keep only samples the domain classifier recognises.

A generated sample is dropped when the feature extractor's classifier (trained on the real training
data) gives its intended class a probability below `min_confidence` ("low_confidence"), or, among the
rest, when it lies within the near-copy threshold of a training image in pixel space ("near_copy",
see `memorisation`). `generate_gated` samples in rounds, asking each round for what is still missing
divided by the class's observed keep rate, until every class reaches its target or `max_rounds`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganaug.data.dataset import ImageDataset, check_same_data
from ganaug.errors import GanaugError, at_least, between, checked
from ganaug.progress import bar
from ganaug.quality.features import FeatureExtractor
from ganaug.quality.memorisation import near_copy_threshold, pixel_distance_to_train
from ganaug.quality.results import GateClassRow, GateReport
from ganaug.synth.bank import Sampler, SyntheticBank

log = logging.getLogger("ganaug")

CHUNK = 4096
PROBABILITY = between(0, 1)
MIN_KEEP_RATE = 0.05  # a round asks for at most 20x what a class still misses


def _check_setup(extractor: FeatureExtractor, train: ImageDataset, samples: Any) -> None:
    """The extractor and the training split must be of the data the samples are generated for."""
    samples_name = "the generated samples"
    check_same_data(extractor, samples, "the feature extractor", samples_name, "train the extractor on this data")
    check_same_data(train, samples, "the training split", samples_name, "pass the training split the GAN learnt")


def _resolve_threshold(
    train: ImageDataset,
    drop_near_copies: bool,
    threshold: float | None,
    heldout: ImageDataset | None,
    quantile: float,
    device: torch.device,
) -> float | None:
    if not drop_near_copies:
        return None
    if threshold is not None:
        if threshold < 0:
            raise GanaugError(f"near_copy_threshold={threshold}: a distance threshold must be >= 0")
        return float(threshold)
    return near_copy_threshold(heldout if heldout is not None else train, train, quantile, device)


def own_class_confidence(
    images: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray, extractor: FeatureExtractor
) -> np.ndarray:
    """The probability the domain classifier gives each sample's intended class, float64 (N,).

    Works `CHUNK` samples at a time, so a memory-mapped bank is never read into memory at once.
    """
    labels = np.array(labels, dtype=np.int64).reshape(-1)
    out = np.zeros(len(labels), dtype=np.float64)
    for start, batch in _chunks(images, len(labels)):
        out[start : start + len(batch)] = _confidence(batch, labels[start : start + len(batch)], extractor)
    return out


def _chunks(images: torch.Tensor | np.ndarray, n: int) -> Iterator[tuple[int, torch.Tensor]]:
    """(start, uint8 tensor) for every `CHUNK` images, each read once from a (memory-mapped) array."""
    for start in range(0, n, CHUNK):
        yield start, torch.from_numpy(np.array(images[start : start + CHUNK]))


def _confidence(batch: torch.Tensor, labels: np.ndarray, extractor: FeatureExtractor) -> np.ndarray:
    """The domain classifier's probability of each image's own class."""
    _, probs = extractor.embed(batch)
    return probs.double().cpu()[torch.arange(len(batch)), labels].numpy()


@checked(min_confidence=PROBABILITY)
def gate_samples(
    images: torch.Tensor | np.ndarray,
    labels: torch.Tensor | np.ndarray,
    extractor: FeatureExtractor,
    train: ImageDataset,
    *,
    min_confidence: float,
    near_copy_threshold: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Judge generated samples: (low_confidence bool (N,), near_copy bool (N,)), disjoint; keep = neither.

    `near_copy_threshold` None skips the near-copy check. Works `CHUNK` samples at a time.
    """
    labels = np.array(labels, dtype=np.int64).reshape(-1)
    low = np.zeros(len(labels), dtype=bool)
    copy = np.zeros(len(labels), dtype=bool)
    for start, batch in _chunks(images, len(labels)):
        confident = _confidence(batch, labels[start : start + len(batch)], extractor) >= min_confidence
        low[start : start + len(batch)] = ~confident
        if near_copy_threshold is not None and confident.any():
            distances = pixel_distance_to_train(batch[torch.from_numpy(confident)], train, extractor.device).numpy()
            copy[start : start + len(batch)][confident] = distances <= near_copy_threshold
    return low, copy


def _class_rows(labels: np.ndarray, low: np.ndarray, copy: np.ndarray, names: list[str]) -> dict[str, dict]:
    rows = {}
    for c in sorted(set(labels.tolist())):
        mine = labels == c
        rows[names[c]] = {
            "class_id": c,
            "generated": int(mine.sum()),
            "dropped_low_confidence": int((low & mine).sum()),
            "dropped_near_copy": int((copy & mine).sum()),
            "kept": int((mine & ~low & ~copy).sum()),
        }
    return rows


def _totals(per_class: dict[str, dict], keys: tuple[str, ...]) -> dict[str, int]:
    return {k: sum(row[k] for row in per_class.values()) for k in keys}


_COUNTS = ("generated", "dropped_low_confidence", "dropped_near_copy", "kept")


def gate_bank(
    bank: SyntheticBank,
    extractor: FeatureExtractor,
    train: ImageDataset,
    *,
    min_confidence: float,
    drop_near_copies: bool,
    directory: str | Path,
    near_copy_threshold: float | None = None,
    heldout: ImageDataset | None = None,
    quantile: float = 0.01,
) -> tuple[SyntheticBank, dict]:
    """Write the samples of `bank` that pass the gate as a new bank at `directory` (atomically).

    The near-copy threshold is `near_copy_threshold` when given, else the `quantile` of the held-out
    images' distances to the training set (`heldout`; without one, of the training images' distances to
    their nearest *other* training image). Returns (new bank, report) with report = {"min_confidence",
    "near_copy_threshold", "kept_indices" (positions in `bank`), "totals": {generated,
    dropped_low_confidence, dropped_near_copy, kept}, "per_class": {name: {class_id, ...same counts}}}.
    """
    _check_setup(extractor, train, bank)
    threshold = _resolve_threshold(train, drop_near_copies, near_copy_threshold, heldout, quantile, extractor.device)
    labels = np.asarray(bank.labels)
    low, copy = gate_samples(
        bank.images, labels, extractor, train, min_confidence=min_confidence, near_copy_threshold=threshold
    )
    keep = np.flatnonzero(~low & ~copy)
    per_class = _class_rows(labels, low, copy, bank.class_names)
    report = {
        "min_confidence": min_confidence,
        "near_copy_threshold": threshold,
        "kept_indices": keep.tolist(),
        "totals": _totals(per_class, _COUNTS),
        "per_class": per_class,
    }
    gate = {k: report[k] for k in ("min_confidence", "near_copy_threshold", "totals")}
    source = {**bank.source, "gate": {**gate, "from": str(bank.directory)}}
    gated = SyntheticBank.from_arrays(bank.images[keep], labels[keep], bank.class_names, directory, source=source)
    return gated, report


def _sample(sampler: Sampler, labels: np.ndarray, gen: torch.Generator, batch_size: int) -> np.ndarray:
    parts = [
        sampler.sample(torch.from_numpy(labels[s : s + batch_size]), generator=gen).cpu().numpy()
        for s in range(0, len(labels), batch_size)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, *sampler.image_shape), dtype=np.uint8)


class GateTally:
    """One class's count of generated, dropped (by reason), surplus and kept samples, and the kept images."""

    def __init__(self, class_id: int, target: int) -> None:
        self.class_id = class_id
        self.target = target
        self.generated = self.dropped_low_confidence = self.dropped_near_copy = self.surplus = self.kept = 0
        self.images: list[np.ndarray] = []

    @property
    def missing(self) -> int:
        """Samples still needed to reach the target."""
        return self.target - self.kept

    @property
    def keep_rate(self) -> float | None:
        """Share of the class's generated samples that passed the gate so far (None before any)."""
        return (self.kept + self.surplus) / self.generated if self.generated else None

    def ask(self) -> int:
        """How many to generate next round: what is missing over the keep rate (at most 1/MIN_KEEP_RATE times)."""
        if self.missing <= 0:
            return 0
        rate = self.keep_rate
        return math.ceil(self.missing / max(1.0 if rate is None else rate, MIN_KEEP_RATE))

    def add(self, mine: np.ndarray, images: np.ndarray, low: np.ndarray, copy: np.ndarray) -> None:
        """Count one round's samples of this class (`mine` marks them) and keep what passed, up to the target."""
        passed = images[mine & ~low & ~copy]
        take = passed[: self.missing]
        self.images.append(take)
        self.generated += int(mine.sum())
        self.dropped_low_confidence += int((low & mine).sum())
        self.dropped_near_copy += int((copy & mine).sum())
        self.surplus += len(passed) - len(take)
        self.kept += len(take)

    def row(self) -> GateClassRow:
        """The class's line of the gate report."""
        counts = {k: getattr(self, k) for k in _ROUND_COUNTS}
        return {"class_id": self.class_id, "target": self.target, **counts, "shortfall": self.missing,
                "keep_rate": self.keep_rate}  # fmt: skip


_ROUND_COUNTS = ("generated", "dropped_low_confidence", "dropped_near_copy", "surplus", "kept")


@checked(
    min_confidence=PROBABILITY,
    quantile=between(0, 1, low_open=True, high_open=True),
    max_rounds=at_least(1),
    batch_size=at_least(1),
)
def generate_gated(
    sampler: Sampler,
    targets: Mapping[int, int],
    directory: str | Path,
    *,
    extractor: FeatureExtractor,
    train: ImageDataset,
    min_confidence: float = 0.5,
    drop_near_copies: bool = True,
    near_copy_threshold: float | None = None,
    heldout: ImageDataset | None = None,
    quantile: float = 0.01,
    max_rounds: int = 5,
    seed: int = 0,
    batch_size: int = 1024,
    source: dict | None = None,
    progress: bool | None = None,
) -> tuple[SyntheticBank, GateReport]:
    """Generate `targets[c]` gate-passing samples of each class c into a bank at `directory`.

    Round 1 asks for the targets; each later round asks for what is still missing divided by the
    class's keep rate so far (at most 1/MIN_KEEP_RATE times it), until every class is full or after
    `max_rounds` (a class then ends short, logged and reported as `shortfall`). Seeded: one seed, one
    bank. Samples that pass the gate beyond a class's target are discarded (`surplus`). Returns (bank,
    report) with report = {"min_confidence", "near_copy_threshold", "rounds", "totals", "per_class":
    {name: {class_id, target, generated, dropped_low_confidence, dropped_near_copy, surplus, kept,
    shortfall, keep_rate}}}; kept = the class's count in the bank. `progress` shows a bar of the kept
    samples (None: on a terminal only).
    """
    names = [str(n) for n in sampler.class_names]
    _check_setup(extractor, train, sampler)
    tallies = {int(c): GateTally(int(c), int(n)) for c, n in sorted(targets.items()) if int(n) > 0}
    threshold = _resolve_threshold(train, drop_near_copies, near_copy_threshold, heldout, quantile, extractor.device)
    gen = torch.Generator().manual_seed(int(seed))
    rounds = 0
    with bar(sum(t.target for t in tallies.values()), "quality gate", unit="img", show=progress) as kept:
        while rounds < max_rounds and any(t.missing > 0 for t in tallies.values()):
            rounds += 1
            ask = {c: t.ask() for c, t in tallies.items()}
            labels = np.concatenate([np.full(n, c, dtype=np.int64) for c, n in ask.items() if n > 0])
            images = _sample(sampler, labels, gen, batch_size)
            low, copy = gate_samples(
                images, labels, extractor, train, min_confidence=min_confidence, near_copy_threshold=threshold
            )
            for c, tally in tallies.items():
                tally.add(labels == c, images, low, copy)
            kept.update(sum(t.kept for t in tallies.values()) - kept.n)
            kept.set_postfix(round=rounds)
    per_class = {names[c]: t.row() for c, t in tallies.items()}
    for t in tallies.values():
        if t.missing:
            log.warning(
                "quality gate: class %s reached %d of %d samples after %d rounds (keep rate %.3f); "
                "train the GAN longer or lower min_confidence",
                names[t.class_id], t.kept, t.target, rounds, t.keep_rate or 0.0,
            )  # fmt: skip
    arrays = [a for t in tallies.values() for a in t.images]
    images = np.concatenate(arrays) if arrays else np.zeros((0, *sampler.image_shape), dtype=np.uint8)
    labels = np.concatenate(
        [np.full(t.kept, c, dtype=np.int64) for c, t in tallies.items()] or [np.zeros(0, np.int64)]
    )
    report = {
        "min_confidence": min_confidence,
        "near_copy_threshold": threshold,
        "rounds": rounds,
        "totals": _totals(per_class, (*_ROUND_COUNTS, "target", "shortfall")),
        "per_class": per_class,
    }
    meta = {
        **(source or {}),
        "seed": int(seed),
        "gate": {k: report[k] for k in ("min_confidence", "near_copy_threshold", "rounds", "totals")},
    }
    return SyntheticBank.from_arrays(images, labels, names, directory, source=meta), report
