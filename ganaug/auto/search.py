"""The `auto` strategy's search: which augmentation the reference classifier trains with on this data.

Candidates are scored on held-back data: by default the validation split (each candidate trained on the
whole training split `validation_runs` times with different seeds, scored on images neither the GAN nor
the classifier saw), or with `holdout="folds"` on stratified folds of the training split. In stages:
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
from ganaug.auto.splits import HoldoutSplit, stratified_folds
from ganaug.classify.strategies import CLASSICAL_STRATEGIES, train_and_evaluate
from ganaug.data.dataset import DatasetSplits, ImageDataset
from ganaug.errors import GanaugError
from ganaug.synth.bank import SyntheticBank

GAN_BASE = "gan+classical"
HOLDOUTS = ("validation", "folds")
PROXY_MIN_TAU = 0.6
MIN_BASELINES_FOR_PROXY = 3  # with fewer, a ranking check says nothing: candidates train the full length


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
    synthetic_share: float = 1.0

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

    baselines: tuple[str, ...] = CLASSICAL_STRATEGIES
    amounts: tuple[float, ...] = (0.1, 0.3, 1.0)
    min_confidences: tuple[float, ...] = (0.9,)
    synthetic_weights: tuple[float, ...] = (0.5,)
    synthetic_shares: tuple[float, ...] = (0.25,)
    per_class: bool = True
    holdout: str = "validation"
    validation_runs: int = 2
    folds: int = 3
    repeats: int = 1
    margin: float = 1.0
    proxy_epochs: int | None = 10
    seed: int = 0

    def __post_init__(self) -> None:
        bad = sorted(set(self.baselines) - set(CLASSICAL_STRATEGIES))
        if bad or not self.baselines:
            raise GanaugError(
                f"auto baselines {list(self.baselines)}: name one or more of {', '.join(CLASSICAL_STRATEGIES)}"
            )
        if not self.amounts or any(not 0 < a <= 1 for a in self.amounts):
            raise GanaugError(f"auto amounts {list(self.amounts)}: fractions of the target count, each in (0, 1]")
        if any(not 0 <= t <= 1 for t in self.min_confidences):
            raise GanaugError(f"auto min_confidences {list(self.min_confidences)}: probabilities in [0, 1]")
        if any(w < 0 for w in self.synthetic_weights):
            raise GanaugError(f"auto synthetic_weights {list(self.synthetic_weights)}: weights must be >= 0")
        if any(not 0 < share <= 1 for share in self.synthetic_shares):
            raise GanaugError(
                f"auto synthetic_shares {list(self.synthetic_shares)}: shares of a class's draws, each in (0, 1]"
            )
        if self.proxy_epochs is not None and self.proxy_epochs < 1:
            raise GanaugError(f"auto proxy_epochs={self.proxy_epochs}: at least 1, or null for the full epochs")
        if self.holdout not in HOLDOUTS:
            raise GanaugError(f"auto holdout '{self.holdout}': choose one of {', '.join(HOLDOUTS)}")
        if self.validation_runs < 2:
            raise GanaugError(
                f"auto validation_runs={self.validation_runs}: at least 2, so the training noise can be measured"
            )
        if self.folds < 2 or self.repeats < 1 or self.margin < 0:
            raise GanaugError(
                f"auto folds={self.folds}, repeats={self.repeats}, margin={self.margin}: "
                "need folds >= 2, repeats >= 1 and margin >= 0"
            )

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
    proxy_check: dict | None = None
    holdout: str = "folds"


def scaled_counts(targets: Mapping[int, int], fraction: float) -> dict[int, int]:
    """Each class's target count times `fraction`, rounded (at least 1 where the target is positive)."""
    return {c: max(1, round(n * fraction)) if n > 0 else 0 for c, n in targets.items()}


class GatedBanks:
    """A bank and its samples' own-class confidences (optional), serving the bank restricted to samples
    whose confidence reaches a threshold; each threshold's bank (an in-memory copy of the survivors) is
    built once and kept."""

    def __init__(self, bank: SyntheticBank, confidences: np.ndarray | None = None) -> None:
        if confidences is not None and len(confidences) != len(bank):
            raise GanaugError(
                f"{len(confidences)} confidences for a bank of {len(bank)} samples; compute one per sample with "
                "ganaug.quality.gate.own_class_confidence(bank.images, bank.labels, extractor)"
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
                "(ganaug.quality.gate.own_class_confidence(bank.images, bank.labels, extractor))"
            )
        if min_confidence not in self._gated:
            self._gated[min_confidence] = self.bank.subset(np.flatnonzero(self.confidences >= min_confidence))
        return self._gated[min_confidence]


def fit_choice(choice: AugmentChoice, splits: DatasetSplits, banks: GatedBanks | None, **train_kwargs) -> dict:
    """Train and score the reference classifier with `choice` (train_and_evaluate's metrics dict).

    Counts above what the (gated) bank holds for a class are capped to it. `train_kwargs` go to
    train_and_evaluate (classical, seed, epochs, batch_size, model_kwargs, trainer_kwargs); the choice's
    own synthetic weight and share replace any given there.
    """
    train_kwargs.pop("synthetic_share", None)
    if choice.strategy != GAN_BASE:
        return train_and_evaluate(choice.strategy, splits, **train_kwargs)
    if banks is None:
        raise GanaugError("a gan+classical candidate needs the synthetic bank; generate one first")
    source = banks(choice.min_confidence)
    held = source.counts()
    counts = {c: min(n, held[c]) for c, n in choice.synthetic_counts.items()}
    model_kwargs = {**train_kwargs.pop("model_kwargs", {}), "synthetic_weight": choice.synthetic_weight}
    return train_and_evaluate(
        GAN_BASE,
        splits,
        bank=source,
        synthetic_counts=counts,
        synthetic_share=choice.synthetic_share,
        model_kwargs=model_kwargs,
        **train_kwargs,
    )


def _split_data(train: ImageDataset, split: HoldoutSplit) -> DatasetSplits:
    return DatasetSplits(train.subset(split.fit), train.subset([]), train.subset(split.holdout))


def _validation_runs(train: ImageDataset, val: ImageDataset | None, runs: int) -> list[HoldoutSplit]:
    """The validation mode's splits: `runs` trainings on the whole training split (scored on `val`)."""
    if val is None or len(val) == 0:
        raise GanaugError(
            "auto holdout 'validation' needs a validation split; set data.val_fraction above 0 "
            "or use augment.auto.holdout=folds"
        )
    everything = np.arange(len(train))
    return [HoldoutSplit(r, everything, np.zeros(0, dtype=np.int64)) for r in range(runs)]


def auto_search(
    train: ImageDataset,
    banks: GatedBanks,
    targets: Mapping[int, int],
    *,
    settings: AutoSettings = AutoSettings(),
    val: ImageDataset | None = None,
    epochs: int = 30,
    progress: Callable[[str], None] | None = None,
    **train_kwargs,
) -> AutoResult:
    """Run the staged search on `train` and decide; `train_kwargs` go to train_and_evaluate.

    With `settings.holdout` "validation", candidates train on all of `train` and are scored on `val`;
    run r of every candidate trains with the same seed (the run's seed * 1000 + r + 1), so gains pair up.

    The gan+classical candidates start from `synthetic_share` (in `train_kwargs`, default 1: the run's
    `augment.synthetic_share`); stage 3 tries `settings.synthetic_shares` on the best of them.
    `targets` are the minority classes' full synthetic counts (the bank holds at least these, unless
    a gate left a class short); `banks` needs the bank samples' own-class confidences when
    `settings.min_confidences` is not empty.
    """
    if settings.min_confidences and banks.confidences is None:
        raise GanaugError(
            "auto min_confidences need the bank samples' own-class confidences; pass them to GatedBanks "
            "(ganaug.quality.gate.own_class_confidence) or set min_confidences to ()"
        )
    start = time.perf_counter()
    share = train_kwargs.pop("synthetic_share", 1.0)
    on_validation = settings.holdout == "validation"
    if on_validation:
        splits = _validation_runs(train, val, settings.validation_runs)
        ratio, held_counts = 0.0, val.counts()
        on_val = DatasetSplits(train, train.subset([]), val)
    else:
        splits = stratified_folds(train.labels, settings.folds, settings.repeats, settings.seed)
        ratio, held_counts = holdout_ratio(splits), None
    proxy = min(settings.proxy_epochs or epochs, epochs)
    trainings = 0
    length = epochs
    amounts = {
        f"{GAN_BASE} {a * 100:g}%": AugmentChoice(GAN_BASE, scaled_counts(targets, a), synthetic_share=share)
        for a in settings.amounts
    }
    probe = f"{GAN_BASE} {max(settings.amounts) * 100:g}%"
    candidates: dict[str, AugmentChoice] = {name: AugmentChoice(name) for name in settings.baselines}
    candidates[probe] = amounts[probe]

    def score(choice: AugmentChoice, split: HoldoutSplit) -> Score:
        nonlocal trainings
        trainings += 1
        if progress is not None:
            name = next(n for n, c in candidates.items() if c == choice)
            progress(f"auto: {name}, split {split.index + 1}/{len(splits)}, {length} epochs")
        kwargs = dict(train_kwargs)
        if on_validation:
            kwargs["seed"] = kwargs.get("seed", 0) * 1000 + split.index + 1
            data = on_val
        else:
            data = _split_data(train, split)
        row = fit_choice(choice, data, banks, epochs=length, **kwargs)
        return Score(row["balanced_accuracy"], tuple(row["per_class_recall"]))

    scores = score_candidates(candidates, score, splits)
    check = None
    if proxy < epochs and len(settings.baselines) >= MIN_BASELINES_FOR_PROXY:
        length = proxy
        proxy_scores = score_candidates(candidates, score, splits)
        check = proxy_check(
            proxy_scores, scores, proxy, epochs, settings.baselines, probe, settings.margin, ratio, held_counts
        )
        if check["trusted"]:
            scores = proxy_scores
        else:
            length = epochs
    reference = best_baseline(scores, settings.baselines)

    def add(new: dict[str, AugmentChoice]) -> None:
        fresh = {k: v for k, v in new.items() if k not in candidates and v not in candidates.values()}
        candidates.update(fresh)
        scores.update(score_candidates(fresh, score, splits))

    add(amounts)
    amounts = {name: choice for name, choice in amounts.items() if name in candidates}  # equal counts merge
    per_class: dict[int, str | None] = {}
    if settings.per_class:
        per_class = best_option_per_class(
            scores, reference, list(amounts), sorted(targets), settings.margin, ratio, held_counts
        )
        counts = {c: amounts[name].synthetic_counts[c] if name else 0 for c, name in per_class.items()}
        if any(counts.values()):
            add({f"{GAN_BASE} per class": AugmentChoice(GAN_BASE, counts, synthetic_share=share)})
    gan_names = [name for name, c in candidates.items() if c.strategy == GAN_BASE]
    best_name = max(gan_names, key=lambda name: mean_balanced_accuracy(scores[name]))
    best = candidates[best_name]
    variants = {f"{best_name} gate {t:g}": replace(best, min_confidence=t) for t in settings.min_confidences}
    variants.update(
        {f"{best_name} weight {w:g}": replace(best, synthetic_weight=w) for w in settings.synthetic_weights}
    )
    variants.update(
        {f"{best_name} share {x:g}": replace(best, synthetic_share=x) for x in settings.synthetic_shares}
    )
    add(variants)
    decision = decide(scores, candidates, settings.baselines, settings.margin, ratio, held_counts)
    seconds = time.perf_counter() - start
    return AutoResult(decision, per_class, seconds, trainings, length, check, settings.holdout)


def _ranking(scores: Mapping[str, list[Score]]) -> list[str]:
    return sorted(scores, key=lambda name: -mean_balanced_accuracy(scores[name]))


def kendall_tau(first: list[str], second: list[str]) -> float:
    """Kendall's rank correlation of two orderings of the same names (1: same order, -1: reversed)."""
    if sorted(first) != sorted(second):
        raise GanaugError("rankings of different candidates cannot be compared")
    pos = {name: i for i, name in enumerate(second)}
    pairs = [(a, b) for i, a in enumerate(first) for b in first[i + 1 :]]
    if not pairs:
        return 1.0
    return sum(1 if pos[a] < pos[b] else -1 for a, b in pairs) / len(pairs)


def proxy_check(
    proxy_scores: Mapping[str, list[Score]],
    full_scores: Mapping[str, list[Score]],
    proxy: int,
    epochs: int,
    baselines: Sequence[str],
    probe: str | None = None,
    margin: float = 1.0,
    holdout_ratio: float = 0.0,
    holdout_counts: Sequence[int] | None = None,
    min_tau: float = PROXY_MIN_TAU,
) -> dict:
    """Whether the cheaper proxy ranks candidates as full-length training does on the same splits.

    Trusted when both pick the same best baseline, Kendall's tau of the baselines' two rankings is at
    least `min_tau` (with four baselines, one swapped pair gives 0.67) and, with a `probe` (a gan+classical
    candidate scored at both lengths), the proxy measures the probe's gain over the best baseline as the
    full length does: the same verdict at `margin` standard errors, and a gain within one standard error
    of the full-length gain. A shorter training can rank the classical strategies right and still
    understate what generated samples add, which the baselines alone would not show.
    """
    proxy_rank = _ranking({name: proxy_scores[name] for name in baselines})
    full_rank = _ranking({name: full_scores[name] for name in baselines})
    tau = kendall_tau(proxy_rank, full_rank)
    check = {
        "proxy_epochs": proxy,
        "full_epochs": epochs,
        "proxy_ranking": proxy_rank,
        "full_ranking": full_rank,
        "kendall_tau": tau,
        "trusted": proxy_rank[0] == full_rank[0] and tau >= min_tau,
    }
    if probe is not None:
        names = [*baselines, probe]
        gains = {
            length: decide(
                {name: scores[name] for name in names},
                dict.fromkeys(names),
                baselines,
                margin,
                holdout_ratio,
                holdout_counts,
            ).results[probe].gain
            for length, scores in (("full", full_scores), ("proxy", proxy_scores))
        }
        full, short = gains["full"], gains["proxy"]
        agrees = full.beats(margin) == short.beats(margin) and abs(short.mean - full.mean) <= full.uncertainty
        check.update(
            probe=probe,
            probe_gain_full=full.mean,
            probe_uncertainty_full=full.uncertainty,
            probe_gain_proxy=short.mean,
            probe_uncertainty_proxy=short.uncertainty,
            trusted=check["trusted"] and agrees,
        )
    return check
