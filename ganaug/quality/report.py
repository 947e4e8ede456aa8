"""One JSON-ready quality report of a synthetic bank against the real data, overall and per class."""

from __future__ import annotations

import numpy as np
import torch

from ganaug.data.dataset import ImageDataset, check_same_data
from ganaug.errors import at_least, checked, optional
from ganaug.progress import bar
from ganaug.quality.cas import classification_accuracy_score
from ganaug.quality.features import FeatureExtractor
from ganaug.quality.fid import fid_kid, fid_kid_by_class
from ganaug.quality.memorisation import memorisation
from ganaug.quality.per_class import bank_classes
from ganaug.quality.prdc import prdc, prdc_by_class
from ganaug.quality.results import Confidence, QualityReport
from ganaug.synth.bank import SyntheticBank


def _cap_per_class(labels: np.ndarray, cap: int | None, seed: int) -> np.ndarray:
    """Indices keeping at most `cap` samples of each class (a seeded choice), in their original order."""
    if cap is None:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    keep = [
        rng.choice(idx, cap, replace=False) if len(idx) > cap else idx
        for idx in (np.flatnonzero(labels == c) for c in np.unique(labels))
    ]
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)


def _confidence(probs: torch.Tensor, labels: torch.Tensor) -> Confidence:
    """How the domain classifier sees generated samples of an intended class."""
    if len(labels) == 0:
        return {"mean_probability": None, "agreement": None}
    own = probs[torch.arange(len(labels)), labels]
    return {"mean_probability": float(own.mean()), "agreement": float((probs.argmax(1) == labels).double().mean())}


@checked(k=at_least(1), max_per_class=optional(at_least(1)))
def quality_report(
    bank: SyntheticBank,
    extractor: FeatureExtractor,
    train: ImageDataset,
    heldout: ImageDataset,
    *,
    k: int = 5,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    near_copy_quantile: float = 0.01,
    near_copy_threshold: float | None = None,
    max_per_class: int | None = 5000,
    cas: bool = True,
    cas_kwargs: dict | None = None,
    seed: int = 0,
    progress: bool | None = None,
) -> QualityReport:
    """FID/KID, precision/recall/density/coverage, memorisation, classifier confidence and CAS of `bank`.

    The real reference is `heldout` (real images the GAN never saw: the validation split when choosing
    settings, the test split for the final report) restricted to the classes the bank holds, compared
    class by class and pooled ("overall"). Feature metrics use `extractor` (trained on `train`);
    memorisation compares pixel distances to `train` with those of `heldout`. At most `max_per_class`
    samples per class and side enter the feature and distance metrics (a seeded choice; None = all).
    `cas_kwargs` go to `classification_accuracy_score` (epochs, batch_size, ...); cas=False skips it.
    `progress` shows a bar over the measures (None: on a terminal only). Every measure runs on the extractor's
    device (move it there with `extractor.to(device)`), the CAS fits on the Trainer's (`cas_kwargs`).
    Returns {"bank": {directory, size, counts}, "classes", "extractor": extractor.meta,
    "overall": {"fid_kid", "prdc", "confidence"}, "per_class": {name: {"class_id", "fid_kid", "prdc",
    "confidence", "memorisation"}}, "memorisation", "cas"} (see each module for the inner keys).
    """
    for name, split in (("train", train), ("heldout", heldout)):
        check_same_data(bank, split, "the bank", f"the {name} split", "report on a bank against its own data")
    labels = np.asarray(bank.labels)
    chosen = _cap_per_class(labels, max_per_class, seed)
    fake_images, fake_labels = np.asarray(bank.images[chosen]), torch.from_numpy(labels[chosen])
    classes = bank_classes(fake_labels, bank.num_classes)
    in_classes = torch.isin(heldout.labels, torch.tensor(classes, dtype=torch.int64))
    real = heldout.subset(torch.nonzero(in_classes).flatten())
    real = real.subset(_cap_per_class(real.labels.numpy(), max_per_class, seed))
    with bar(5 if cas else 4, "quality metrics", unit="measure", show=progress) as measures:
        real_f, _ = extractor.embed(real.images)
        fake_f, fake_p = extractor.embed(fake_images)
        fake_p = fake_p.double().cpu()
        measures.update()
        fid_args = {"kid_subsets": kid_subsets, "kid_subset_size": kid_subset_size, "seed": seed}
        memo = memorisation(
            fake_images, fake_labels, train, heldout, threshold=near_copy_threshold, quantile=near_copy_quantile,
            device=extractor.device,
        )
        measures.update()
        names = bank.class_names
        fids = fid_kid_by_class(real_f, real.labels, fake_f, fake_labels, names, classes, **fid_args)
        measures.update()
        prdcs = prdc_by_class(real_f, real.labels, fake_f, fake_labels, names, classes, k=k)
        measures.update()

        def without_id(row: dict) -> dict:
            return {key: value for key, value in row.items() if key != "class_id"}

        per_class = {
            names[c]: {
                "class_id": c,
                "fid_kid": without_id(fids[names[c]]),
                "prdc": without_id(prdcs[names[c]]),
                "confidence": _confidence(fake_p[fake_labels == c], fake_labels[fake_labels == c]),
                "memorisation": without_id(memo["per_class"][names[c]]),
            }
            for c in classes
        }
        report = {
            "bank": {"directory": str(bank.directory), "size": len(bank), "counts": bank.counts()},
            "classes": classes,
            "extractor": dict(extractor.meta),
            "overall": {
                "fid_kid": fid_kid(real_f, fake_f, **fid_args),
                "prdc": prdc(real_f, fake_f, k),
                "confidence": _confidence(fake_p, fake_labels),
            },
            "per_class": per_class,
            "memorisation": {k2: v for k2, v in memo.items() if k2 != "per_class"},
            "cas": None,
        }
        if cas:
            report["cas"] = classification_accuracy_score(bank, heldout, real_train=train, seed=seed,
                                                          **(cas_kwargs or {}))  # fmt: skip
            measures.update()
    return report
