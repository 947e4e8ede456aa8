"""`GANOverSampler`: ganaug as an imbalanced-learn over-sampler, for users whose images are numpy arrays.

    from imblearn.pipeline import make_pipeline
    from ganaug import GANOverSampler
    X_res, y_res = GANOverSampler(sampling_strategy="auto", random_state=0, steps=1200).fit_resample(X, y)
    make_pipeline(GANOverSampler(random_state=0), FunctionTransformer(flatten), LogisticRegression())

`X` is a uint8 array of images, (N, H, W) or (N, H, W, C) with C 1 or 3; `y` holds one label per image
(any labels numpy sorts: ints, strings). `sampling_strategy` means what it means for every imbalanced-learn
over-sampler ('auto', 'minority', 'not majority', 'not minority', 'all', a float for two classes, a dict
of target totals per class, or a callable): the totals are reached with images the conditional GAN
generates, appended after the originals in the layout of `X`. Needs imbalanced-learn
(`pip install 'ganaug[imblearn]'`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
import torch
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_target_type
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ganaug.data.dataset import ImageDataset
from ganaug.errors import GanaugError
from ganaug.flow.plugin import BATCH_SIZE, STEPS, synthesize
from ganaug.gan.training import CONDITION_ON

_SEED_RANGE = 2**31 - 1


def images_nchw(X: Any) -> tuple[torch.Tensor, bool]:
    """`X` as a uint8 (N, C, H, W) tensor, and whether it came channels-last with a channel axis.

    uint8 arrays are taken as they are; other integer arrays (a nested list becomes int64) when every
    value lies in 0..255. Floats are refused: 0..1 and 0..255 cannot be told apart safely.
    """
    arr = np.asarray(X)
    if not np.issubdtype(arr.dtype, np.integer) or (arr.size and (arr.min() < 0 or arr.max() > 255)):
        raise GanaugError(
            f"GANOverSampler takes uint8 images (integers 0..255), got dtype {arr.dtype}; scale them to 0..255 "
            "and cast with X.astype(np.uint8)"
        )
    arr = arr.astype(np.uint8, copy=False)
    if arr.ndim == 3:
        return torch.from_numpy(np.ascontiguousarray(arr[:, None])), False
    if arr.ndim == 4 and arr.shape[-1] in (1, 3):
        return torch.from_numpy(np.ascontiguousarray(arr.transpose(0, 3, 1, 2))), True
    raise GanaugError(
        f"GANOverSampler takes images (N, H, W) or (N, H, W, C) with C 1 or 3, got shape {arr.shape}; "
        "reshape flat feature rows to images first"
    )


class GANOverSampler(BaseOverSampler):
    """Over-sample the classes `sampling_strategy` names with a conditional GAN's images.

    `fit_resample(X, y)` trains ganaug's ConditionalGAN on all of `(X, y)` (`condition_on="all"`: every
    class teaches the shared layers; "minority" trains on the over-sampled classes only) for `steps`
    generator updates of `batch_size`, with `module_kwargs` for ConditionalGAN and `trainer_kwargs` for
    its Trainer, then samples the missing images per class. `random_state` (an int, a RandomState or
    None, as in scikit-learn) seeds the GAN and the sampling: an int gives the same images each time.
    `cache_dir` keeps the trained GAN and the samples, keyed by the images and the settings, so a second
    call with the same data trains nothing; without it they live in a temporary folder for the call.
    """

    _sampling_type = "over-sampling"
    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "steps": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "condition_on": [StrOptions(set(CONDITION_ON))],
        "module_kwargs": [Mapping, None],
        "trainer_kwargs": [Mapping, None],
        "cache_dir": [str, Path, None],
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        steps: int = STEPS,
        batch_size: int = BATCH_SIZE,
        condition_on: str = "all",
        module_kwargs: Mapping[str, Any] | None = None,
        trainer_kwargs: Mapping[str, Any] | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.steps = steps
        self.batch_size = batch_size
        self.condition_on = condition_on
        self.module_kwargs = module_kwargs
        self.trainer_kwargs = trainer_kwargs
        self.cache_dir = cache_dir

    def _check_X_y(self, X: Any, y: Any, accept_sparse: Any = None) -> tuple[np.ndarray, np.ndarray, bool]:
        """The labels checked as imbalanced-learn checks them; the images kept as images (not a 2-D table)."""
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        if np.unique(y, axis=0).shape[0] < 2:
            raise GanaugError("y holds one class only; over-sampling needs at least two classes to balance")
        images, _ = images_nchw(X)
        if len(images) != len(y):
            raise GanaugError(f"{len(images)} images but {len(y)} labels; give one label per image")
        return np.asarray(X), np.asarray(y), binarize_y

    def _fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        images, channels_last = images_nchw(X)
        classes, ids = np.unique(y, return_inverse=True)
        position = {label: i for i, label in enumerate(classes.tolist())}
        targets = {position[label]: int(n) for label, n in self.sampling_strategy_.items() if n > 0}
        if not targets:
            return X, y
        train = ImageDataset(images, torch.from_numpy(ids.astype(np.int64)), [str(c) for c in classes])
        rng = check_random_state(self.random_state)
        gan_seed, sample_seed = (int(s) for s in rng.randint(_SEED_RANGE, size=2))
        with tempfile.TemporaryDirectory(prefix="ganaug-oversampler-") as scratch:
            _, bank = synthesize(
                train, sorted(targets), targets, cache_dir=self.cache_dir or scratch, steps=self.steps,
                batch_size=self.batch_size, gan_seed=gan_seed, condition_on=self.condition_on,
                module_kwargs=self.module_kwargs, trainer_kwargs=self.trainer_kwargs, sample_seed=sample_seed,
            )  # fmt: skip
            generated = np.array(bank.images)
            labels = classes[bank.labels]
        if channels_last:
            generated = generated.transpose(0, 2, 3, 1)
        elif X.ndim == 3:
            generated = generated[:, 0]
        return np.concatenate([X, generated.astype(X.dtype)]), np.concatenate([y, labels.astype(y.dtype)])

    def __sklearn_tags__(self) -> Any:
        """Images, not a 2-D table of features: no sparse or dataframe input, no feature names."""
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.sparse = False
        tags.input_tags.dataframe = False
        return tags
