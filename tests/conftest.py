"""Shared fixtures: small synthetic image sets, and the reference data when it is present."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganaug.data.dataset import ImageDataset

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def make_toy_dataset(
    counts: list[int], shape: tuple[int, int, int] = (1, 8, 8), seed: int = 0
) -> ImageDataset:
    """Images whose class is visible (class c brightens row band c), with `counts[c]` images of class c."""
    gen = torch.Generator().manual_seed(seed)
    c, h, w = shape
    images, labels = [], []
    for cls, n in enumerate(counts):
        base = torch.zeros(n, c, h, w)
        band = (cls * h) // max(len(counts), 1)
        base[:, :, band : band + max(h // len(counts), 1), :] = 200.0
        noise = torch.rand(n, c, h, w, generator=gen) * 50.0
        images.append((base + noise).clamp(0, 255).to(torch.uint8))
        labels.append(torch.full((n,), cls, dtype=torch.int64))
    return ImageDataset(torch.cat(images), torch.cat(labels), [f"class{i}" for i in range(len(counts))])


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
