"""The gan config options build the GAN through hydra.utils.instantiate: every module field is a ConditionalGAN
argument."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from ganaug.cli.config import config_dir
from ganaug.cli.config.schema import GANModuleConfig
from ganaug.flow.settings import gan_module
from ganaug.gan.attention import SelfAttention
from ganaug.gan.diffaugment import POLICIES
from ganaug.gan.module import ConditionalGAN


def test_every_module_config_field_is_a_constructor_argument() -> None:
    params = inspect.signature(ConditionalGAN).parameters
    for f in dataclasses.fields(GANModuleConfig):
        if f.name == "_target_":
            assert f.default == "ganaug.gan.module.ConditionalGAN"
            continue
        assert f.name in params, f"gan.module.{f.name} is not a ConditionalGAN argument"
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
        if f.name not in ("betas", "monitor", "generator_kwargs", "discriminator_kwargs"):
            assert default == params[f.name].default, f"gan.module.{f.name} default differs from ConditionalGAN's"


@pytest.mark.parametrize(
    ("option", "overrides", "generator", "policy"),
    [
        ("dcgan", [], "DCGANGenerator", ()),
        ("resnet", [], "ResNetGenerator", ("translation", "cutout")),
        ("resnet", ["gan.module.attention=true", "gan.module.loss=wgan_gp", "gan.module.feature_matching=0.5",
                    "gan.module.diffaugment='color,translation,cutout'", "gan.module.monitor.collapse_ratio=0.2"],
         "ResNetGenerator", POLICIES),
    ],
)  # fmt: skip
def test_gan_options_build_the_module(option: str, overrides: list[str], generator: str, policy: tuple) -> None:
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("config", overrides=[f"gan={option}", *overrides])
    cfg.gan.module.generator_kwargs.base_channels = cfg.gan.module.discriminator_kwargs.base_channels = 4
    kwargs = OmegaConf.to_container(cfg.gan.module, resolve=True)
    gan = gan_module(cfg)(image_shape=(1, 8, 8), num_classes=3, trained_classes=[0, 1, 2])
    assert isinstance(gan, ConditionalGAN)
    assert type(gan.generator).__name__ == generator and gan.augment.policy == policy
    assert gan.ema is not None and gan.ema.decay == 0.999
    assert gan.monitor.collapse_ratio == kwargs["monitor"]["collapse_ratio"]
    assert any(isinstance(m, SelfAttention) for m in gan.modules()) == kwargs["attention"]
