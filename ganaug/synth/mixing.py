"""MixedDataset: a real dataset plus chosen synthetic samples, served as one torch Dataset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Subset, WeightedRandomSampler

from ganaug.errors import GanaugError, between, checked
from ganaug.synth.bank import SyntheticBank
from ganaug.synth.transforms import as_transform, bank_image, check_image_shape, match_type

__all__ = ["MixedDataset"]

# The largest share of a class's draws its synthetic samples may take (1: no cap), and its default: half,
# measured on MNIST-LT's validation split (0.947 capped at 0.5, 0.929 uncapped, 0.931 classical).
SHARE = between(0, 1, low_open=True)
SYNTHETIC_SHARE = 0.5


class MixedDataset(Dataset):
    """Real samples first, then `synthetic_counts[c]` bank samples of each class c (None: the whole bank).

    Which bank samples are used is a seeded choice. Synthetic images take the real samples' type
    (PIL when the real dataset yields PIL), and the same `transform` is applied to both kinds, so
    the model cannot tell them apart by preprocessing. The real dataset must yield raw images
    (uint8 CHW tensors or PIL) and int labels.
    """

    def __init__(
        self,
        real: Dataset,
        bank: SyntheticBank | None = None,
        synthetic_counts: Mapping[int, int] | None = None,
        transform: Any = None,
        seed: int = 0,
        return_source: bool = False,
    ) -> None:
        self.real = real
        self.bank = bank
        self.transform = as_transform(transform)
        self.return_source = bool(return_source)
        self.synthetic_indices = _choose(bank, synthetic_counts, seed)
        self._n_real = len(real)  # type: ignore[arg-type]
        self._example: Any = None
        if bank is not None:
            _check_classes(real, bank)
            if self._n_real and len(self.synthetic_indices):
                self._example = real[0][0]
                check_image_shape(self._example, bank)
        synth_labels = np.zeros(0, dtype=np.int64) if bank is None else bank.labels[self.synthetic_indices]
        synth = torch.as_tensor(np.asarray(synth_labels), dtype=torch.int64)
        self.labels = torch.cat([_real_labels(real), synth])
        self.is_synthetic = torch.cat(
            [torch.zeros(self._n_real, dtype=torch.bool), torch.ones(len(synth_labels), dtype=torch.bool)]
        )
        names = bank.class_names if bank is not None else getattr(real, "class_names", None)
        top = int(self.labels.max()) + 1 if len(self.labels) else 0
        self.num_classes = top if names is None else len(names)
        if top > self.num_classes:
            raise GanaugError(
                f"the real dataset has label {top - 1} but the bank names only {self.num_classes} classes; "
                "generate the bank from a GAN trained on this dataset"
            )

    def __len__(self) -> int:
        return len(self.labels)

    def _position(self, index: int) -> int:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a MixedDataset of {len(self)} samples")
        return index

    def _sample(self, image: Any, label: Any, synthetic: bool) -> tuple[Any, int] | tuple[Any, int, bool]:
        image = self.transform(image)
        return (image, int(label), synthetic) if self.return_source else (image, int(label))

    def __getitem__(self, index: int) -> tuple[Any, int] | tuple[Any, int, bool]:
        """`(image, label)` (or with the synthetic tag); labels are ints whatever type the real set gives."""
        index = self._position(index)
        if index < self._n_real:
            return self._sample(*self.real[index], False)
        assert self.bank is not None
        j = int(self.synthetic_indices[index - self._n_real])
        return self._sample(match_type(bank_image(self.bank, j), self._example), self.bank.labels[j], True)

    def __getitems__(self, indices: list[int]) -> list[tuple[Any, int] | tuple[Any, int, bool]]:
        """The samples at `indices`, as DataLoader's automatic batching asks for them.

        Synthetic images come from the bank in one gather per batch rather than one memory-map access
        each, and real ones through the real dataset's own `__getitems__` when it has one; every sample
        still gets its own transform call, so the result equals `[self[i] for i in indices]`.
        """
        positions = [self._position(int(i)) for i in indices]
        raw: list[Any] = [None] * len(positions)
        real = [k for k, p in enumerate(positions) if p < self._n_real]
        fetch = getattr(self.real, "__getitems__", None)
        wanted = [positions[k] for k in real]
        samples = fetch(wanted) if fetch is not None and real else [self.real[p] for p in wanted]
        for k, (image, label) in zip(real, samples, strict=True):
            raw[k] = (image, label, False)
        synthetic = [k for k, p in enumerate(positions) if p >= self._n_real]
        if synthetic:
            assert self.bank is not None
            j = self.synthetic_indices[[positions[k] - self._n_real for k in synthetic]]
            images = torch.from_numpy(np.asarray(self.bank.images[j]))
            labels = np.asarray(self.bank.labels[j]).tolist()
            for n, k in enumerate(synthetic):
                raw[k] = (match_type(images[n], self._example), labels[n], True)
        # transformed in index order, so a seeded random transform draws as it would one by one
        return [self._sample(*sample) for sample in raw]

    def counts(self) -> list[int]:
        """Samples per class id (real plus synthetic), in class-id order."""
        return torch.bincount(self.labels, minlength=self.num_classes).tolist()


def _choose(bank: SyntheticBank | None, counts: Mapping[int, int] | None, seed: int) -> np.ndarray:
    """Bank positions to serve: the whole bank, or a seeded choice of counts[c] per class."""
    if bank is None:
        if counts and any(int(n) > 0 for n in counts.values()):
            raise GanaugError("synthetic_counts asks for synthetic samples but no bank was given; pass bank=")
        return np.zeros(0, dtype=np.int64)
    if counts is None:
        return np.arange(len(bank), dtype=np.int64)
    rng = np.random.default_rng(seed)
    chosen = []
    for cls, n in sorted((int(c), int(n)) for c, n in counts.items()):
        if n < 0:
            raise GanaugError(f"synthetic_counts[{cls}]={n}: a count must be 0 or more")
        available = bank.indices(cls)
        if n > len(available):
            raise GanaugError(
                f"synthetic_counts asks for {n} samples of class {cls} ('{bank.class_names[cls]}') but the "
                f"bank at {bank.directory} holds {len(available)}; generate a larger bank or ask for fewer"
            )
        chosen.append(np.sort(rng.choice(available, size=n, replace=False)))
    return np.concatenate(chosen).astype(np.int64) if chosen else np.zeros(0, dtype=np.int64)


def _check_classes(real: Dataset, bank: SyntheticBank) -> None:
    """Refuse a bank whose classes are not the real dataset's (when the dataset names its classes)."""
    while isinstance(real, Subset):
        real = real.dataset
    names = getattr(real, "class_names", None)
    if names is not None and [str(n) for n in names] != bank.class_names:
        raise GanaugError(
            f"the bank's classes {bank.class_names} differ from the dataset's {list(names)}; "
            "generate the bank from a GAN trained on this dataset"
        )
    classes = getattr(real, "classes", None)
    if names is None and classes is not None and len(classes) != bank.num_classes:
        raise GanaugError(
            f"the bank has {bank.num_classes} classes but the dataset has {len(classes)}; "
            "generate the bank from a GAN trained on this dataset"
        )


def _real_labels(real: Dataset) -> torch.Tensor:
    """Every real label as int64: from .labels/.targets when present (through Subsets), else by iterating."""
    stored = _stored_labels(real)
    if stored is not None:
        return stored
    return torch.tensor([int(real[i][1]) for i in range(len(real))], dtype=torch.int64)  # type: ignore[arg-type]


def _stored_labels(real: Dataset) -> torch.Tensor | None:
    """The labels a dataset keeps as an attribute (.labels or .targets, also under a Subset), if any."""
    if isinstance(real, Subset):
        base = _stored_labels(real.dataset)
        return None if base is None else base[torch.as_tensor(real.indices, dtype=torch.int64)]
    for attr in ("labels", "targets"):
        values = getattr(real, attr, None)
        if values is not None and len(values) == len(real):  # type: ignore[arg-type]
            return torch.as_tensor(np.asarray(values), dtype=torch.int64).reshape(-1)
    return None


@checked(synthetic_share=SHARE)
def mixing_weights(
    labels: torch.Tensor,
    num_classes: int,
    is_synthetic: torch.Tensor | None = None,
    synthetic_share: float = SYNTHETIC_SHARE,
    balanced: bool = True,
) -> torch.Tensor:
    """One sampling weight per sample: how often it is drawn relative to the others.

    `balanced`: every class equally likely (else each class as likely as its share of the samples).
    Within a class that has real and synthetic samples, synthetic ones take at most `synthetic_share`
    of the class's draws (1.0: as many as their count gives), so a few real images of a rare class are
    not drowned by many generated ones; samples of one kind are equally likely.
    """
    counts = torch.bincount(labels, minlength=num_classes).double()
    mass = (counts > 0).double() if balanced else counts / counts.sum()
    if is_synthetic is None or synthetic_share == 1.0:
        return (mass / counts.clamp(min=1))[labels]
    is_synthetic = is_synthetic.to(torch.bool)
    n_synth = torch.bincount(labels[is_synthetic], minlength=num_classes).double()
    n_real = counts - n_synth
    share = torch.where(n_real > 0, (n_synth / counts.clamp(min=1)).clamp(max=synthetic_share), 1.0)
    per_synth = mass * share / n_synth.clamp(min=1)
    per_real = mass * (1.0 - share) / n_real.clamp(min=1)
    return torch.where(is_synthetic, per_synth[labels], per_real[labels])


def balanced_sampler(
    labels: torch.Tensor,
    num_classes: int,
    seed: int,
    num_samples: int | None = None,
    is_synthetic: torch.Tensor | None = None,
    synthetic_share: float = SYNTHETIC_SHARE,
    balanced: bool = True,
) -> WeightedRandomSampler:
    """Draw `num_samples` (default len(labels)) samples with replacement, seeded, weighted by
    `mixing_weights` (by default every class equally likely, weight 1/count per sample)."""
    weights = mixing_weights(labels, num_classes, is_synthetic, synthetic_share, balanced)
    return WeightedRandomSampler(
        weights,
        num_samples=len(labels) if num_samples is None else num_samples,
        replacement=True,
        generator=torch.Generator().manual_seed(seed),
    )
