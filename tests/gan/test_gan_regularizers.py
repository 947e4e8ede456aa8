"""LeCam's penalty and group spectral regularisation against hand computations, and in a training run."""

from __future__ import annotations

import pytest
import torch
from helpers.data import make_toy_dataset

from ganaug.data.imbalance import effective_number_weights
from ganaug.errors import GanaugError
from ganaug.gan.generators import ConditionalBatchNorm2d
from ganaug.gan.module import ConditionalGAN
from ganaug.gan.regularizers import LeCamAnchors, conditional_norms, group_shape, group_spectral_penalty
from ganaug.gan.training import train_gan

RESNET = {"generator": "resnet", "generator_kwargs": {"base_channels": 8}, "discriminator_kwargs": {"base_channels": 8}}
QUIET = {"enable_progress_bar": False, "accelerator": "cpu"}


def test_lecam_anchors_follow_the_mean_outputs_and_the_penalty_is_the_hand_computed_one() -> None:
    anchors = LeCamAnchors(decay=0.9)
    anchors.update(torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 1.0]))  # the first batch sets them: 1 and 0
    assert (anchors.real.item(), anchors.fake.item()) == (1.0, 0.0)
    # relu(real - 0)^2 = [4, 0] and relu(1 - fake)^2 = [4, 0]: means 2 + 2
    assert anchors.penalty(torch.tensor([2.0, -3.0]), torch.tensor([-1.0, 5.0])).item() == pytest.approx(4.0)
    anchors.update(torch.tensor([4.0, 4.0]), torch.tensor([-2.0, -2.0]))  # 0.9 * old + 0.1 * mean
    assert anchors.real.item() == pytest.approx(1.3) and anchors.fake.item() == pytest.approx(-0.2)
    # relu(0.3 + 0.2)^2 + relu(1.3 - 0.5)^2
    assert anchors.penalty(torch.tensor([0.3]), torch.tensor([0.5])).item() == pytest.approx(0.25 + 0.64)
    assert set(anchors.state_dict()) == {"real", "fake", "started"}


def test_lecam_anchors_keep_float32_steps_in_a_half_precision_module() -> None:
    anchors = LeCamAnchors().to(torch.bfloat16)  # as precision="bf16-true" casts the module
    anchors.update(torch.tensor([1.0]), torch.tensor([-1.0]))
    for _ in range(50):
        anchors.update(torch.tensor([1.3]), torch.tensor([-1.3]))
    # 1 + 0.3 * (1 - 0.99 ** 50), which a bf16 anchor (steps of 1/128 near 1) would never leave 1.0 for
    assert anchors.real.dtype == torch.float32 and anchors.real.item() == pytest.approx(1.1185, abs=1e-4)


@pytest.mark.parametrize(("channels", "shape"), [(16, (4, 4)), (32, (4, 8)), (64, (8, 8)), (12, (3, 4)), (7, (1, 7))])
def test_a_class_vector_folds_into_a_near_square_matrix(channels: int, shape: tuple[int, int]) -> None:
    assert group_shape(channels) == shape


def test_group_spectral_penalty_against_a_hand_computation() -> None:
    norm = ConditionalBatchNorm2d(4, 2)
    with torch.no_grad():
        norm.gain.weight.copy_(torch.tensor([[3.0, 0.0, 0.0, 4.0], [1.0, 1.0, 1.0, 1.0]]))
        norm.bias.weight.copy_(torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]]))
    # gains: [[3, 0], [0, 4]] -> sigma 4, [[1, 1], [1, 1]] -> 2; biases: 0 and [[0, 0], [0, 2]] -> 2
    weights = torch.tensor([0.25, 0.75])
    assert group_spectral_penalty([norm], weights).item() == pytest.approx(0.25 * 16 + 0.75 * (4 + 4))
    assert group_spectral_penalty([norm, norm], weights).item() == pytest.approx(10.0)  # the mean over norms


def test_gsr_weighs_rare_classes_more_and_pulls_hardest_on_them() -> None:
    gan = ConditionalGAN((1, 8, 8), 3, [0, 1], **RESNET, gsr_weight=0.5)
    gan.use_class_counts([100, 5, 0])
    expected = torch.tensor(effective_number_weights([100, 5, 0], 0.999))
    assert torch.allclose(gan.gsr_class_weights, expected / expected.sum())
    assert gan.gsr_class_weights.sum().item() == pytest.approx(1.0)
    assert gan.gsr_class_weights[1] > 10 * gan.gsr_class_weights[0] and gan.gsr_class_weights[2] == 0
    norms = conditional_norms(gan.generator)
    assert norms == gan.gsr_norms and len(norms) == 2 * len(gan.generator.blocks)
    with torch.no_grad():
        for norm in norms:
            norm.gain.weight.fill_(0.5)  # every class alike: only the weights tell them apart
    group_spectral_penalty(norms, gan.gsr_class_weights).backward()
    grad = norms[0].gain.weight.grad
    assert grad[1].norm() > 10 * grad[0].norm() and grad[2].abs().sum() == 0


def test_gsr_class_weights_at_another_beta_are_the_hand_computed_ones() -> None:
    gan = ConditionalGAN((1, 8, 8), 3, [0, 1], **RESNET, gsr_weight=0.5, gsr_beta=0.9)
    gan.use_class_counts([100, 5, 0])  # 1 / effective number: 0.1 / (1 - 0.9^100) and 0.1 / (1 - 0.9^5), to sum 1
    assert gan.gsr_class_weights.tolist() == pytest.approx([0.290539, 0.709461, 0.0], abs=1e-6)


def test_each_penalty_enters_its_network_s_loss_at_its_weight() -> None:
    torch.manual_seed(0)
    gan = ConditionalGAN((1, 8, 8), 2, [0, 1], **RESNET, lecam_weight=0.3, gsr_weight=0.5)
    gan.use_class_counts([10, 3])
    with torch.no_grad():
        for norm in gan.gsr_norms:
            norm.gain.weight.normal_()  # away from their zero start, where gSR is 0
    losses: list[torch.Tensor] = []
    optimiser = torch.optim.SGD(gan.parameters(), lr=0.0)
    gan.optimizers = lambda: (optimiser, optimiser)
    gan.manual_backward = lambda loss: (losses.append(loss), loss.backward())
    real, labels = torch.rand(8, 1, 8, 8) * 2 - 1, torch.tensor([0, 1] * 4)
    d = gan._discriminator_step(real, labels)
    g = gan._generator_step(real, labels)
    assert d["lecam"].item() > 0 and d["lecam"].requires_grad and g["gsr"].item() > 0 and g["gsr"].requires_grad
    assert losses[0].item() == pytest.approx((d["d_loss"] + 0.3 * d["lecam"]).item())
    assert losses[1].item() == pytest.approx((g["g_loss"] + 0.5 * g["gsr"]).item())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"generator": "dcgan", "gsr_weight": 0.5}, "'dcgan' has none; use generator=resnet or gsr_weight=0"),
        ({**RESNET, "lecam_weight": -1.0}, "lecam_weight"),
        ({**RESNET, "gsr_beta": 1.0}, "gsr_beta"),
    ],
)
def test_bad_regulariser_settings_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(GanaugError, match=match):
        ConditionalGAN((1, 8, 8), 2, [0, 1], **kwargs)


def test_gsr_needs_one_count_per_class_before_it_trains() -> None:
    gan = ConditionalGAN((1, 8, 8), 3, [0, 1], **RESNET, gsr_weight=0.5)
    with pytest.raises(GanaugError, match="call use_class_counts"):
        gan.on_fit_start()
    with pytest.raises(GanaugError, match="2 class counts given for a GAN with 3 classes"):
        gan.use_class_counts([10, 2])


def test_a_regularised_run_logs_both_penalties_and_gsr_keeps_the_rare_class_small() -> None:
    data = make_toy_dataset([60, 6], shape=(1, 8, 8))
    settings = {"steps": 30, "batch_size": 16, "seed": 0, "trainer_kwargs": QUIET}
    plain = train_gan(data, [0, 1], module_kwargs={**RESNET, "diffaugment": "translation"}, **settings)
    strong = train_gan(data, [0, 1], module_kwargs={**RESNET, "diffaugment": "translation", "lecam_weight": 0.3,
                                                    "gsr_weight": 50.0}, **settings)  # fmt: skip
    assert "lecam" not in plain.step_stats and "gsr" not in plain.step_stats
    assert torch.isfinite(strong.step_stats["lecam"]) and torch.isfinite(strong.step_stats["gsr"])
    assert {"lecam.real", "lecam.fake", "lecam.started"} <= strong.state_dict().keys()
    assert not any(k.startswith("lecam") for k in plain.state_dict())

    def rare_sigma(gan: ConditionalGAN) -> float:
        rare = torch.tensor([0.0, 1.0])  # the penalty of class 1 alone
        return group_spectral_penalty(conditional_norms(gan.generator), rare).item()

    assert rare_sigma(strong) < 0.5 * rare_sigma(plain)
