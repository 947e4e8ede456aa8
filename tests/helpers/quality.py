"""The toy data the quality tests measure against, and one domain extractor trained on it per session."""

from __future__ import annotations

import functools

import torch

from ganaug.data.dataset import ImageDataset
from ganaug.quality.features import FeatureExtractor, train_feature_extractor
from helpers.data import make_toy_dataset


def train_set() -> ImageDataset:
    """Imbalanced training split of 8x8 gray images, 40/20/6 (class visible as a bright row band)."""
    return make_toy_dataset([40, 20, 6], seed=0)


def heldout_set() -> ImageDataset:
    """Balanced held-out split drawn with another seed, 30 per class."""
    return make_toy_dataset([30, 30, 30], seed=1)


@functools.cache
def toy_extractor() -> FeatureExtractor:
    """A width-8 reference classifier fitted for about a second on `train_set` (once per session)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train_feature_extractor(train_set(), val=heldout_set(), epochs=20, batch_size=16, width=8, seed=0)
    finally:
        torch.set_num_threads(threads)
