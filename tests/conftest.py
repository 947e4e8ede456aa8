"""Shared fixtures: small synthetic image sets, and the reference data when it is present."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers.data import SHARED_DATA, make_toy_dataset

from ganaug.data.dataset import ImageDataset


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks train fastest on one thread; more only contend for the 2 shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def toy_dataset() -> ImageDataset:
    """Three classes of 8x8 gray images, imbalanced 40/20/6."""
    return make_toy_dataset([40, 20, 6])


@pytest.fixture
def mnist_dir() -> Path:
    """The reference MNIST t10k IDX files; the test is skipped when they are absent."""
    d = SHARED_DATA / "mnist-t10k"
    if not (d / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("../shared/data/mnist-t10k is not present")
    return d
