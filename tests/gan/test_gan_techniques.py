"""The StyleGAN-style generator, progressive growing, the multi-scale discriminator and ADA: known behaviour."""

from __future__ import annotations

import json

import pytest
import torch

from ganaug.errors import GanaugError
from ganaug.gan.ada import AdaptiveAugment
from ganaug.gan.discriminators import build_discriminator
from ganaug.gan.export import GeneratorArtifact, export_generator
from ganaug.gan.generators import build_generator
from ganaug.gan.losses import build_loss
from ganaug.gan.module import ConditionalGAN
from ganaug.gan.progressive import GrowthSchedule, at_resolution, grown_reals
from ganaug.gan.style import ModulatedConv2d
from ganaug.gan.training import train_gan

STYLE = {"generator": "style", "generator_kwargs": {"latent_dim": 8, "base_channels": 4},
         "discriminator_kwargs": {"base_channels": 8}}  # fmt: skip
QUIET = {"enable_progress_bar": False, "accelerator": "cpu"}


def test_modulation_and_demodulation_keep_unit_variance() -> None:
    torch.manual_seed(0)
    conv = ModulatedConv2d(32, 16, 3, style_dim=8)
    x = torch.randn(64, 32, 12, 12)
    for scale in (0.3, 1.0, 5.0):  # whatever the styles, the output keeps the input's unit variance
        y = conv(x, scale * torch.randn(64, 8))[:, :, 1:-1, 1:-1]  # inside: no zero padding in the window
        assert y.var(dim=(0, 2, 3)).mean().item() == pytest.approx(1.0, abs=0.1)
    plain = ModulatedConv2d(32, 16, 3, style_dim=8, demodulate=False)
    with torch.no_grad():
        plain.affine.bias.fill_(5.0)  # without demodulation a style of 5 scales the variance by about 25
    assert plain(x, torch.zeros(64, 8))[:, :, 1:-1, 1:-1].var().item() > 10


def test_the_style_generator_maps_class_and_noise_and_mixes_styles() -> None:
    torch.manual_seed(0)
    gen = build_generator("style", image_shape=(1, 28, 28), num_classes=3, latent_dim=8, base_channels=4)
    z = torch.randn(4, 8)
    same_z = z[:1].expand(2, -1)
    assert not torch.allclose(*gen.mapping(same_z, torch.tensor([0, 1])))  # the class enters through w
    gen.eval()
    images = gen(z, torch.tensor([0, 1, 2, 0]))
    assert images.shape == (4, 1, 28, 28) and images.abs().max() <= 1
    assert torch.equal(images, gen(z, torch.tensor([0, 1, 2, 0])))  # eval: the fixed noise maps
    assert torch.equal(gen.styles(z, torch.tensor([0, 1, 2, 0])), gen.styles(z, torch.tensor([0, 1, 2, 0])))
    gen.train()
    gen.mixing = 1.0
    styles = gen.styles(torch.randn(64, 8), torch.zeros(64, dtype=torch.long))
    assert (styles[:, 0] != styles[:, -1]).any(dim=1).all()  # every row switches styles at some input
    gen.mixing = 0.0
    styles = gen.styles(torch.randn(8, 8), torch.zeros(8, dtype=torch.long))
    assert torch.equal(styles[:, 0], styles[:, -1])
    big = build_generator("style", image_shape=(3, 64, 64), num_classes=2, latent_dim=8, base_channels=4)
    assert big(torch.randn(2, 8), torch.tensor([0, 1])).shape == (2, 3, 64, 64) and big.levels == 5


def test_the_noise_moves_styles_and_images_from_initialisation() -> None:
    torch.manual_seed(0)  # equalised learning rates: w keeps about unit scale, so z is not lost at the start
    gen = build_generator("style", image_shape=(1, 28, 28), num_classes=3, latent_dim=32, base_channels=8).eval()
    z, labels = torch.randn(128, 32), torch.zeros(128, dtype=torch.long)
    w = gen.mapping(z, labels)
    assert w.square().mean().sqrt().item() == pytest.approx(1.0, abs=0.5)
    assert gen.layers[1].conv.affine(w).std(dim=0).mean().item() > 0.2
    images = gen(z, labels)
    assert images.std(dim=0).mean().item() > 0.3 * images.std().item()
    with pytest.raises(GanaugError, match="mapping_lr_mul"):
        build_generator("style", image_shape=(1, 28, 28), num_classes=3, mapping_lr_mul=0.0)


def test_the_fade_in_weights_go_from_0_to_1_on_schedule() -> None:
    schedule = GrowthSchedule(levels=3, steps=300, fade=0.5)
    assert schedule.at(0) == (0, 1.0) and schedule.at(99) == (0, 1.0)
    assert schedule.at(100) == (1, 0.0) and schedule.at(125) == (1, 0.5) and schedule.at(150) == (1, 1.0)
    assert schedule.at(200) == (2, 0.0) and schedule.at(250) == (2, 1.0) and schedule.at(299) == (2, 1.0)
    alphas = [schedule.at(s)[1] for s in range(200, 251)]
    assert alphas == sorted(alphas)  # rising within the fade
    assert GrowthSchedule(levels=2, steps=10, fade=0.0).at(5) == (1, 1.0)
    with pytest.raises(GanaugError, match="progressive_fade"):
        GrowthSchedule(levels=2, steps=10, fade=1.5)


def test_reals_follow_the_current_resolution() -> None:
    x = torch.arange(64.0).view(1, 1, 8, 8)
    low = at_resolution(x, 0, 2)
    assert torch.equal(low[0, 0, :2, :2], torch.full((2, 2), float(x[0, 0, :2, :2].mean())))
    assert torch.equal(at_resolution(x, 1, 2), x)
    assert torch.allclose(grown_reals(x, 1, 0.25, 2), 0.75 * low + 0.25 * x)


def test_a_progressive_run_ends_as_the_full_generator(toy_dataset, tmp_path) -> None:
    gan = train_gan(toy_dataset, [0, 1, 2], steps=8, batch_size=8, module_kwargs=STYLE, trainer_kwargs=QUIET,
                    progressive=True, progressive_fade=0.5)  # fmt: skip
    assert gan.growth is not None and gan.growth.levels == 2
    assert (gan.generator.level, gan.generator.alpha) == (1, 1.0)
    assert (gan.sampling_generator.level, gan.sampling_generator.alpha) == (1, 1.0)
    artifact = GeneratorArtifact.load(export_generator(gan, tmp_path / "g", toy_dataset.class_names))
    assert artifact.meta["training"]["progressive"] == {"levels": 2, "fade": 0.5}
    assert artifact.sample(torch.tensor([0, 1, 2])).shape == (3, 1, 8, 8)
    with pytest.raises(GanaugError, match="does not grow progressively; use generator=style"):
        train_gan(toy_dataset, [0, 1, 2], steps=2, batch_size=8, trainer_kwargs=QUIET, progressive=True)


def test_the_multiscale_losses_average_the_scales_as_documented() -> None:
    torch.manual_seed(0)
    d = build_discriminator("multiscale", image_shape=(1, 16, 16), num_classes=3, base_channels=4, scales=3)
    images, labels = torch.randn(6, 1, 16, 16), torch.tensor([0, 1, 2, 0, 1, 2])
    logits = d(images, labels)
    assert logits.shape == (6, 3)
    pooled = torch.nn.functional.avg_pool2d(images, 4)
    assert torch.allclose(logits[:, 2], d.critics[2](pooled, labels))  # scale 2 judges the 4x smaller copy
    real, fake = logits[:3], logits[3:]
    for loss in ("hinge", "non_saturating"):
        fn = build_loss(loss, None)
        per_scale = [fn.d_loss(real[:, s], fake[:, s]) for s in range(3)]
        assert fn.d_loss(real, fake).item() == pytest.approx(sum(per_scale).item() / 3, rel=1e-6)
        assert fn.g_loss(fake).item() == pytest.approx(sum(fn.g_loss(fake[:, s]) for s in range(3)).item() / 3)
    with pytest.raises(GanaugError, match="no features"):
        ConditionalGAN((1, 16, 16), 3, [0], discriminator="multiscale", feature_matching=1.0)


def test_the_ada_probability_rises_when_the_discriminator_overfits_and_falls_when_not() -> None:
    ada = AdaptiveAugment("translation", target=0.6, speed=1000, interval=4)
    for _ in range(40):  # every real image judged real: overfitting
        ada.observe(torch.full((16,), 3.0))
    assert ada.p == pytest.approx(10 * 64 / 1000)
    for _ in range(20):  # half judged real: the discriminator is not overfitting
        ada.observe(torch.tensor([1.0, -1.0] * 8))
    assert ada.p == pytest.approx(5 * 64 / 1000)
    for _ in range(100):
        ada.observe(torch.tensor([1.0, -1.0] * 8))
    assert ada.p == 0.0  # and never below 0
    x = torch.ones(1000, 1, 8, 8)
    ada.p = 0.3
    changed = (ada(x) != x).flatten(1).any(dim=1).float().mean().item()
    assert changed == pytest.approx(0.3, abs=0.05)  # each image augmented with probability p


def test_ada_in_training_rises_on_a_fixed_set_and_is_logged_and_checkpointed(tmp_path) -> None:
    from helpers.data import make_toy_dataset

    tiny = make_toy_dataset([4, 4, 4])  # 12 images: the discriminator tells them apart at once
    kwargs = {**STYLE, "generator": "dcgan", "generator_kwargs": {"latent_dim": 8, "base_channels": 8},
              "ada": True, "ada_speed": 2000, "d_steps": 2}  # fmt: skip
    gan = train_gan(tiny, [0, 1, 2], steps=30, batch_size=12, module_kwargs=kwargs, log_dir=tmp_path / "logs",
                    trainer_kwargs={**QUIET, "log_every_n_steps": 1})  # fmt: skip
    assert gan.augment.p > 0.1
    header = (tmp_path / "logs" / "metrics.csv").read_text().splitlines()[0]
    assert "ada_p" in header
    checkpoint: dict = {}
    gan.on_save_checkpoint(checkpoint)
    fresh = ConditionalGAN(tiny.image_shape, 3, [0, 1, 2], **kwargs)
    fresh.on_load_checkpoint(checkpoint)
    assert fresh.augment.p == gan.augment.p


def test_the_metadata_records_the_techniques_and_a_file_of_one_refuses_to_load_as_another(toy_dataset, tmp_path):
    kwargs = {**STYLE, "discriminator": "multiscale", "ada": True}
    gan = train_gan(toy_dataset, [0, 1, 2], steps=2, batch_size=8, module_kwargs=kwargs, trainer_kwargs=QUIET)
    folder = export_generator(gan, tmp_path / "g", toy_dataset.class_names)
    meta = GeneratorArtifact.load(folder).meta
    assert meta["architecture"] == "style"
    assert meta["training"]["discriminator"] == "multiscale" and meta["training"]["ada"] is True
    edited = json.loads((folder / "generator.json").read_text())
    edited["architecture"] = "dcgan"
    edited["kwargs"] = {k: v for k, v in edited["kwargs"].items() if k in ("image_shape", "num_classes", "latent_dim")}
    (folder / "generator.json").write_text(json.dumps(edited))
    with pytest.raises(GanaugError, match="not this generator's weights"):
        GeneratorArtifact.load(folder)
