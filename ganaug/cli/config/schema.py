"""Typed schemas for every config group, registered with Hydra's ConfigStore.

Each YAML option in `conf/<group>/` starts from one of these schemas (`defaults: [<group>_schema]`),
so Hydra rejects an unknown key or a value of the wrong type while composing, before anything runs.
A default is written once: where a field feeds a parameter of the library, its default is read from
that parameter's signature (`default_of`); a field without one (MISSING) is set by each option.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import MISSING as NO_DEFAULT
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from ganaug.auto.search import AutoSettings
from ganaug.classify.classical import classical_transform
from ganaug.classify.losses import ClassifierLoss, Mixup
from ganaug.classify.model import ImageClassifier
from ganaug.classify.parts import PARTS
from ganaug.classify.summary import optimized_value
from ganaug.classify.training import fit_strategy
from ganaug.data import sources
from ganaug.data.datamodule import load_datamodule
from ganaug.data.imbalance import make_imbalanced, select_minority, synthetic_targets
from ganaug.gan.module import ConditionalGAN
from ganaug.gan.monitor import TrainingMonitor
from ganaug.gan.training import gan_training_set, train_gan
from ganaug.quality.cas import classification_accuracy_score
from ganaug.quality.features import train_feature_extractor
from ganaug.quality.gate import generate_gated
from ganaug.quality.report import quality_report
from ganaug.synth.mixing import SYNTHETIC_SHARE


def _signature_default(target: Any, name: str) -> Any:
    if is_dataclass(target):
        (f,) = [f for f in fields(target) if f.name == name]
        return f.default if f.default is not NO_DEFAULT else f.default_factory()  # type: ignore[misc]
    default = inspect.signature(target).parameters[name].default
    return MISSING if default is inspect.Parameter.empty else default


def default_of(target: Any, name: str) -> Any:
    """A dataclass field whose default is `target`'s default for parameter `name` (sequences as lists)."""
    value = _signature_default(target, name)
    if isinstance(value, (list, tuple, dict)):
        plain = _lists(value)
        return field(default_factory=lambda: copy.deepcopy(plain))
    return field(default=value)


def _lists(value: Any) -> Any:
    """`value` with its tuples (nested ones too) as lists, as OmegaConf holds sequences."""
    return [_lists(v) for v in value] if isinstance(value, (list, tuple)) else value


@dataclass
class DigitsData:
    """scikit-learn's bundled 8x8 digits (no network)."""

    _target_: str = "ganaug.data.sources.load_digits"
    val_fraction: float = default_of(sources.load_digits, "val_fraction")
    test_fraction: float = default_of(sources.load_digits, "test_fraction")
    split_seed: int = default_of(sources.load_digits, "split_seed")


@dataclass
class MnistData:
    """IDX files (train-*/t10k-*, gzipped or not) in a folder."""

    _target_: str = "ganaug.data.sources.load_mnist"
    # The folder holding the IDX files.
    root: str = MISSING
    val_fraction: float = default_of(sources.load_mnist, "val_fraction")
    test_fraction: float = default_of(sources.load_mnist, "test_fraction")
    split_seed: int = default_of(sources.load_mnist, "split_seed")


@dataclass
class NpzData:
    """An npz file in the MedMNIST layout ({split}_images, {split}_labels)."""

    _target_: str = "ganaug.data.sources.load_npz"
    # The .npz file.
    path: str = MISSING
    class_names: list[str] | None = default_of(sources.load_npz, "class_names")
    val_fraction: float = default_of(sources.load_npz, "val_fraction")
    test_fraction: float = default_of(sources.load_npz, "test_fraction")
    split_seed: int = default_of(sources.load_npz, "split_seed")


@dataclass
class ImageFolderData:
    """A folder with one subfolder of images per class."""

    _target_: str = "ganaug.data.sources.load_image_folder"
    # The folder with one subfolder per class.
    root: str = MISSING
    image_size: int | None = default_of(sources.load_image_folder, "image_size")
    channels: int | None = default_of(sources.load_image_folder, "channels")
    val_fraction: float = default_of(sources.load_image_folder, "val_fraction")
    test_fraction: float = default_of(sources.load_image_folder, "test_fraction")
    split_seed: int = default_of(sources.load_image_folder, "split_seed")


@dataclass
class TorchvisionData:
    """A torchvision dataset (MNIST, FashionMNIST, KMNIST, CIFAR10), downloaded when download=true."""

    _target_: str = "ganaug.data.sources.load_torchvision"
    # The torchvision dataset class: MNIST, FashionMNIST, KMNIST or CIFAR10.
    name: str = MISSING
    # The folder torchvision reads (or downloads into, with download=true).
    root: str = MISSING
    download: bool = default_of(sources.load_torchvision, "download")
    val_fraction: float = default_of(sources.load_torchvision, "val_fraction")
    split_seed: int = default_of(sources.load_torchvision, "split_seed")


@dataclass
class DatamoduleData:
    """Your own LightningDataModule (`datamodule._target_` and its arguments), its loaders' raw images read
    (`ganaug.data.raw`); a split it has no loader for is carved from its training split."""

    _target_: str = "ganaug.data.datamodule.load_datamodule"
    # Your LightningDataModule: its `_target_` (import path of the class) and its constructor arguments.
    datamodule: Any = MISSING
    val_fraction: float = default_of(load_datamodule, "val_fraction")
    test_fraction: float = default_of(load_datamodule, "test_fraction")
    split_seed: int = default_of(load_datamodule, "split_seed")


@dataclass
class MinorityConfig:
    """Which classes the GAN adds samples to: an explicit list (ids or names) or those below a threshold."""

    classes: list[str] | None = default_of(select_minority, "classes")
    threshold: float = default_of(select_minority, "threshold")


@dataclass
class TargetConfig:
    """How many synthetic samples each minority class gets (`counts`: the explicit counts of mode counts)."""

    mode: str = default_of(synthetic_targets, "mode")
    fill_fraction: float = default_of(synthetic_targets, "fill_fraction")
    ratio: float = default_of(synthetic_targets, "ratio")
    # Explicit synthetic counts per class name or id (mode=counts).
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class ImbalanceConfig:
    """Making an experiment's training split imbalanced (profile none keeps it as it is)."""

    profile: str = default_of(make_imbalanced, "profile")
    # Largest over smallest class count after the imbalance is applied (1: none).
    ratio: float = MISSING
    step_fraction: float = default_of(make_imbalanced, "step_fraction")
    seed: int = default_of(make_imbalanced, "seed")
    minority: MinorityConfig = field(default_factory=MinorityConfig)
    target: TargetConfig = field(default_factory=TargetConfig)


@dataclass
class GANMonitorConfig:
    """TrainingMonitor settings: divergence, discriminator saturation and class collapse checks (0 = off)."""

    check_every_n_steps: int = default_of(TrainingMonitor, "check_every_n_steps")
    saturation_accuracy: float = default_of(TrainingMonitor, "saturation_accuracy")
    saturation_window: int = default_of(TrainingMonitor, "saturation_window")
    collapse_every_n_steps: int = default_of(TrainingMonitor, "collapse_every_n_steps")
    collapse_ratio: float = default_of(TrainingMonitor, "collapse_ratio")
    collapse_patience: int = default_of(TrainingMonitor, "collapse_patience")
    collapse_samples: int = default_of(TrainingMonitor, "collapse_samples")


@dataclass
class GANModuleConfig:
    """ConditionalGAN constructor arguments (networks, loss, optimisers, data-efficient training, monitor)."""

    _target_: str = "ganaug.gan.module.ConditionalGAN"
    generator: str = default_of(ConditionalGAN, "generator")
    # Arguments of the generator network (e.g. base_channels, latent_dim).
    generator_kwargs: dict[str, Any] = field(default_factory=dict)
    discriminator: str = default_of(ConditionalGAN, "discriminator")
    # Arguments of the discriminator network (e.g. base_channels).
    discriminator_kwargs: dict[str, Any] = field(default_factory=dict)
    loss: str = default_of(ConditionalGAN, "loss")
    lr_g: float = default_of(ConditionalGAN, "lr_g")
    lr_d: float = default_of(ConditionalGAN, "lr_d")
    betas: list[float] = default_of(ConditionalGAN, "betas")
    d_steps: int = default_of(ConditionalGAN, "d_steps")
    diffaugment: str = default_of(ConditionalGAN, "diffaugment")
    ema_decay: float = default_of(ConditionalGAN, "ema_decay")
    ema_warmup: bool = default_of(ConditionalGAN, "ema_warmup")
    gp_weight: float | None = default_of(ConditionalGAN, "gp_weight")
    feature_matching: float = default_of(ConditionalGAN, "feature_matching")
    attention: bool = default_of(ConditionalGAN, "attention")
    monitor: GANMonitorConfig = field(default_factory=GANMonitorConfig)
    # How the step runs (ganaug.gan.speed): Adam's implementation (auto: fused on CUDA), a torch.compile mode
    # (null: eager), bf16 autocast of the networks (null: off), NHWC memory.
    adam: str = default_of(ConditionalGAN, "adam")
    compile: str | None = default_of(ConditionalGAN, "compile")
    autocast: str | None = default_of(ConditionalGAN, "autocast")
    channels_last: bool = default_of(ConditionalGAN, "channels_last")
    # Adaptive discriminator augmentation over the diffaugment policy (all three operations when it is empty):
    # the probability moves towards ada_target of E[sign(D(real))], from 0 to 1 over ada_speed images.
    ada: bool = default_of(ConditionalGAN, "ada")
    ada_target: float = default_of(ConditionalGAN, "ada_target")
    ada_speed: int = default_of(ConditionalGAN, "ada_speed")
    # Weight of LeCam's penalty on the discriminator (0 = off).
    lecam_weight: float = default_of(ConditionalGAN, "lecam_weight")
    # Weight of group spectral regularisation of the generator's per-class batch-norm parameters (0 = off; resnet
    # generator).
    gsr_weight: float = default_of(ConditionalGAN, "gsr_weight")
    # gSR weighs classes by effective number at this beta (0: alike; towards 1: by inverse frequency).
    gsr_beta: float = default_of(ConditionalGAN, "gsr_beta")


@dataclass
class GateConfig:
    """The quality gate when building a bank: drop samples the domain classifier does not recognise, and copies."""

    # Filter the bank through the gate (and let auto try min_confidences).
    enabled: bool = False
    min_confidence: float = default_of(generate_gated, "min_confidence")
    drop_near_copies: bool = default_of(generate_gated, "drop_near_copies")
    quantile: float = default_of(generate_gated, "quantile")
    max_rounds: int = default_of(generate_gated, "max_rounds")


@dataclass
class GANConfig:
    """Training the conditional GAN (`steps` is set by each option) and sampling its bank."""

    condition_on: str = default_of(gan_training_set, "condition_on")
    # Generator updates of the GAN run (its maximum when snapshots are chosen on validation).
    steps: int = MISSING
    batch_size: int = default_of(train_gan, "batch_size")
    seed: int = default_of(train_gan, "seed")
    # How the GAN's batches draw the classes: sqrt (each image weighted 1/sqrt(its class count)), balanced
    # (1/count: every class equally often) or none (as the images come).
    class_balance: str = default_of(train_gan, "class_balance")
    sample_every_n_steps: int = default_of(train_gan, "sample_every_n_steps")
    checkpoint_every_n_steps: int = default_of(train_gan, "checkpoint_every_n_steps")
    # The training images on the Trainer's device (auto: when they fit in a quarter of its free memory).
    resident: str = default_of(train_gan, "resident")
    # Progressive growing (generator=style): coarse resolutions first, each finer one faded in over
    # progressive_fade of its share of the steps.
    progressive: bool = default_of(train_gan, "progressive")
    progressive_fade: float = default_of(train_gan, "progressive_fade")
    # Where the one GAN run keeps generator snapshots (fractions of `steps`): auto chooses among them.
    snapshots: list[float] = field(default_factory=lambda: [0.5, 1.0])
    # Seed of the sampling that fills the bank.
    sample_seed: int = 0
    module: GANModuleConfig = field(default_factory=GANModuleConfig)
    gate: GateConfig = field(default_factory=GateConfig)


@dataclass
class ClassicalConfig:
    """The classical recipe: random shifts (fraction of the image size) and rotations (degrees)."""

    max_shift: float = default_of(classical_transform, "max_shift")
    max_rotation: float = default_of(classical_transform, "max_rotation")


@dataclass
class AutoConfig:
    """The `auto` strategy's race (ganaug.auto.AutoSettings; its splits are seeded by the run's seed)."""

    baselines: list[str] = default_of(AutoSettings, "baselines")
    families: list[list[str]] = default_of(AutoSettings, "families")
    amounts: list[float] = default_of(AutoSettings, "amounts")
    synthetic_shares: list[float] = default_of(AutoSettings, "synthetic_shares")
    min_confidences: list[float] = default_of(AutoSettings, "min_confidences")
    synthetic_weights: list[float] = default_of(AutoSettings, "synthetic_weights")
    per_class: bool = default_of(AutoSettings, "per_class")
    rungs: list[float] = default_of(AutoSettings, "rungs")
    keep: int = default_of(AutoSettings, "keep")
    holdout: str = default_of(AutoSettings, "holdout")
    validation_runs: int = default_of(AutoSettings, "validation_runs")
    folds: int = default_of(AutoSettings, "folds")
    repeats: int = default_of(AutoSettings, "repeats")
    margin: float = default_of(AutoSettings, "margin")
    # Candidates trained at once, each in its own process (CPU threads split between them; a GPU shared).
    workers: int = default_of(AutoSettings, "workers")


@dataclass
class LogitAdjustmentConfig:
    """The `la` part: tau times the log prior added to the logits in training (1: balanced softmax)."""

    tau: float = default_of(PARTS["la"].configure, "tau")


@dataclass
class DeferredReweightConfig:
    """The `drw` part: effective-number class weights (beta) from the share `start` of the epochs on."""

    beta: float = default_of(PARTS["drw"].configure, "beta")
    start: float = default_of(PARTS["drw"].configure, "start")


@dataclass
class LDAMConfig:
    """The `ldam` part: the rarest class's margin and the scale of the cosine logits."""

    max_margin: float = default_of(PARTS["ldam"].configure, "max_margin")
    scale: float = default_of(PARTS["ldam"].configure, "scale")


@dataclass
class MixupConfig:
    """The `mixup` part: lam ~ Beta(alpha, alpha)."""

    alpha: float = default_of(Mixup, "alpha")


@dataclass
class AugmentConfig:
    """Which strategies a run evaluates, and their settings (each part's under its name)."""

    # The strategies to compare (names of parts joined by +, and auto); augment=<name> picks one set.
    strategies: list[str] = MISSING
    classical: ClassicalConfig = field(default_factory=ClassicalConfig)
    la: LogitAdjustmentConfig = field(default_factory=LogitAdjustmentConfig)
    drw: DeferredReweightConfig = field(default_factory=DeferredReweightConfig)
    ldam: LDAMConfig = field(default_factory=LDAMConfig)
    mixup: MixupConfig = field(default_factory=MixupConfig)
    synthetic_weight: float = default_of(ClassifierLoss, "synthetic_weight")
    # The most a class's draws may be generated samples (1: no cap).
    synthetic_share: float = SYNTHETIC_SHARE
    auto: AutoConfig = field(default_factory=AutoConfig)


# Each strategy's fit saves a checkpoint at every epoch's end in <checkpoint_dir>/<strategy>/seed<seed>, so a
# killed run rerun in the same folder (hydra.run.dir=...) resumes every unfinished fit; null: no checkpoints.
CHECKPOINT_DIR = "${ganaug_run_dir:}/checkpoints"


@dataclass
class ClassifierConfig:
    """The classifier (its `_target_` and constructor arguments) and its training (epochs, batch_size,
    checkpoint_dir)."""

    _target_: str = "ganaug.classify.model.ImageClassifier"
    width: int = default_of(ImageClassifier, "width")
    lr: float = default_of(ImageClassifier, "lr")
    weight_decay: float = default_of(ImageClassifier, "weight_decay")
    epochs: int = default_of(fit_strategy, "epochs")
    batch_size: int = default_of(fit_strategy, "batch_size")
    # Where each fit keeps its resumable checkpoint (CHECKPOINT_DIR above); null: none.
    checkpoint_dir: str | None = CHECKPOINT_DIR


@dataclass
class ModuleClassifierConfig:
    """Your own LightningModule as the classifier (`classify.model.check_classifier` states the protocol):
    its class in `_target_`, its constructor arguments in `kwargs`, and its training (epochs, batch_size,
    checkpoint_dir)."""

    _target_: str = MISSING
    # Your module's constructor arguments (num_classes and in_channels are given by ganaug).
    kwargs: dict[str, Any] = field(default_factory=dict)
    epochs: int = default_of(fit_strategy, "epochs")
    batch_size: int = default_of(fit_strategy, "batch_size")
    # Where each fit keeps its resumable checkpoint (CHECKPOINT_DIR above); null: none.
    checkpoint_dir: str | None = CHECKPOINT_DIR


@dataclass
class TrainerConfig:
    """Arguments of every Lightning Trainer ganaug builds (of the namespace of the module it fits; the
    `logger` and `callbacks` groups add theirs)."""

    _target_: str = "pytorch_lightning.Trainer"
    # Lightning's accelerator: auto, cpu, gpu, ... (trainer=gpu sets gpu).
    accelerator: str = "auto"
    # Lightning's distribution strategy: auto, ddp, ...
    strategy: Any = "auto"
    # Devices per node: a count, a list of ids, or auto.
    devices: Any = 1
    # Machines of a multi-node run.
    num_nodes: int = 1
    # Lightning's precision: 32-true, bf16-mixed, 16-mixed, ...
    precision: Any = "32-true"
    # Progress bars (the GAN's steps, the bank, the gate, the quality metrics, auto, each fit): null shows them
    # on a terminal only, true always, false never.
    enable_progress_bar: bool | None = None
    # How often (in steps) the loggers receive the training curves (at least once an epoch).
    log_every_n_steps: int = 10


@dataclass
class ExtractorConfig:
    """The domain classifier whose features and probabilities the gate and the quality metrics use."""

    epochs: int = default_of(train_feature_extractor, "epochs")
    width: int = default_of(train_feature_extractor, "width")
    seed: int = default_of(train_feature_extractor, "seed")


@dataclass
class QualityConfig:
    """Sample-quality metrics of the bank (FID/KID, PRDC, CAS, memorisation), written to quality.json."""

    # Measure the bank's quality (quality.json).
    enabled: bool = False
    k: int = default_of(quality_report, "k")
    cas: bool = default_of(quality_report, "cas")
    cas_steps: int = default_of(classification_accuracy_score, "steps")
    max_per_class: int = default_of(quality_report, "max_per_class")
    extractor: ExtractorConfig = field(default_factory=ExtractorConfig)


@dataclass
class RootConfig:
    """The whole configuration; groups are composed into these fields."""

    data: Any = MISSING
    imbalance: ImbalanceConfig = MISSING
    gan: GANConfig = MISSING
    augment: AugmentConfig = MISSING
    # ClassifierConfig (classifier=small_cnn) or ModuleClassifierConfig (classifier=module)
    classifier: Any = MISSING
    trainer: TrainerConfig = MISSING
    # A Lightning logger partial (logger=csv, tensorboard, wandb), made for each fit; empty: none.
    logger: Any = None
    # Lightning callback partials by name (callbacks=early_stopping, lr_monitor), made for each classifier fit.
    callbacks: Any = None
    quality: QualityConfig = field(default_factory=QualityConfig)
    # Seed of the downstream classifier (the GAN and the imbalance have seeds of their own).
    seed: int = 0
    # Where the cached stages (data, GAN, bank, extractor, quality) live; GANAUG_CACHE_DIR overrides it.
    cache_dir: str = ".ganaug_cache"
    # The run's name (logger=wandb groups the run's fits under it).
    name: str = "ganaug"
    # What `python -m ganaug` returns to a Hydra sweeper: a validation metric of one strategy (None: the last).
    optimized_metric: str = default_of(optimized_value, "metric")
    optimized_strategy: str | None = default_of(optimized_value, "strategy")


DATA_SCHEMAS = {
    "digits": DigitsData,
    "mnist": MnistData,
    "npz": NpzData,
    "image_folder": ImageFolderData,
    "torchvision": TorchvisionData,
    "datamodule": DatamoduleData,
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
    cs.store(group="classifier", name="module_classifier_schema", node=ModuleClassifierConfig)
