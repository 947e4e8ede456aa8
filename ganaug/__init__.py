"""ganaug: a conditional GAN that learns an imbalanced dataset's rare classes, served as extra training data.

The names below are the stable Python API; everything else is private to its module.
"""

from ganaug.classify.model import ImageClassifier
from ganaug.data.dataset import DatasetSplits, ImageDataset
from ganaug.errors import GanaugError
from ganaug.flow.plugin import augment
from ganaug.gan.export import GeneratorArtifact, export_generator
from ganaug.gan.module import ConditionalGAN
from ganaug.gan.training import train_gan
from ganaug.synth.bank import SyntheticBank
from ganaug.synth.datamodule import GANAugDataModule
from ganaug.synth.mixing import MixedDataset
from ganaug.synth.transforms import SyntheticReplace

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """`ganaug.GANOverSampler`, imported on first use: it needs the optional imbalanced-learn."""
    if name != "GANOverSampler":
        raise AttributeError(f"module 'ganaug' has no attribute {name!r}")
    try:
        from ganaug.flow.oversampler import GANOverSampler
    except ModuleNotFoundError as err:
        raise GanaugError(
            f"GANOverSampler needs imbalanced-learn ({err}); install it with pip install 'ganaug[imblearn]'"
        ) from None
    return GANOverSampler


__all__ = [
    "ConditionalGAN",
    "DatasetSplits",
    "GANOverSampler",
    "GANAugDataModule",
    "GanaugError",
    "GeneratorArtifact",
    "ImageClassifier",
    "ImageDataset",
    "MixedDataset",
    "SyntheticBank",
    "SyntheticReplace",
    "augment",
    "export_generator",
    "train_gan",
]
