"""The `auto` strategy's search: which augmentation the reference classifier trains with on this data.

Candidates are scored on held-back data: by default the validation split (each candidate trained on the
whole training split `validation_runs` times with different seeds, scored on images neither the GAN nor
the classifier saw), or with `holdout="folds"` on stratified folds of the training split. `AutoSearch`
runs it in stages, one method each:
0. the baselines (classical strategies) and the probe (`gan+classical` with the largest amount) at the
   full training length and with the cheaper proxy (fewer epochs); the proxy is used for the other
   candidates only if it ranks the baselines as the full length does and measures the probe's gain as
   the full length does (`proxy_check`), otherwise every candidate trains the full length;
1. `gan+classical` with each other amount of synthetic data (a fraction of every minority class's
   target count);
2. per class, the amount whose gain in that class's recall beats its uncertainty (zero otherwise),
   as one more candidate;
3. the best `gan+classical` candidate so far with each quality-gate threshold, each loss weight of
   synthetic samples and each cap on their share of a class's draws.
The best baseline is the reference; a candidate replaces it only by beating it by more than `margin`
standard errors of the paired gain (`decision.decide`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ganaug.auto.decision import (
    Decision,
    Score,
    best_baseline,
    best_option_per_class,
    decide,
    holdout_ratio,
    mean_balanced_accuracy,
    score_candidates,
)
from ganaug.auto.proxy import MIN_BASELINES_FOR_PROXY, ProxyCheck, proxy_check
from ganaug.auto.splits import HoldoutSplit, stratified_folds
from ganaug.classify.parts import CLASSICAL_STRATEGIES, GAN_STRATEGY
from ganaug.classify.results import MetricsRow
from ganaug.classify.training import train_and_evaluate
from ganaug.data.dataset import DatasetSplits, ImageDataset
from ganaug.errors import GanaugError, at_least, between, checked_fields, each, one_of, optional
from ganaug.synth.bank import SyntheticBank
from ganaug.synth.mixing import SHARE, SYNTHETIC_SHARE

# The strategy that chooses among the others on held-back training data, then trains one.
AUTO = "auto"
HOLDOUTS = ("validation", "folds")


@dataclass(frozen=True)
class AugmentChoice:
    """What one candidate trains with: a strategy, and for gan+classical its synthetic data settings.

    `synthetic_counts[c]` samples of minority class c (0 allowed), drawn only from bank samples whose
    own-class confidence is at least `min_confidence` (None: no gate), each weighted `synthetic_weight`
    in the loss, taking at most `synthetic_share` of their class's draws.
    """

    strategy: str
    synthetic_counts: dict[int, int] = field(default_factory=dict)
    min_confidence: float | None = None
    synthetic_weight: float = 1.0
    synthetic_share: float = SYNTHETIC_SHARE

    def to_json(self) -> dict:
        """A JSON-ready form (class ids as strings, as JSON keys are)."""
        return {
            "strategy": self.strategy,
            "synthetic_counts": {str(c): n for c, n in sorted(self.synthetic_counts.items())},
            "min_confidence": self.min_confidence,
            "synthetic_weight": self.synthetic_weight,
            "synthetic_share": self.synthetic_share,
        }


@dataclass(frozen=True)
class AutoSettings:
    """The search's candidates, held-back data and decision rule (see the module docstring).

    `holdout` "validation": `validation_runs` trainings per candidate on the whole training split, scored
    on the validation split; "folds": `folds` stratified folds of the training split, `repeats` times.
    `proxy_epochs` (at most the final training's length; None: no proxy) is the candidates' training
    length when the proxy check trusts it, which needs at least three baselines.
    """

    baselines: tuple[str, ...] = field(
        default=CLASSICAL_STRATEGIES, metadata={"check": each(one_of(CLASSICAL_STRATEGIES))}
    )
    amounts: tuple[float, ...] = field(default=(0.1, 0.3, 1.0), metadata={"check": each(between(0, 1, low_open=True))})
    min_confidences: tuple[float, ...] = field(default=(0.9,), metadata={"check": each(between(0, 1))})
    synthetic_weights: tuple[float, ...] = field(default=(0.5,), metadata={"check": each(at_least(0))})
    synthetic_shares: tuple[float, ...] = field(default=(0.25,), metadata={"check": each(SHARE)})
    per_class: bool = True
    holdout: str = field(default="validation", metadata={"check": one_of(HOLDOUTS)})
    validation_runs: int = field(default=2, metadata={"check": at_least(2)})
    folds: int = field(default=3, metadata={"check": at_least(2)})
    repeats: int = field(default=1, metadata={"check": at_least(1)})
    margin: float = field(default=1.0, metadata={"check": at_least(0)})
    proxy_epochs: int | None = field(default=10, metadata={"check": optional(at_least(1))})
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.baselines:
            raise GanaugError(f"baselines=[]: name one or more of {', '.join(CLASSICAL_STRATEGIES)}")
        if not self.amounts:
            raise GanaugError("amounts=[]: give one or more fractions of the target count, each in (0, 1]")
        checked_fields(self)

    @classmethod
    def from_mapping(cls, values: Mapping, seed: int = 0) -> AutoSettings:
        """Settings from a config mapping (lists become tuples), seeded by the run's seed."""
        return cls(**{k: tuple(v) if isinstance(v, list | tuple) else v for k, v in values.items()}, seed=seed)


@dataclass
class AutoResult:
    """The decision, the per-class amounts found in stage 2, what the search cost, the candidates'
    training length, the proxy check (None when no proxy was asked for) and what was held back."""

    decision: Decision[AugmentChoice]
    per_class: dict[int, str | None]
    seconds: float
    trainings: int
    candidate_epochs: int
    proxy_check: ProxyCheck | None = None
    holdout: str = "folds"

    def to_json(self, class_names: Sequence[str], final_fit_seconds: float | None = None) -> dict:
        """The decision as JSON (`auto.json`): chosen settings per class, every candidate's score with its
        uncertainty, the search's cost (also in final trainings when `final_fit_seconds` is given)."""
        decision = self.decision
        chosen = decision.chosen_candidate
        per_class = {
            class_names[c]: {
                "class_id": c,
                "synthetic_count": chosen.synthetic_counts.get(c, 0),
                "amount_from_per_class_search": self.per_class.get(c),
            }
            for c in sorted(set(chosen.synthetic_counts) | set(self.per_class))
        }
        return {
            "reference": decision.reference,
            "chosen": decision.chosen,
            "improved": decision.improved,
            "verdict": decision.verdict,
            "margin_in_standard_errors": decision.margin,
            "chosen_settings": chosen.to_json(),
            "per_class": per_class,
            "candidates": [
                {**r.to_json(), "settings": decision.candidates[name].to_json()} for name, r in decision.results.items()
            ],
            "holdout": self.holdout,
            "splits": decision.n_splits,
            "candidate_epochs": self.candidate_epochs,
            "proxy_check": None if self.proxy_check is None else self.proxy_check.to_json(),
            "trainings": self.trainings,
            "decision_seconds": round(self.seconds, 3),
            "final_fit_seconds": final_fit_seconds,
            "decision_cost_in_final_trainings": (
                round(self.seconds / final_fit_seconds, 2) if final_fit_seconds else None
            ),
        }


def scaled_counts(targets: Mapping[int, int], fraction: float) -> dict[int, int]:
    """Each class's target count times `fraction`, rounded (at least 1 where the target is positive)."""
    return {c: max(1, round(n * fraction)) if n > 0 else 0 for c, n in targets.items()}


_CONFIDENCES = "ganaug.quality.gate.own_class_confidence(bank.images, bank.labels, extractor)"


class GatedBanks:
    """A bank and its samples' own-class confidences (optional), serving the bank restricted to samples
    whose confidence reaches a threshold; each threshold's bank (an in-memory copy of the survivors) is
    built once and kept."""

    def __init__(self, bank: SyntheticBank, confidences: np.ndarray | None = None) -> None:
        if confidences is not None and len(confidences) != len(bank):
            raise GanaugError(
                f"{len(confidences)} confidences for a bank of {len(bank)} samples; compute one per sample with "
                f"{_CONFIDENCES}"
            )
        self.bank = bank
        self.confidences = confidences
        self._gated: dict[float, SyntheticBank] = {}

    def __call__(self, min_confidence: float | None) -> SyntheticBank:
        """The bank itself for None, else its samples with own-class confidence >= `min_confidence`."""
        if min_confidence is None:
            return self.bank
        if self.confidences is None:
            raise GanaugError(
                "a gated candidate needs the bank samples' own-class confidences; pass them to GatedBanks "
                f"({_CONFIDENCES})"
            )
        if min_confidence not in self._gated:
            self._gated[min_confidence] = self.bank.subset(np.flatnonzero(self.confidences >= min_confidence))
        return self._gated[min_confidence]


def fit_choice(
    choice: AugmentChoice, splits: DatasetSplits, banks: GatedBanks | None, **train_kwargs: Any
) -> MetricsRow:
    """Train and score the classifier with `choice` (train_and_evaluate's metrics row).

    Counts above what the (gated) bank holds for a class are capped to it. `train_kwargs` go to
    train_and_evaluate (classical, seed, epochs, batch_size, model, model_kwargs, trainer_kwargs); the
    choice's own synthetic weight and share replace any given there.
    """
    kwargs = {k: v for k, v in train_kwargs.items() if k not in ("synthetic_share", "synthetic_weight")}
    if choice.strategy != GAN_STRATEGY:
        return train_and_evaluate(choice.strategy, splits, **kwargs)
    if banks is None:
        raise GanaugError(f"a {GAN_STRATEGY} candidate needs the synthetic bank; generate one first")
    source = banks(choice.min_confidence)
    held = source.counts()
    counts = {c: min(n, held[c]) for c, n in choice.synthetic_counts.items()}
    return train_and_evaluate(
        GAN_STRATEGY,
        splits,
        bank=source,
        synthetic_counts=counts,
        synthetic_share=choice.synthetic_share,
        synthetic_weight=choice.synthetic_weight,
        **kwargs,
    )


class CandidateTrainer:
    """Trains candidates on the held-back splits and counts the trainings; `epochs` is the current length."""

    def __init__(
        self,
        train: ImageDataset,
        banks: GatedBanks,
        splits: Sequence[HoldoutSplit],
        val: ImageDataset | None,
        epochs: int,
        progress: Callable[[str], None] | None,
        train_kwargs: Mapping[str, Any],
    ) -> None:
        self.train = train
        self.banks = banks
        self.splits = list(splits)
        self.on_validation = val is not None
        self.validation_data = None if val is None else DatasetSplits(train, train.subset([]), val)
        self.epochs = epochs
        self.progress = progress
        self.train_kwargs = dict(train_kwargs)
        self.trainings = 0

    def score(self, candidates: Mapping[str, AugmentChoice]) -> dict[str, list[Score]]:
        """Every candidate's score on every split, at the current length."""
        return score_candidates(candidates, lambda choice, split: self._score(candidates, choice, split), self.splits)

    def _score(self, candidates: Mapping[str, AugmentChoice], choice: AugmentChoice, split: HoldoutSplit) -> Score:
        self.trainings += 1
        if self.progress is not None:
            name = next(n for n, c in candidates.items() if c == choice)
            self.progress(f"auto: {name}, split {split.index + 1}/{len(self.splits)}, {self.epochs} epochs")
        kwargs = dict(self.train_kwargs)
        if self.validation_data is not None:
            kwargs["seed"] = kwargs.get("seed", 0) * 1000 + split.index + 1
            data = self.validation_data
        else:
            data = DatasetSplits(self.train.subset(split.fit), self.train.subset([]), self.train.subset(split.holdout))
        row = fit_choice(choice, data, self.banks, epochs=self.epochs, **kwargs)
        return Score(row["balanced_accuracy"], tuple(row["per_class_recall"]))


def _validation_runs(train: ImageDataset, val: ImageDataset | None, runs: int) -> list[HoldoutSplit]:
    """The validation mode's splits: `runs` trainings on the whole training split (scored on `val`)."""
    if val is None or len(val) == 0:
        raise GanaugError(
            "holdout 'validation' needs a validation split; give val (a data source with validation images) "
            "or use holdout='folds'"
        )
    everything = np.arange(len(train))
    return [HoldoutSplit(r, everything, np.zeros(0, dtype=np.int64)) for r in range(runs)]


class AutoSearch:
    """The staged search of the module docstring: one method per stage, then `result`.

    `train_kwargs` go to train_and_evaluate. The gan+classical candidates start from `synthetic_share` (in
    `train_kwargs`: the run's `augment.synthetic_share`, default SYNTHETIC_SHARE); stage 3 tries
    `settings.synthetic_shares` on the best of them. `targets` are the minority classes' full synthetic
    counts (the bank holds at least these, unless a gate left a class short).
    """

    def __init__(
        self,
        train: ImageDataset,
        banks: GatedBanks,
        targets: Mapping[int, int],
        settings: AutoSettings,
        *,
        val: ImageDataset | None = None,
        epochs: int = 30,
        progress: Callable[[str], None] | None = None,
        train_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if settings.min_confidences and banks.confidences is None:
            raise GanaugError(
                f"min_confidences need the bank samples' own-class confidences; pass them to GatedBanks "
                f"({_CONFIDENCES}) or set min_confidences to ()"
            )
        self.settings = settings
        self.targets = dict(targets)
        self.epochs = epochs
        kwargs = dict(train_kwargs or {})
        self.share = kwargs.pop("synthetic_share", SYNTHETIC_SHARE)
        self.holdout = settings.holdout
        if settings.holdout == "validation":
            splits = _validation_runs(train, val, settings.validation_runs)
            self.ratio, self.held_counts = 0.0, val.counts()  # type: ignore[union-attr]
        else:
            splits = stratified_folds(train.labels, settings.folds, settings.repeats, settings.seed)
            self.ratio, self.held_counts = holdout_ratio(splits), None
            val = None
        self.trainer = CandidateTrainer(train, banks, splits, val, epochs, progress, kwargs)
        self.amounts = {
            f"{GAN_STRATEGY} {a * 100:g}%": AugmentChoice(
                GAN_STRATEGY, scaled_counts(targets, a), synthetic_share=self.share
            )
            for a in settings.amounts
        }
        self.probe = f"{GAN_STRATEGY} {max(settings.amounts) * 100:g}%"
        self.candidates: dict[str, AugmentChoice] = {name: AugmentChoice(name) for name in settings.baselines}
        self.candidates[self.probe] = self.amounts[self.probe]
        self.scores: dict[str, list[Score]] = {}
        self.check: ProxyCheck | None = None
        self.per_class: dict[int, str | None] = {}
        self.reference = ""

    def _add(self, new: Mapping[str, AugmentChoice]) -> None:
        """Score the candidates not seen yet (by name or by settings)."""
        fresh = {k: v for k, v in new.items() if k not in self.candidates and v not in self.candidates.values()}
        self.candidates.update(fresh)
        self.scores.update(self.trainer.score(fresh))

    def baselines_and_probe(self) -> None:
        """Stage 0: the baselines and the probe at the full length, and with the proxy where it can be checked."""
        self.scores = self.trainer.score(self.candidates)
        settings = self.settings
        proxy = min(settings.proxy_epochs or self.epochs, self.epochs)
        if proxy < self.epochs and len(settings.baselines) >= MIN_BASELINES_FOR_PROXY:
            self.trainer.epochs = proxy
            proxy_scores = self.trainer.score(self.candidates)
            self.check = proxy_check(
                proxy_scores, self.scores, proxy, self.epochs, settings.baselines, self.probe, settings.margin,
                self.ratio, self.held_counts,
            )  # fmt: skip
            if self.check.trusted:
                self.scores = proxy_scores
            else:
                self.trainer.epochs = self.epochs
        self.reference = best_baseline(self.scores, settings.baselines)

    def other_amounts(self) -> None:
        """Stage 1: gan+classical with each other amount (amounts giving equal counts are merged)."""
        self._add(self.amounts)
        self.amounts = {name: choice for name, choice in self.amounts.items() if name in self.candidates}

    def amount_per_class(self) -> None:
        """Stage 2: per class, the amount whose gain in its recall beats its uncertainty, as one candidate."""
        if not self.settings.per_class:
            return
        self.per_class = best_option_per_class(
            self.scores, self.reference, list(self.amounts), sorted(self.targets), self.settings.margin, self.ratio,
            self.held_counts,
        )  # fmt: skip
        counts = {c: self.amounts[name].synthetic_counts[c] if name else 0 for c, name in self.per_class.items()}
        if any(counts.values()):
            self._add({f"{GAN_STRATEGY} per class": AugmentChoice(GAN_STRATEGY, counts, synthetic_share=self.share)})

    def variants(self) -> None:
        """Stage 3: the best gan+classical candidate with each gate threshold, loss weight and share cap."""
        gan_names = [name for name, c in self.candidates.items() if c.strategy == GAN_STRATEGY]
        best_name = max(gan_names, key=lambda name: mean_balanced_accuracy(self.scores[name]))
        best = self.candidates[best_name]
        s = self.settings
        variants = {f"{best_name} gate {t:g}": replace(best, min_confidence=t) for t in s.min_confidences}
        variants.update({f"{best_name} weight {w:g}": replace(best, synthetic_weight=w) for w in s.synthetic_weights})
        variants.update({f"{best_name} share {x:g}": replace(best, synthetic_share=x) for x in s.synthetic_shares})
        self._add(variants)

    def result(self, seconds: float) -> AutoResult:
        """The decision over every candidate scored, and what the search cost."""
        s = self.settings
        decision = decide(self.scores, self.candidates, s.baselines, s.margin, self.ratio, self.held_counts)
        return AutoResult(
            decision, self.per_class, seconds, self.trainer.trainings, self.trainer.epochs, self.check, self.holdout
        )

    def run(self) -> AutoResult:
        """Every stage in order, then the decision."""
        start = time.perf_counter()
        self.baselines_and_probe()
        self.other_amounts()
        self.amount_per_class()
        self.variants()
        return self.result(time.perf_counter() - start)


def auto_search(
    train: ImageDataset,
    banks: GatedBanks,
    targets: Mapping[int, int],
    *,
    settings: AutoSettings = AutoSettings(),
    val: ImageDataset | None = None,
    epochs: int = 30,
    progress: Callable[[str], None] | None = None,
    **train_kwargs: Any,
) -> AutoResult:
    """Run the staged search on `train` and decide; `train_kwargs` go to train_and_evaluate.

    With `settings.holdout` "validation", candidates train on all of `train` and are scored on `val`;
    run r of every candidate trains with the same seed (the run's seed * 1000 + r + 1), so gains pair up.
    """
    search = AutoSearch(
        train, banks, targets, settings, val=val, epochs=epochs, progress=progress, train_kwargs=train_kwargs
    )
    return search.run()
