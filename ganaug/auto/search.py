"""The `auto` strategy's search: which strategy the classifier trains with, and whether generated data helps.

The race (`race.Race`) has two legs. First the baselines (strategies without generated data) race through
the short rungs within their families, and each family's best trains the full length once; the best of
those is the reference. Then the GAN candidates built on the reference race against it: each is the
reference's recipe plus generated samples (`gan+la+classical` when `la+classical` is the reference), with
each amount of synthetic data and each snapshot of the GAN run (its length, chosen on validation).
Candidates are scored on held-back data: by default the validation split (training on the whole training
split, scored on images neither the GAN nor the classifier saw), or with `holdout="folds"` on stratified
folds of the training split. The last rung trains the reference and the best GAN candidate at the final
length on every split; the GAN candidate is used only when its paired gain beats the reference by more than
`margin` standard errors. A run is trained once: the reference's first full-length run serves both legs.

On the validation split, the chosen candidate's first full-length run is the final model: it trains
exactly as the final training would (the whole training split, the run's seed), so it is not trained twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ganaug.auto.decision import Decision, Noise, Score, best_option_per_class, decide, holdout_ratio
from ganaug.auto.parallel import FitPool
from ganaug.auto.race import Race, Rung
from ganaug.auto.splits import HoldoutSplit, stratified_folds
from ganaug.classify.metrics import evaluate
from ganaug.classify.parts import CLASSICAL_STRATEGIES, parse_strategy
from ganaug.classify.results import MetricsRow
from ganaug.classify.training import FitResult, fit_strategy
from ganaug.data.dataset import DatasetSplits, ImageDataset
from ganaug.errors import Constraint, GanaugError, at_least, between, checked_fields, constraints_of, each, one_of
from ganaug.progress import bar
from ganaug.synth.bank import SyntheticBank
from ganaug.synth.mixing import SHARE, SYNTHETIC_SHARE

# The strategy that chooses among the others on held-back training data, then trains one.
AUTO = "auto"
HOLDOUTS = ("validation", "folds")
# The baselines auto races by default, in two families (`race.Race`): the classical strategies, which
# rebalance from the first batch or not at all, and the long-tail field's loss fixes with plain sampling and
# the classical augmentation. At a fifth of the epochs the first family led the second by 5 to 30 points on
# every MNIST-LT auto job, and at full length the order reversed (benchmarks/results/README.md), so each
# family's best trains the full length before one of them becomes the reference.
LONG_TAIL_BASELINES = ("la+classical", "ldam+drw+classical", "mixup+drw+classical")
BASELINES = (*CLASSICAL_STRATEGIES, *LONG_TAIL_BASELINES)
FAMILIES = (CLASSICAL_STRATEGIES, LONG_TAIL_BASELINES)
_RUN_SEED_STRIDE = 1000  # run r of a candidate trains with the run's seed + r * 1000

# A known strategy without generated data (an unknown name is refused as parse_strategy refuses it).
BASELINE = Constraint(
    lambda strategy: not parse_strategy(strategy).synthetic,
    "a baseline is a strategy without generated data (e.g. la+classical)",
)


@dataclass(frozen=True)
class AugmentChoice:
    """What one candidate trains with: a strategy, and for a strategy with generated data its settings.

    `synthetic_counts[c]` samples of minority class c (0 allowed) from the bank of GAN snapshot `snapshot`
    (its generator step; None: the run's final generator), drawn only from samples whose own-class
    confidence is at least `min_confidence` (None: no gate), each weighted `synthetic_weight` in the loss,
    taking at most `synthetic_share` of their class's draws.
    """

    strategy: str
    synthetic_counts: dict[int, int] = field(default_factory=dict)
    snapshot: int | None = None
    min_confidence: float | None = None
    synthetic_weight: float = 1.0
    synthetic_share: float = SYNTHETIC_SHARE

    def to_json(self) -> dict:
        """A JSON-ready form (class ids as strings, as JSON keys are)."""
        return {
            "strategy": self.strategy,
            "synthetic_counts": {str(c): n for c, n in sorted(self.synthetic_counts.items())},
            "snapshot": self.snapshot,
            "min_confidence": self.min_confidence,
            "synthetic_weight": self.synthetic_weight,
            "synthetic_share": self.synthetic_share,
        }


def _tuples(value: Any) -> Any:
    """A config value with its lists (nested ones too) as tuples."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list | tuple) else value


@dataclass(frozen=True)
class AutoSettings:
    """The race's candidates, rungs, held-back data and decision rule (see the module docstring).

    `families`: groups of baselines compared with each other on the short rungs (`race.Race`; baselines in
    no family form one more); each family's best trains the full length before the reference is chosen.
    `amounts`: fractions of every minority class's target count tried in the GAN candidates;
    `synthetic_shares`, `min_confidences`, `synthetic_weights`: variants of the best GAN candidate (share
    caps, quality-gate thresholds, loss weights) added at the first rung; `per_class`: a candidate
    with, per class, the amount whose gain in that class's recall beats its uncertainty. `rungs`: the
    rungs' training lengths as fractions of the final training's epochs (the last one 1); `keep`: each
    rung promotes the best 1/keep of each group. `holdout` "validation": `validation_runs` paired runs at
    the last rung, on the whole training split, scored on the validation split; "folds": `folds`
    stratified folds of the training split, `repeats` times, at every rung. `workers`: candidates trained at
    once, each in its own process (`ganaug.auto.parallel`; the decision is the one of a fit at a time).
    """

    baselines: tuple[str, ...] = field(default=BASELINES, metadata={"check": each(BASELINE)})
    families: tuple[tuple[str, ...], ...] = field(default=FAMILIES, metadata={"check": each(each(BASELINE))})
    amounts: tuple[float, ...] = field(default=(1.0,), metadata={"check": each(between(0, 1, low_open=True))})
    synthetic_shares: tuple[float, ...] = field(default=(), metadata={"check": each(SHARE)})
    min_confidences: tuple[float, ...] = field(default=(), metadata={"check": each(between(0, 1))})
    synthetic_weights: tuple[float, ...] = field(default=(), metadata={"check": each(at_least(0))})
    per_class: bool = False
    # A first rung of 0.13 of the epochs (4 of 30): with the families' leaders at full length, a first rung of
    # 0.2 cost 5.6 to 6.7 final trainings on MNIST-LT (benchmarks/results/README.md, mnist_lt_all_cpu), above
    # the budget of 6; ten short fits at 0.13 and four full ones make 5.3 before each fit's fixed costs, and
    # measured 4.9 to 5.7.
    rungs: tuple[float, ...] = field(default=(0.13, 1.0), metadata={"check": each(between(0, 1, low_open=True))})
    keep: int = field(default=Race.keep, metadata={"check": constraints_of(Race)["keep"]})
    holdout: str = field(default="validation", metadata={"check": one_of(HOLDOUTS)})
    validation_runs: int = field(default=2, metadata={"check": at_least(2)})
    folds: int = field(default=3, metadata={"check": constraints_of(stratified_folds)["n_folds"]})
    repeats: int = field(default=1, metadata={"check": constraints_of(stratified_folds)["repeats"]})
    margin: float = field(default=1.0, metadata={"check": constraints_of(decide)["margin"]})
    workers: int = field(default=1, metadata={"check": constraints_of(FitPool)["workers"]})
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.baselines:
            raise GanaugError("baselines=(): name one or more strategies without generated data (e.g. classical)")
        named = [n for family in self.families for n in family]
        if len(named) != len(set(named)):
            twice = sorted({n for n in named if named.count(n) > 1})
            listed = [list(family) for family in self.families]
            raise GanaugError(f"families={listed}: {twice} in more than one family; put each baseline in one family")
        if not self.amounts:
            raise GanaugError("amounts=(): give one or more fractions of the target count, each in (0, 1]")
        if not self.rungs or self.rungs[-1] != 1.0 or list(self.rungs) != sorted(set(self.rungs)):
            raise GanaugError(f"rungs={list(self.rungs)}: increasing fractions of the epochs, the last one 1.0")
        checked_fields(self)

    @classmethod
    def from_mapping(cls, values: Mapping, seed: int = 0) -> AutoSettings:
        """Settings from a config mapping (lists become tuples), seeded by the run's seed."""
        return cls(**{k: _tuples(v) for k, v in values.items()}, seed=seed)

    def budgets(self, epochs: int) -> list[int]:
        """The rungs' training lengths in epochs, for a final training of `epochs`."""
        return sorted({max(1, round(f * epochs)) for f in self.rungs})


@dataclass
class AutoResult:
    """The decision, the race's rungs, what it cost, the snapshots raced and what was held back; `final`
    is the chosen candidate's full-length run when it is the final model (validation split)."""

    decision: Decision[AugmentChoice]
    rungs: list[Rung]
    seconds: float
    trainings: int
    snapshots: list[int | None]
    holdout: str = "validation"
    final: FitResult | None = None

    @property
    def candidate_epochs(self) -> list[int]:
        """The training length of each rung."""
        return [r.epochs for r in self.rungs]

    def to_json(self, class_names: Sequence[str], final_fit_seconds: float | None = None) -> dict:
        """The decision as JSON (`auto.json`): the chosen settings per class, every candidate's scores with
        their uncertainty rung by rung, the chosen snapshot, and the search's cost (also in final trainings
        when `final_fit_seconds` is given: the time of every training but the final model's own)."""
        decision = self.decision
        chosen = decision.chosen_candidate
        per_class = {
            class_names[c]: {"class_id": c, "synthetic_count": n} for c, n in sorted(chosen.synthetic_counts.items())
        }
        return {
            "reference": decision.reference,
            "chosen": decision.chosen,
            "improved": decision.improved,
            "verdict": decision.verdict,
            "margin_in_standard_errors": decision.margin,
            "chosen_settings": chosen.to_json(),
            "chosen_snapshot": chosen.snapshot,
            "snapshots": self.snapshots,
            "per_class": per_class,
            "candidates": [
                {**r.to_json(), "settings": decision.candidates[name].to_json()} for name, r in decision.results.items()
            ],
            "rungs": [r.to_json() for r in self.rungs],
            "holdout": self.holdout,
            "splits": decision.n_splits,
            "candidate_epochs": self.candidate_epochs,
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


# The banks a search draws from: one per GAN snapshot (key: its generator step; None: the final generator).
Banks = Mapping[int | None, GatedBanks]


def choice_kwargs(choice: AugmentChoice, banks: Banks | None) -> dict[str, Any]:
    """fit_strategy's synthetic-data keywords for `choice` (counts above what the bank holds are capped)."""
    if not parse_strategy(choice.strategy).synthetic:
        return {}
    if not banks or choice.snapshot not in banks:
        raise GanaugError(
            f"candidate '{choice.strategy}' needs the bank of GAN snapshot {choice.snapshot}; generate it first"
        )
    source = banks[choice.snapshot](choice.min_confidence)
    held = source.counts()
    return {
        "bank": source,
        "synthetic_counts": {c: min(n, held[c]) for c, n in choice.synthetic_counts.items()},
        "synthetic_share": choice.synthetic_share,
        "synthetic_weight": choice.synthetic_weight,
    }


def fit_choice(choice: AugmentChoice, splits: DatasetSplits, banks: Banks | None, **train_kwargs: Any) -> FitResult:
    """Train the classifier with `choice` on splits.train; `train_kwargs` go to fit_strategy (classical,
    seed, epochs, batch_size, model, model_kwargs, part_settings, trainer_kwargs); the choice's own
    synthetic weight and share replace any given there. The fit is named `auto/<strategy>/seed<seed>`."""
    kwargs = {k: v for k, v in train_kwargs.items() if k not in ("synthetic_share", "synthetic_weight")}
    kwargs.setdefault("name", f"auto/{choice.strategy}/seed{kwargs.get('seed', 0)}")
    return fit_strategy(choice.strategy, splits, **kwargs, **choice_kwargs(choice, banks))


def _score(fit: FitResult, heldout: ImageDataset, train: ImageDataset) -> Score:
    metrics = evaluate(fit.model, heldout, train.num_classes, train.counts())
    return Score(metrics["balanced_accuracy"], tuple(metrics["per_class_recall"]))


def train_candidate(
    choice: AugmentChoice, data: DatasetSplits, heldout: ImageDataset, banks: Banks, keep: bool, kwargs: dict
) -> tuple[Score, FitResult | None]:
    """One candidate's fit on `data`, scored on `heldout`, and the fit itself when `keep` (a final model): what
    a worker process does for one of auto's trainings."""
    fit = fit_choice(choice, data, banks, **kwargs)
    return _score(fit, heldout, data.train), fit if keep else None


class CandidateTrainer:
    """Trains candidates on the held-back splits (in `pool`: one at a time unless AutoSearch opens one with
    workers), counts the trainings, trains each (candidate, length, split) once, and keeps each candidate's
    final-length (`epochs`) first run on the validation split (the final model, if it is chosen)."""

    def __init__(
        self,
        splits: DatasetSplits,
        banks: Banks,
        holdouts: Sequence[HoldoutSplit],
        on_validation: bool,
        progress: Callable[[str], None] | None,
        train_kwargs: Mapping[str, Any],
        epochs: int,
    ) -> None:
        self.epochs = epochs
        self.scores: dict[tuple[str, int, int], Score] = {}
        self.splits = splits
        self.banks = banks
        self.holdouts = list(holdouts)
        self.on_validation = on_validation
        self.progress = progress
        # one bar over a rung's fits, shown where the fits' own bars would be, in place of theirs
        fit_trainer = dict(train_kwargs.get("trainer_kwargs") or {})
        self.show_bar = fit_trainer.get("enable_progress_bar")
        self.train_kwargs = {**train_kwargs, "trainer_kwargs": {**fit_trainer, "enable_progress_bar": False}}
        self.trainings = 0
        self.final_runs: dict[str, FitResult] = {}
        self.pool = FitPool()

    def _data(self, split: HoldoutSplit) -> tuple[DatasetSplits, ImageDataset]:
        """What a run trains on and what it is scored on."""
        if self.on_validation:
            return self.splits, self.splits.val
        train = self.splits.train
        return DatasetSplits(train.subset(split.fit), train.subset([]), train.subset(split.holdout)), train.subset(
            split.holdout
        )

    def score(
        self, candidates: Mapping[str, AugmentChoice], rung: int, epochs: int, every: bool
    ) -> dict[str, list[Score]]:
        """Each candidate's scores at `epochs`: on every split when `every` (and on folds), else on the first;
        a run trained before (same candidate, length and split) is not trained again."""
        holdouts = self.holdouts if every or not self.on_validation else self.holdouts[:1]
        jobs = []
        for name, choice in candidates.items():
            for split in holdouts:
                if (name, epochs, split.index) in self.scores:
                    continue
                data, heldout = self._data(split)
                stride = _RUN_SEED_STRIDE * (split.index if self.on_validation else 0)
                kwargs = {**self.train_kwargs, "seed": self.train_kwargs.get("seed", 0) + stride, "epochs": epochs}
                keep = epochs == self.epochs and self.on_validation and split.index == 0
                jobs.append((name, split, (choice, data, heldout, self.banks, keep, kwargs)))
        with bar(len(jobs), f"auto rung {rung + 1}", unit="fit", show=self.show_bar) as fits:
            results = iter(self.pool.map(train_candidate, [arguments for *_, arguments in jobs]))
            for name, split, _ in jobs:
                self.trainings += 1
                if self.progress is not None:
                    self.progress(
                        f"auto: rung {rung + 1}, {name}, split {split.index + 1}/{len(holdouts)}, {epochs} epochs"
                    )
                score, fit = next(results)
                if fit is not None:
                    self.final_runs[name] = fit
                self.scores[name, epochs, split.index] = score
                fits.set_postfix_str(name, refresh=False)
                fits.update()
        return {name: [self.scores[name, epochs, split.index] for split in holdouts] for name in candidates}


def _validation_runs(splits: DatasetSplits, runs: int) -> list[HoldoutSplit]:
    """The validation mode's splits: `runs` trainings on the whole training split (scored on the validation split)."""
    if len(splits.val) == 0:
        raise GanaugError(
            "holdout 'validation' needs a validation split; give a data source with validation images "
            "or use holdout='folds'"
        )
    everything = np.arange(len(splits.train))
    return [HoldoutSplit(r, everything, np.zeros(0, dtype=np.int64)) for r in range(runs)]


class AutoSearch:
    """The race of the module docstring: the baselines by family, the GAN candidates built on the reference,
    then the variants of the best GAN candidate; `run` returns the AutoResult.

    `banks` hold one bank per GAN snapshot (`Banks`); `targets` are the minority classes' full synthetic
    counts; `train_kwargs` go to fit_strategy (the run's `synthetic_share` and `synthetic_weight` start the
    GAN candidates).
    """

    def __init__(
        self,
        splits: DatasetSplits,
        banks: Banks,
        targets: Mapping[int, int],
        settings: AutoSettings,
        *,
        epochs: int = 30,
        progress: Callable[[str], None] | None = None,
        train_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if settings.min_confidences and any(b.confidences is None for b in banks.values()):
            raise GanaugError(
                f"min_confidences need the bank samples' own-class confidences; pass them to GatedBanks "
                f"({_CONFIDENCES}) or set min_confidences to ()"
            )
        self.settings = settings
        self.targets = dict(targets)
        self.epochs = epochs
        kwargs = dict(train_kwargs or {})
        self.share = kwargs.pop("synthetic_share", SYNTHETIC_SHARE)
        self.weight = kwargs.pop("synthetic_weight", AugmentChoice.synthetic_weight)
        self.banks = banks
        on_validation = settings.holdout == "validation"
        if on_validation:
            holdouts = _validation_runs(splits, settings.validation_runs)
            counts = tuple(splits.val.counts())
            # A short rung trains each candidate once, so its training noise is unknown: it is taken as none,
            # and the rung prunes by the validation images' sampling noise alone (an upper bound on that
            # part). The last rung, which decides, measures the training noise from its paired runs.
            early = Noise(holdout_counts=counts, pair_variance=0.0, class_pair_variance=(0.0,) * len(counts))
            final = Noise(holdout_counts=counts)
        else:
            holdouts = stratified_folds(splits.train.labels, settings.folds, settings.repeats, settings.seed)
            early = final = Noise(holdout_ratio=holdout_ratio(holdouts))
        self.trainer = CandidateTrainer(splits, banks, holdouts, on_validation, progress, kwargs, epochs)
        self.race = Race(settings.budgets(epochs), self.trainer.score, settings.baselines, early, final,
                         settings.margin, settings.keep, settings.families)  # fmt: skip

    def gan_candidates(self, reference: str) -> dict[str, AugmentChoice]:
        """The reference's recipe plus generated samples, for every amount and every snapshot."""
        strategy = "gan" if reference == "none" else f"gan+{reference}"
        out = {}
        for snapshot in self.banks:
            for amount in self.settings.amounts:
                steps = f" {snapshot} steps" if snapshot is not None else ""
                name = f"{strategy} {amount * 100:g}%{steps}"
                out[name] = AugmentChoice(strategy, scaled_counts(self.targets, amount), snapshot,
                                          synthetic_weight=self.weight, synthetic_share=self.share)  # fmt: skip
        return out

    def variants(self, rung: Rung) -> dict[str, AugmentChoice]:
        """At the first rung (with one budget: the only one), the GAN candidates built on its reference, then
        the best one's variants (share caps, gates, loss weights, per-class amounts); none at later rungs."""
        if rung.index != 0:
            return {}
        challengers = [n for n in rung.scores if n not in self.settings.baselines]
        if not challengers:
            return self.gan_candidates(rung.reference)
        best_name = max(challengers, key=lambda n: rung.gains[n].mean)
        best = self.race_pool[best_name]
        s = self.settings
        out = {f"{best_name} share {x:g}": replace(best, synthetic_share=x) for x in s.synthetic_shares}
        out.update({f"{best_name} gate {t:g}": replace(best, min_confidence=t) for t in s.min_confidences})
        out.update({f"{best_name} weight {w:g}": replace(best, synthetic_weight=w) for w in s.synthetic_weights})
        if s.per_class:
            out.update(self._per_class(rung, best))
        return out

    def _per_class(self, rung: Rung, best: AugmentChoice) -> dict[str, AugmentChoice]:
        """Per class, the amount (at the best candidate's snapshot) whose gain in the class's recall beats it."""
        pool = self.race_pool
        options = [n for n in rung.scores if n in pool and pool[n].snapshot == best.snapshot
                   and pool[n].strategy == best.strategy and pool[n].min_confidence is None]  # fmt: skip
        chosen = best_option_per_class(rung.scores, rung.reference, options, sorted(self.targets), self.settings.margin,
                                       self.race.early_noise)  # fmt: skip
        counts = {c: pool[name].synthetic_counts[c] if name else 0 for c, name in chosen.items()}
        if not any(counts.values()):
            return {}
        return {f"{best.strategy} per class": replace(best, synthetic_counts=counts)}

    def run(self) -> AutoResult:
        """Race every candidate and decide."""
        start = time.perf_counter()
        baselines = {name: AugmentChoice(name) for name in self.settings.baselines}
        self.race_pool: dict[str, AugmentChoice] = dict(baselines)

        def after(rung: Rung) -> Mapping[str, AugmentChoice]:
            added = self.variants(rung)
            self.race_pool.update(added)
            return added

        with FitPool(self.settings.workers) as self.trainer.pool:
            decision, _ = self.race.run(baselines, after)
        final = self.trainer.final_runs.get(decision.chosen)
        seconds = time.perf_counter() - start - (final.fit_seconds if final is not None else 0.0)
        return AutoResult(decision, self.race.rungs, seconds, self.trainer.trainings, list(self.banks),
                          self.settings.holdout, final)  # fmt: skip


def auto_search(
    splits: DatasetSplits,
    banks: Banks,
    targets: Mapping[int, int],
    *,
    settings: AutoSettings = AutoSettings(),
    epochs: int = 30,
    progress: Callable[[str], None] | None = None,
    **train_kwargs: Any,
) -> AutoResult:
    """Race the candidates on `splits` and decide; `train_kwargs` go to fit_strategy (see AutoSearch)."""
    search = AutoSearch(splits, banks, targets, settings, epochs=epochs, progress=progress, train_kwargs=train_kwargs)
    return search.run()


def final_row(result: AutoResult, splits: DatasetSplits, banks: Banks, **train_kwargs: Any) -> MetricsRow:
    """The chosen candidate's metrics on the test split: its final-length run when the race kept it (the
    validation split), else a fresh training on the whole training split."""
    fit = result.final
    if fit is None:
        fit = fit_choice(result.decision.chosen_candidate, splits, banks, **train_kwargs)
    return fit.row(splits)
