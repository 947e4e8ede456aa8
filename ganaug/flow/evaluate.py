"""Training the classifier under every configured strategy and scoring it on the test split; `auto` too."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from ganaug.auto.search import AUTO, AutoResult, AutoSettings, GatedBanks, auto_search, final_row
from ganaug.classify.model import unmet_needs
from ganaug.classify.parts import is_synthetic, parse_strategy
from ganaug.classify.results import MetricsRow
from ganaug.classify.training import train_and_evaluate
from ganaug.errors import GanaugError
from ganaug.fileio import prune_empty
from ganaug.flow.context import Flow
from ganaug.flow.settings import ClassifierRecipe, classifier_recipe, section
from ganaug.quality.gate import own_class_confidence

log = logging.getLogger("ganaug")


@dataclass
class AutoOutcome:
    """The `auto` strategy's search, the final training's seconds (its cost is measured against them) and
    the decision's record (`auto.json`)."""

    result: AutoResult
    final_fit_seconds: float
    record: dict


@dataclass
class Evaluation:
    """The metrics rows of a run, and the `auto` strategy's outcome when it ran."""

    rows: list[MetricsRow] = field(default_factory=list)
    auto: AutoOutcome | None = None


def trainable(strategies: Iterable[str], recipe: ClassifierRecipe) -> list[str]:
    """The strategies the recipe's classifier can train: one whose parts need a constructor argument it does
    not take (ldam: head="cosine") is left out with a warning that names the fix."""
    kept = []
    for strategy in strategies:
        needs = {} if strategy == AUTO else parse_strategy(strategy).model_kwargs
        unmet = unmet_needs(recipe.model, needs)
        if unmet:
            log.warning(
                "strategy %s left out: it needs the classifier's constructor to take %s, which it does not; add "
                "it (head: 'linear' or 'cosine', with ganaug.classify.model.CosineHead) to compare it",
                strategy, ", ".join(f"{k}={needs[k]!r}" for k in unmet),
            )  # fmt: skip
            continue
        kept.append(strategy)
    return kept


def run_auto(flow: Flow, recipe: ClassifierRecipe, targets: dict[int, int]) -> tuple[MetricsRow, AutoOutcome]:
    """Race the candidates on held-back data (the validation split or folds) and score the choice on the test
    split (its final-length run on the validation split is the final model)."""
    cfg, prepared = flow.cfg, flow.prepared
    settings = AutoSettings.from_mapping(section(cfg, "augment.auto"), seed=cfg.seed)
    settings = dataclasses.replace(settings, baselines=tuple(trainable(settings.baselines, recipe)))
    banks = {}
    for step, bank in flow.snapshot_banks().items():
        confidences = (
            own_class_confidence(bank.images, bank.labels, flow.extractor) if settings.min_confidences else None
        )
        banks[step] = GatedBanks(bank, confidences)
    kwargs = recipe.kwargs()
    epochs = kwargs.pop("epochs")
    result = auto_search(prepared.splits, banks, targets, settings=settings, epochs=epochs, progress=log.info, **kwargs)
    choice = result.decision.chosen_candidate
    log.info("auto: %s", result.decision.verdict)
    row = final_row(result, prepared.splits, banks, epochs=epochs, **kwargs)
    record = result.to_json(prepared.splits.train.class_names, row["fit_seconds"])
    outcome = AutoOutcome(result, row["fit_seconds"], record)
    summary = {k: record[k] for k in ("chosen", "reference", "improved", "decision_seconds")}
    return {**row, "strategy": AUTO, "auto": {**summary, "settings": choice.to_json()}}, outcome


def evaluate(flow: Flow) -> Evaluation:
    """Train the classifier under every configured strategy and measure it on the test split."""
    cfg, prepared = flow.cfg, flow.prepared
    recipe = classifier_recipe(cfg, prepared.splits.train.image_shape)
    bank = flow.bank if flow.needs_gan else None
    # the quality gate may leave a class short of its target: use what the bank holds
    held = bank.counts() if bank is not None else []
    synthetic_counts = {c: min(n, held[c]) for c, n in prepared.targets.items()} if bank is not None else None
    out = Evaluation()
    strategies = trainable(cfg.augment.strategies, recipe)
    if not strategies:
        raise GanaugError(
            f"the classifier can train none of augment.strategies ({', '.join(cfg.augment.strategies)}); "
            "add the strategies' constructor arguments to it, or pick strategies it can train"
        )
    for strategy in strategies:
        log.info("strategy %s, seed %d: training the classifier", strategy, cfg.seed)
        if strategy == AUTO:
            row, out.auto = run_auto(flow, recipe, synthetic_counts or {})
        else:
            synthetic = is_synthetic(strategy)
            row = train_and_evaluate(
                strategy,
                prepared.splits,
                bank=bank if synthetic else None,
                synthetic_counts=synthetic_counts if synthetic else None,
                checkpoint_dir=recipe.checkpoints(strategy),
                **recipe.kwargs(),
            )
        out.rows.append(row)
    if recipe.checkpoint_dir is not None:
        for strategy in strategies:
            prune_empty(recipe.checkpoints(strategy), recipe.checkpoint_dir)
    return out
