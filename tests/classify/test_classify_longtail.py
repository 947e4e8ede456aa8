"""The long-tail parts against hand computations: logit adjustment, LDAM, deferred re-weighting, mixup, and the
rules that compose them."""

from __future__ import annotations

import math
import re

import pytest
import pytorch_lightning as pl
import torch
from helpers.data import make_toy_dataset

from ganaug.classify.losses import ClassifierLoss, Mixup, ldam_margins
from ganaug.classify.model import CosineHead, ImageClassifier, build_classifier
from ganaug.classify.parts import PARTS, parse_strategy
from ganaug.classify.plan import plan_training
from ganaug.classify.training import fit_strategy, train_and_evaluate
from ganaug.data.dataset import DatasetSplits
from ganaug.data.imbalance import effective_number_weights
from ganaug.errors import GanaugError

LOGITS = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
LABELS = torch.tensor([0, 2])
COUNTS = [60.0, 30.0, 10.0]
FAST = {"accelerator": "cpu", "enable_progress_bar": False, "num_sanity_val_steps": 0}


def _toy_splits() -> DatasetSplits:
    """A long-tailed training split of classes 40, 20, 6 and small balanced validation and test splits."""
    train = make_toy_dataset([40, 20, 6], seed=1)
    return DatasetSplits(train, make_toy_dataset([5, 5, 5], seed=2), make_toy_dataset([8, 8, 8], seed=3))


def _cross_entropy(rows: list[list[float]], labels: list[int]) -> float:
    """Mean cross-entropy written out: -log softmax of the true class, averaged over the rows."""
    total = 0.0
    for row, y in zip(rows, labels, strict=True):
        total += -(row[y] - math.log(sum(math.exp(v) for v in row)))
    return total / len(rows)


def test_logit_adjustment_adds_tau_log_prior_before_the_cross_entropy() -> None:
    loss = ClassifierLoss()
    PARTS["la"].configure(loss, COUNTS, tau=1.5)
    prior = [n / sum(COUNTS) for n in COUNTS]
    rows = [[v + 1.5 * math.log(p) for v, p in zip(row, prior, strict=True)] for row in LOGITS.tolist()]
    assert loss(LOGITS, LABELS).item() == pytest.approx(_cross_entropy(rows, [0, 2]), rel=1e-6)
    plain = ClassifierLoss()
    PARTS["la"].configure(plain, COUNTS, tau=0.0)
    assert plain(LOGITS, LABELS).item() == pytest.approx(_cross_entropy(LOGITS.tolist(), [0, 2]), rel=1e-6)


def test_ldam_subtracts_the_true_class_margin_and_scales() -> None:
    margins = ldam_margins(COUNTS, 0.5)
    assert margins[2] == pytest.approx(0.5)  # the rarest class gets the largest margin
    assert margins[0] == pytest.approx(0.5 * (10 / 60) ** 0.25)
    loss = ClassifierLoss()
    PARTS["ldam"].configure(loss, COUNTS, max_margin=0.5, scale=10.0)
    rows = [list(r) for r in LOGITS.tolist()]
    rows[0][0] -= margins[0]
    rows[1][2] -= margins[2]
    rows = [[10.0 * v for v in row] for row in rows]
    assert loss(LOGITS, LABELS).item() == pytest.approx(_cross_entropy(rows, [0, 2]), rel=1e-6)


def test_effective_number_weights_known_values() -> None:
    # (1 - 0.99) / (1 - 0.99 ** n) for n = 60, 30, 10 is 0.018213, 0.031685, 0.086255 (sum 0.136153),
    # scaled to sum to 3.
    assert effective_number_weights(COUNTS, 0.99) == pytest.approx([0.401302, 0.698145, 1.900553], abs=1e-6)
    assert effective_number_weights([5.0, 0.0, 5.0], 0.99)[1] == 0.0


def test_drw_switches_to_deferred_weights_at_the_configured_epoch() -> None:
    loss = ClassifierLoss()
    PARTS["drw"].configure(loss, COUNTS, beta=0.99, start=0.8)
    seen = []
    for epoch in range(10):
        loss.start_epoch(epoch, 10)
        seen.append(loss.active_weights is not None)
    assert seen == [False] * 8 + [True] * 2
    weighted = loss(LOGITS, LABELS)
    w = torch.tensor(effective_number_weights(COUNTS, 0.99))
    expected = torch.nn.functional.cross_entropy(LOGITS, LABELS, weight=w)
    torch.testing.assert_close(weighted, expected)
    loss.start_epoch(3, 10)  # a loss reused from the start (a resumed fit) is plain again
    assert loss.active_weights is None


class ActiveWeights(pl.Callback):
    """Record, at each training epoch's first batch, the class weights the module's loss uses."""

    def __init__(self) -> None:
        self.seen: list[list[float] | None] = []

    def on_train_batch_start(self, trainer: pl.Trainer, module: pl.LightningModule, batch: object, index: int) -> None:
        if index == 0:
            active = module.strategy_loss.active_weights
            self.seen.append(None if active is None else active.tolist())


def test_drw_switches_inside_a_real_fit_at_its_epoch() -> None:
    splits = _toy_splits()
    seen = ActiveWeights()
    fit_strategy("drw", splits, epochs=4, batch_size=16, model_kwargs={"width": 4},
                 part_settings={"drw": {"start": 0.5, "beta": 0.99}},
                 trainer_kwargs={**FAST, "callbacks": [seen]})  # fmt: skip
    deferred = pytest.approx(effective_number_weights([40.0, 20.0, 6.0], 0.99))
    assert seen.seen[:2] == [None, None] and seen.seen[2:] == [deferred, deferred]


def test_mixup_mixes_images_and_labels_by_the_same_lambda() -> None:
    torch.manual_seed(0)
    images = torch.randn(6, 1, 4, 4)
    labels = torch.arange(6)
    synthetic = torch.tensor([False, True] * 3)
    mixed, terms = Mixup(alpha=0.4)(images, labels, synthetic)
    (lam, first, first_syn), (rest, second, second_syn) = terms
    assert 0.0 <= lam <= 1.0 and lam + rest == pytest.approx(1.0)
    assert torch.equal(first, labels) and torch.equal(first_syn, synthetic)
    order = second  # labels are their own positions, so the shuffled labels are the permutation
    torch.testing.assert_close(mixed, lam * images + (1 - lam) * images[order])
    assert torch.equal(second_syn, synthetic[order])
    with pytest.raises(GanaugError, match="alpha=0.0: must be > 0"):
        Mixup(alpha=0.0)


@pytest.mark.parametrize("alpha", [0.2, 2.0])
def test_mixup_draws_lambda_from_beta_alpha_alpha(alpha: float) -> None:
    torch.manual_seed(0)
    mix = Mixup(alpha=alpha)
    images, labels = torch.zeros(2, 1, 2, 2), torch.arange(2)
    draws = torch.tensor([mix(images, labels, None)[1][0][0] for _ in range(4000)])
    # Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)): 0.1786 at a = 0.2, 0.05 at a = 2
    assert draws.mean().item() == pytest.approx(0.5, abs=0.02)
    assert draws.var().item() == pytest.approx(1 / (4 * (2 * alpha + 1)), rel=0.08)


def test_the_classifier_trains_on_the_mixed_batch_with_the_mixed_loss() -> None:
    torch.manual_seed(0)
    model = ImageClassifier(1, 3, width=4, batch_transform=Mixup(alpha=1.0))
    images = torch.randint(0, 256, (6, 1, 8, 8), dtype=torch.uint8)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    torch.manual_seed(1)
    loss = model.training_step((images, labels), 0)
    torch.manual_seed(1)
    mixed, terms = Mixup(alpha=1.0)(images.float() / 127.5 - 1.0, labels, None)
    logits = model(mixed)
    expected = sum(share * torch.nn.functional.cross_entropy(logits, y) for share, y, _ in terms)
    torch.testing.assert_close(loss, expected)


@pytest.mark.parametrize(
    ("strategy", "names"),
    [("oversample+la", "oversample and la"), ("reweight+drw", "reweight and drw"), ("la+drw", "la and drw"),
     ("oversample+ldam+drw", "oversample and ldam and drw")],
)  # fmt: skip
def test_a_double_correction_is_refused_naming_both(strategy: str, names: str) -> None:
    with pytest.raises(GanaugError, match=re.escape(f"strategy '{strategy}' corrects the imbalance twice ({names})")):
        parse_strategy(strategy)


def test_the_standard_combinations_parse() -> None:
    assert parse_strategy("ldam+drw").corrects_in_loss
    assert parse_strategy("ldam+drw").model_kwargs == {"head": "cosine"}
    for name in ("la+classical", "mixup+drw", "gan+la+classical", "gan+mixup+drw", "gan+ldam+drw"):
        assert parse_strategy(name).name == name
    with pytest.raises(GanaugError, match="two loss parts"):
        parse_strategy("la+ldam")


def test_classical_balances_alone_and_not_beside_a_loss_correction() -> None:
    assert parse_strategy("classical").balanced and parse_strategy("mixup+classical").balanced
    assert not parse_strategy("la+classical").balanced and not parse_strategy("drw+classical").balanced
    train = make_toy_dataset([40, 20, 6])
    plan = plan_training("la+classical", train, seed=0)
    assert plan.sampler is None and plan.loss.logit_adjustment is not None


@pytest.mark.parametrize(("part", "settings", "message"), [
    ("la", {"tau": -1.0}, "tau=-1.0: must be >= 0"),
    ("drw", {"beta": 1.0}, r"beta=1.0: must lie in \[0, 1\)"),
    ("drw", {"start": 1.5}, r"start=1.5: must lie in \[0, 1\]"),
    ("ldam", {"max_margin": 0.0}, "max_margin=0.0: must be > 0"),
    ("ldam", {"scale": 0.0}, "scale=0.0: must be > 0"),
    ("la", {"taus": 1.0}, r"part_settings\['la'\] has unknown settings \['taus'\]; 'la' takes tau"),
    ("ldma", {"scale": 1.0}, "part_settings names 'ldma', which is no part with settings; use one of la, ldam"),
])  # fmt: skip
def test_bad_part_settings_are_refused_naming_the_setting(part: str, settings: dict, message: str) -> None:
    strategy = "ldam+drw" if part in ("drw", "ldam", "ldma") else part
    with pytest.raises(GanaugError, match=message):
        plan_training(strategy, make_toy_dataset([40, 20, 6]), part_settings={part: settings})


def test_ldam_trains_a_cosine_head_and_refuses_a_linear_one() -> None:
    plan = plan_training("ldam", make_toy_dataset([40, 20, 6]))
    model = build_classifier(ImageClassifier, 1, 3, plan.loss, needs=plan.model_kwargs, width=4)
    assert isinstance(model.net.head, CosineHead)
    logits = model(torch.randn(5, 1, 8, 8))
    assert logits.abs().max().item() <= 1.0 + 1e-6  # cosines; the loss scales them
    with pytest.raises(GanaugError, match="the strategy needs head='cosine' but the classifier is given head='linear'"):
        build_classifier(ImageClassifier, 1, 3, plan.loss, needs=plan.model_kwargs, width=4, head="linear")


def test_a_loss_part_corrects_for_the_epoch_it_sees_generated_samples_included(tmp_path) -> None:
    from ganaug.synth.bank import SyntheticBank

    train = make_toy_dataset([40, 20, 6])
    fake = make_toy_dataset([0, 0, 30], seed=5)
    bank = SyntheticBank.from_arrays(fake.images, fake.labels, fake.class_names, tmp_path / "bank")
    real = plan_training("la", train)
    mixed = plan_training("gan+la", train, bank=bank, synthetic_counts={2: 14}, synthetic_share=1.0)
    prior = torch.tensor([40.0, 20.0, 6.0]) / 66
    torch.testing.assert_close(real.loss.logit_adjustment, torch.log(prior))
    prior = torch.tensor([40.0, 20.0, 20.0]) / 80  # len(train) draws from the mixed set, each class as its size
    torch.testing.assert_close(mixed.loss.logit_adjustment, torch.log(prior))

    # The default cap (half of class 2's draws generated) and generated samples weighing half in the loss:
    # class 2 keeps its 20/80 of the draws, half of them real (0.125) and half generated (0.125 x 0.5).
    capped = plan_training("gan+la", train, bank=bank, synthetic_counts={2: 14}, synthetic_share=0.5,
                           synthetic_weight=0.5)  # fmt: skip
    prior = torch.tensor([0.5, 0.25, 0.1875]) / 0.9375
    torch.testing.assert_close(capped.loss.logit_adjustment, torch.log(prior))


@pytest.mark.parametrize("strategy", ["la", "la+classical", "drw", "ldam+drw", "mixup+drw", "mixup"])
def test_every_long_tail_strategy_trains(strategy: str) -> None:
    splits = _toy_splits()
    settings = {"drw": {"start": 0.5}, "ldam": {"scale": 10.0}}
    row = train_and_evaluate(strategy, splits, epochs=2, batch_size=16, model_kwargs={"width": 4},
                             part_settings=settings, trainer_kwargs=FAST)  # fmt: skip
    assert row["strategy"] == strategy and 0.0 <= row["balanced_accuracy"] <= 1.0


def test_the_validation_loss_of_ldam_is_at_the_scale_it_trains() -> None:
    plan = plan_training("ldam", make_toy_dataset([40, 20, 6]), part_settings={"ldam": {"scale": 30.0}})
    model = build_classifier(ImageClassifier, 1, 3, plan.loss, needs=plan.model_kwargs, width=4)
    logged: dict = {}
    model.log = lambda name, value, **kwargs: logged.setdefault(name, value)
    images = torch.randint(0, 256, (6, 1, 8, 8), dtype=torch.uint8)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    model.validation_step((images, labels), 0)
    expected = torch.nn.functional.cross_entropy(model(images) * 30.0, labels)
    torch.testing.assert_close(logged["val_loss"], expected)
