"""Classification Accuracy Score: the reference classifier trained on generated samples only.

Tested on real held-out images of the classes the bank holds (a bank usually holds the minority
classes only; scoring the others would measure their absence, not the samples' quality). A high score
means the samples carry what distinguishes their classes; compare it with `real_baseline`, the same
classifier trained on the real training images of those classes.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ganaug.classify.training import train_and_evaluate
from ganaug.data.dataset import DatasetSplits, ImageDataset, check_same_data
from ganaug.errors import GanaugError, at_least, checked
from ganaug.quality.per_class import bank_classes
from ganaug.quality.results import Cas, CasScore
from ganaug.synth.bank import SyntheticBank


def bank_dataset(bank: SyntheticBank) -> ImageDataset:
    """The bank's images and labels as an in-memory ImageDataset."""
    images = torch.from_numpy(np.array(bank.images, dtype=np.uint8))
    return ImageDataset(images, torch.from_numpy(np.array(bank.labels, dtype=np.int64)), bank.class_names)


def _only(dataset: ImageDataset, classes: list[int]) -> ImageDataset:
    return dataset.subset(torch.nonzero(torch.isin(dataset.labels, torch.tensor(classes))).flatten())


def epochs_for_steps(n_samples: int, batch_size: int, steps: int) -> int:
    """Epochs that give at least `steps` optimiser updates over `n_samples` samples in batches of `batch_size`."""
    return max(1, math.ceil(steps / max(1, math.ceil(n_samples / batch_size))))


def _score(train: ImageDataset, test: ImageDataset, classes: list[int], steps: int, **kwargs) -> CasScore:
    empty = train.subset([])
    epochs = epochs_for_steps(len(train), kwargs["batch_size"], steps)
    result = train_and_evaluate(kwargs.pop("strategy"), DatasetSplits(train, empty, test), epochs=epochs, **kwargs)
    recall = result["per_class_recall"]
    return {
        "accuracy": result["accuracy"],
        "balanced_accuracy": result["balanced_accuracy"],
        "per_class_recall": {train.class_names[c]: recall[c] for c in classes},
        "train_size": len(train),
        "test_size": len(test),
        "epochs": epochs,
    }


@checked(steps=at_least(1), batch_size=at_least(1))
def classification_accuracy_score(
    bank: SyntheticBank,
    heldout: ImageDataset,
    *,
    real_train: ImageDataset | None = None,
    steps: int = 500,
    batch_size: int = 128,
    strategy: str = "oversample",
    seed: int = 0,
    model_kwargs: dict | None = None,
    trainer_kwargs: dict | None = None,
) -> Cas:
    """Train on `bank` alone (its labels), test on `heldout` images of the bank's classes.

    `strategy` is the classifier's sampling ("oversample": class-balanced, so the bank's per-class
    amounts do not bias the score). Each training makes at least `steps` optimiser updates (as many
    epochs as that takes), so a small real set is not under-trained next to a larger bank. With
    `real_train`, the same training on its images of those classes is reported as `real_baseline`.
    Returns {"classes" (ids), "accuracy", "balanced_accuracy", "per_class_recall": {name: recall},
    "train_size", "test_size", "steps", "epochs", "seed", "reason", "real_baseline": {accuracy,
    balanced_accuracy, per_class_recall, train_size, test_size, epochs} | None};
    with fewer than 2 classes in the bank the scores are None and `reason` says why.
    """
    check_same_data(bank, heldout, "the bank", "the held-out split", "score a bank against its own data")
    classes = bank_classes(torch.from_numpy(np.array(bank.labels)), bank.num_classes)
    out = {"classes": classes, "accuracy": None, "balanced_accuracy": None, "per_class_recall": None}
    out.update(train_size=len(bank), test_size=None, steps=steps, epochs=None, seed=seed)
    out.update(reason=None, real_baseline=None)
    if len(classes) < 2:
        out["reason"] = f"the bank holds {len(classes)} class(es); a classifier needs at least 2 to be scored"
        return out
    test = _only(heldout, classes)
    if len(test) == 0:
        raise GanaugError("the held-out split has no images of the bank's classes; CAS needs real test images")
    kwargs = {
        "strategy": strategy,
        "seed": seed,
        "steps": steps,
        "batch_size": batch_size,
        "model_kwargs": model_kwargs,
        "trainer_kwargs": {"enable_progress_bar": False, **(trainer_kwargs or {})},
    }
    out.update(_score(bank_dataset(bank), test, classes, **kwargs))
    if real_train is not None:
        out["real_baseline"] = _score(_only(real_train, classes), test, classes, **kwargs)
    return out
