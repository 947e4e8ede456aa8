"""Typed schemas for every config group, registered with Hydra's ConfigStore.

Each YAML option in `conf/<group>/` starts from one of these schemas (`defaults: [<group>_schema]`),
so Hydra rejects an unknown key or a value of the wrong type while composing, before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class DigitsData:
    """scikit-learn's bundled 8x8 digits (no network)."""

    _target_: str = "ganaug.data.sources.load_digits"
    val_fraction: float = 0.15
    test_fraction: float = 0.25
    split_seed: int = 0


@dataclass
class MnistData:
    """IDX files (train-*/t10k-*, gzipped or not) in a folder."""

    _target_: str = "ganaug.data.sources.load_mnist"
    root: str = MISSING
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    split_seed: int = 0


@dataclass
class NpzData:
    """An npz file in the MedMNIST layout ({split}_images, {split}_labels)."""

    _target_: str = "ganaug.data.sources.load_npz"
    path: str = MISSING
    class_names: list[str] | None = None
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    split_seed: int = 0


@dataclass
class ImageFolderData:
    """A folder with one subfolder of images per class."""

    _target_: str = "ganaug.data.sources.load_image_folder"
    root: str = MISSING
    image_size: int | None = None
    channels: int | None = None
    val_fraction: float = 0.15
    test_fraction: float = 0.2
    split_seed: int = 0


@dataclass
class TorchvisionData:
    """A torchvision dataset (MNIST, FashionMNIST, KMNIST, CIFAR10), downloaded when download=true."""

    _target_: str = "ganaug.data.sources.load_torchvision"
    name: str = "MNIST"
    root: str = MISSING
    download: bool = False
    val_fraction: float = 0.1
    split_seed: int = 0


@dataclass
class MinorityConfig:
    """Which classes the GAN adds samples to: an explicit list (ids or names) or those below a threshold."""

    classes: list[str] | None = None
    threshold: float = 0.5


@dataclass
class TargetConfig:
    """How many synthetic samples each minority class gets."""

    mode: str = "fill"
    fill_fraction: float = 1.0
    ratio: float = 1.0
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class ImbalanceConfig:
    """Making an experiment's training split imbalanced (profile none keeps it as it is)."""

    profile: str = "exponential"
    ratio: float = 10.0
    step_fraction: float = 0.5
    seed: int = 0
    minority: MinorityConfig = field(default_factory=MinorityConfig)
    target: TargetConfig = field(default_factory=TargetConfig)


@dataclass
class GANMonitorConfig:
    """TrainingMonitor settings: divergence, discriminator saturation and class collapse checks (0 = off)."""

    check_every_n_steps: int = 25
    saturation_accuracy: float = 0.99
    saturation_window: int = 200
    collapse_every_n_steps: int = 250
    collapse_ratio: float = 0.1
    collapse_patience: int = 3
    collapse_samples: int = 16


@dataclass
class GANModuleConfig:
    """ConditionalGAN constructor arguments (networks, loss, optimisers, data-efficient training, monitor)."""

    _target_: str = "ganaug.gan.module.ConditionalGAN"
    generator: str = "dcgan"
    generator_kwargs: dict[str, Any] = field(default_factory=dict)
    discriminator: str = "projection"
    discriminator_kwargs: dict[str, Any] = field(default_factory=dict)
    loss: str = "hinge"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: list[float] = field(default_factory=lambda: [0.0, 0.99])
    d_steps: int = 1
    diffaugment: str = ""
    ema_decay: float = 0.999
    ema_warmup: bool = True
    gp_weight: float | None = None
    feature_matching: float = 0.0
    attention: bool = False
    monitor: GANMonitorConfig = field(default_factory=GANMonitorConfig)


@dataclass
class GateConfig:
    """The quality gate when building a bank: drop samples the domain classifier does not recognise, and copies."""

    enabled: bool = False
    min_confidence: float = 0.5
    drop_near_copies: bool = True
    quantile: float = 0.01
    max_rounds: int = 5


@dataclass
class GANConfig:
    """Training the conditional GAN and sampling its bank."""

    condition_on: str = "all"
    steps: int = 1200
    batch_size: int = 64
    seed: int = 0
    class_balance: str = "sqrt"
    sample_every_n_steps: int = 500
    sample_seed: int = 0
    module: GANModuleConfig = field(default_factory=GANModuleConfig)
    gate: GateConfig = field(default_factory=GateConfig)


@dataclass
class ClassicalConfig:
    """The classical recipe: random shifts (fraction of the image size) and rotations (degrees)."""

    max_shift: float = 3 / 28
    max_rotation: float = 15.0


@dataclass
class AutoConfig:
    """The `auto` strategy's search (ganaug.auto.AutoSettings; its splits are seeded by the run's seed)."""

    baselines: list[str] = field(default_factory=lambda: ["none", "oversample", "reweight", "classical"])
    amounts: list[float] = field(default_factory=lambda: [0.1, 0.3, 1.0])
    min_confidences: list[float] = field(default_factory=lambda: [0.9])
    synthetic_weights: list[float] = field(default_factory=lambda: [0.5])
    synthetic_shares: list[float] = field(default_factory=lambda: [0.25])
    per_class: bool = True
    holdout: str = "validation"
    validation_runs: int = 2
    folds: int = 3
    repeats: int = 1
    margin: float = 1.0
    proxy_epochs: int | None = 10


@dataclass
class AugmentConfig:
    """Which strategies a run evaluates, and their settings."""

    strategies: list[str] = MISSING
    classical: ClassicalConfig = field(default_factory=ClassicalConfig)
    synthetic_weight: float = 1.0
    synthetic_share: float = 0.5
    auto: AutoConfig = field(default_factory=AutoConfig)


@dataclass
class ClassifierConfig:
    """The classifier (its `_target_` and constructor arguments) and its training (epochs, batch_size)."""

    _target_: str = "ganaug.classify.model.ImageClassifier"
    width: int = 32
    lr: float = 3e-3
    weight_decay: float = 5e-4
    epochs: int = 30
    batch_size: int = 128


@dataclass
class TrainerConfig:
    """Arguments passed to every pytorch_lightning.Trainer ganaug builds."""

    _target_: str = "pytorch_lightning.Trainer"
    accelerator: str = "auto"
    devices: Any = 1
    precision: str = "32-true"
    enable_progress_bar: bool = True
    log_every_n_steps: int = 10


@dataclass
class ExtractorConfig:
    """The domain classifier whose features and probabilities the gate and the quality metrics use."""

    epochs: int = 10
    width: int = 32
    seed: int = 0


@dataclass
class QualityConfig:
    """Sample-quality metrics of the bank (FID/KID, PRDC, CAS, memorisation), written to quality.json."""

    enabled: bool = False
    k: int = 5
    cas: bool = True
    cas_steps: int = 500
    max_per_class: int = 5000
    extractor: ExtractorConfig = field(default_factory=ExtractorConfig)


@dataclass
class RootConfig:
    """The whole configuration; groups are composed into these fields."""

    data: Any = MISSING
    imbalance: ImbalanceConfig = MISSING
    gan: GANConfig = MISSING
    augment: AugmentConfig = MISSING
    classifier: ClassifierConfig = MISSING
    trainer: TrainerConfig = MISSING
    quality: QualityConfig = field(default_factory=QualityConfig)
    seed: int = 0
    cache_dir: str = ".ganaug_cache"
    name: str = "ganaug"


DATA_SCHEMAS = {
    "digits": DigitsData,
    "mnist": MnistData,
    "npz": NpzData,
    "image_folder": ImageFolderData,
    "torchvision": TorchvisionData,
}


def register_schemas() -> None:
    """Store every schema in Hydra's ConfigStore under `<group>/<name>_schema`."""
    cs = ConfigStore.instance()
    cs.store(name="root_schema", node=RootConfig)
    for name, node in DATA_SCHEMAS.items():
        cs.store(group="data", name=f"{name}_schema", node=node)
    for group, node in (
        ("imbalance", ImbalanceConfig),
        ("gan", GANConfig),
        ("augment", AugmentConfig),
        ("classifier", ClassifierConfig),
        ("trainer", TrainerConfig),
    ):
        cs.store(group=group, name=f"{group}_schema", node=node)
