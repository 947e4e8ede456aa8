"""The domain feature extractor: the reference classifier trained on the real training data.

Inception weights cannot be downloaded here, and Inception features of 8x8 or 28x28 digits say little
anyway; so FID, KID, precision/recall and the quality gate all work in the pooled penultimate features
(and the class probabilities) of a `SmallCNN` fitted to the real training split.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn
from torch.utils.data import DataLoader

from ganaug.classify.metrics import evaluate
from ganaug.classify.model import ImageClassifier, SmallCNN, normalise
from ganaug.classify.parts import is_synthetic
from ganaug.classify.plan import plan_training
from ganaug.classify.training import fit
from ganaug.data.dataset import ImageDataset, check_same_data
from ganaug.errors import GanaugError, at_least, checked, seed
from ganaug.fileio import atomic_path, read_json, write_json
from ganaug.quality.neighbours import point_dtype

FORMAT = "ganaug-feature-extractor"
VERSION = 1
WEIGHTS, META = "extractor.safetensors", "extractor.json"
_RETRAIN = "delete the folder and train the feature extractor again"


class FeatureExtractor(nn.Module):
    """uint8 images (N, C, H, W) -> pooled penultimate features (N, D) of a trained SmallCNN.

    Usable as torchmetrics' custom `feature` module (`FrechetInceptionDistance(feature=extractor)`):
    `forward` takes the uint8 batches those metrics are updated with, and `num_features` gives D
    without a dummy pass. It always runs in eval mode (batch-norm statistics frozen), whatever
    `.train()` is called with. `embed` returns features and class probabilities in one pass.
    """

    def __init__(self, net: SmallCNN, image_shape: tuple[int, int, int], class_names: list[str], meta: dict) -> None:
        super().__init__()
        self.net = net
        self.image_shape = tuple(int(s) for s in image_shape)
        self.class_names = [str(n) for n in class_names]
        self.meta = dict(meta)
        self.num_features = int(net.head.in_features)
        self.train(False)

    def train(self, mode: bool = True) -> FeatureExtractor:
        """Stay in eval mode: the features must not depend on the batch they are computed in."""
        return super().train(False)

    def _check(self, images: torch.Tensor) -> torch.Tensor:
        images = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.array(images))
        if images.dtype != torch.uint8 or tuple(images.shape[1:]) != self.image_shape:
            raise GanaugError(
                f"the feature extractor takes uint8 images (N, {', '.join(map(str, self.image_shape))}), "
                f"got {images.dtype} {tuple(images.shape)}; pass images of the data it was trained on"
            )
        return images

    def _pooled(self, images: torch.Tensor) -> torch.Tensor:
        return self.net.features(normalise(self._check(images).to(self.device)))

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images (N, C, H, W) -> float32 features (N, num_features)."""
        return self._pooled(images)

    @property
    def device(self) -> torch.device:
        """Where the network is (and its features are computed)."""
        return self.net.head.weight.device

    @torch.no_grad()
    def embed(self, images: torch.Tensor | np.ndarray, batch_size: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
        """Features (N, D) and class probabilities (N, K), `batch_size` images at a time, on the extractor's
        device in `point_dtype` there (float64 on the CPU), for the metrics to compute where they are."""
        dtype = point_dtype(self.device)
        feats, probs = [], []
        for start in range(0, len(images), batch_size):
            pooled = self._pooled(self._check(images[start : start + batch_size]))
            feats.append(pooled.to(dtype))
            probs.append(self.net.head(pooled).softmax(dim=1).to(dtype))
        if not feats:
            k = len(self.class_names)
            empty = {"dtype": dtype, "device": self.device}
            return torch.zeros(0, self.num_features, **empty), torch.zeros(0, k, **empty)
        return torch.cat(feats), torch.cat(probs)

    def save(self, directory: str | Path) -> Path:
        """Write `extractor.safetensors` (weights) and `extractor.json` (shape, classes, facts) atomically."""
        state = {k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}
        with atomic_path(directory) as tmp:
            tmp.mkdir(parents=True)
            save_file(state, str(tmp / WEIGHTS))
            write_json(
                tmp / META,
                {
                    "format": FORMAT,
                    "version": VERSION,
                    "in_channels": self.image_shape[0],
                    "num_classes": len(self.class_names),
                    "width": self.num_features // 4,
                    "image_shape": list(self.image_shape),
                    "class_names": self.class_names,
                    "meta": self.meta,
                },
            )
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path, expect: Any = None) -> FeatureExtractor:
        """Read a saved extractor (no pickle); with `expect` (the data it will be applied to: anything with
        `class_names` and `image_shape`), an extractor of other data is refused."""
        d = Path(directory)
        info = read_json(d / META)
        if not isinstance(info, dict) or info.get("format") != FORMAT or info.get("version") != VERSION:
            raise GanaugError(f"{d / META}: not a {FORMAT} version {VERSION} file; {_RETRAIN}")
        try:
            shape = tuple(int(s) for s in info["image_shape"])
            names = [str(n) for n in info["class_names"]]
            net = SmallCNN(int(info["in_channels"]), int(info["num_classes"]), int(info["width"]))
            net.load_state_dict(load_file(str(d / WEIGHTS)))
        except (KeyError, TypeError, ValueError, RuntimeError, SafetensorError, OSError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise GanaugError(f"{d}: missing or corrupt feature extractor ({reason}); {_RETRAIN}") from None
        extractor = cls(net, shape, names, info.get("meta") or {})
        if expect is not None:
            check_same_data(extractor, expect, f"the feature extractor {d}", "the data", f"{_RETRAIN} on this data")
        return extractor


@checked(epochs=at_least(1), batch_size=at_least(1), width=at_least(1), seed=seed())
def train_feature_extractor(
    train: ImageDataset,
    *,
    val: ImageDataset | None = None,
    epochs: int = 10,
    batch_size: int = 128,
    width: int = 32,
    strategy: str = "oversample",
    seed: int = 0,
    trainer_kwargs: dict | None = None,
) -> FeatureExtractor:
    """Fit the reference classifier on the real `train` split (a seeded Lightning fit) and wrap it.

    `strategy` is one of the classifier strategies without synthetic data ("oversample" by default:
    class-balanced sampling, so the rare classes, whose generated samples the gate judges, are learnt
    too). The returned extractor's `meta` records the settings, the fit time and, when `val` is given,
    the classifier's balanced accuracy on it: how far its judgement can be trusted.
    """
    if is_synthetic(strategy):
        raise GanaugError(f"strategy '{strategy}': the feature extractor trains on real data only; use oversample")
    pl.seed_everything(seed, verbose=False)
    plan = plan_training(strategy, train, seed=seed)
    model = ImageClassifier(train.image_shape[0], train.num_classes, width=width, loss=plan.loss)
    loader = DataLoader(plan.dataset, batch_size=batch_size, shuffle=plan.sampler is None, sampler=plan.sampler)
    settings = {"enable_progress_bar": False, **(trainer_kwargs or {})}
    fit_seconds = fit(model, loader, epochs=epochs, trainer_kwargs=settings, deterministic=False)
    meta = {
        "epochs": epochs,
        "batch_size": batch_size,
        "width": width,
        "strategy": strategy,
        "seed": seed,
        "train_size": len(train),
        "fit_seconds": round(fit_seconds, 3),
    }
    model.cpu()
    if val is not None and len(val):
        meta["val_balanced_accuracy"] = evaluate(model, val, train.num_classes, train.counts())["balanced_accuracy"]
    return FeatureExtractor(model.net, train.image_shape, train.class_names, meta)
