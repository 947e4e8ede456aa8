"""Choosing between candidates scored on the same held-back splits, accounting for their noise.

Every candidate is scored on every split; a candidate is compared with the reference (the best
baseline) by the paired differences of their scores split by split, which cancels the variation that
comes from the split itself. It is chosen over the reference only when its mean gain is positive and
larger than `margin` times the standard error of that mean: a win within the noise is no win.

Folds of one training set overlap in what they train on, so their differences are correlated and the
naive standard error is too small; the variance is corrected as Nadeau and Bengio (2003) propose,
by (1/n + n_holdout/n_fit) instead of 1/n (`holdout_ratio`; 0 gives the naive one).

When every split scores on the same fixed held-out images (repeated trainings scored on one validation
split), the differences between splits show only the training noise; the noise of which images were
held out is added from their per-class counts (`sampling_variance`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ganaug.auto.splits import HoldoutSplit
from ganaug.classify.summary import mean_std
from ganaug.errors import GanaugError, at_least, checked

T = TypeVar("T")


@dataclass(frozen=True)
class Score:
    """A candidate's result on one split: balanced accuracy and recall per class id (None: class absent)."""

    balanced_accuracy: float
    per_class_recall: tuple[float | None, ...] = ()


@dataclass(frozen=True)
class Gain:
    """The paired difference of two candidates' scores: mean over splits and the standard error of the mean."""

    mean: float
    uncertainty: float
    n: int

    def beats(self, margin: float) -> bool:
        """True when the gain is positive and exceeds `margin` standard errors."""
        return self.n > 0 and self.mean > 0 and self.mean > margin * self.uncertainty

    def __str__(self) -> str:
        unc = "inf" if math.isinf(self.uncertainty) else f"{self.uncertainty:.4f}"
        return f"{self.mean:+.4f} ± {unc}"


def paired_gain(
    values: Sequence[float | None],
    reference: Sequence[float | None],
    holdout_ratio: float = 0.0,
    extra_variance: float = 0.0,
    pooled_variance: float | None = None,
) -> Gain:
    """Mean and standard error of `values[s] - reference[s]` over the splits where both exist.

    `holdout_ratio` (held-out over fit size) corrects the variance for overlapping training sets, and
    `extra_variance` adds noise the splits do not show (see the module docstring). `pooled_variance` is a
    paired difference's variance known from elsewhere (many candidates' runs), used instead of these
    splits' own; without it, one usable split gives an infinite uncertainty (nothing is known about the
    training noise). No usable split gives n=0.
    """
    diffs = [v - r for v, r in zip(values, reference, strict=True) if v is not None and r is not None]
    n = len(diffs)
    if n == 0:
        return Gain(0.0, math.inf, 0)
    mean = sum(diffs) / n
    if pooled_variance is not None:
        return Gain(mean, math.sqrt(pooled_variance * (1.0 / n + holdout_ratio) + extra_variance), n)
    if n == 1:
        return Gain(mean, math.inf, 1)
    variance = sum((d - mean) ** 2 for d in diffs) / (n - 1)
    return Gain(mean, math.sqrt(variance * (1.0 / n + holdout_ratio) + extra_variance), n)


def _mean_recall(scores: Sequence[Score], class_id: int) -> float | None:
    values = [
        s.per_class_recall[class_id]
        for s in scores
        if class_id < len(s.per_class_recall) and s.per_class_recall[class_id] is not None
    ]
    return sum(values) / len(values) if values else None


def sampling_variance(
    values: Sequence[Score], reference: Sequence[Score], holdout_counts: Sequence[int], class_id: int | None = None
) -> float:
    """Variance that a fixed held-out set of `holdout_counts[c]` images per class adds to the difference of
    two candidates' balanced accuracy (or, with `class_id`, of that class's recall).

    Per class, r(1 - r)/n for each candidate at its mean recall r: an upper bound, since two classifiers
    scored on the same images err on many of the same ones. Balanced accuracy averages K classes, so
    their variances add up divided by K squared.
    """
    classes = [class_id] if class_id is not None else [c for c, n in enumerate(holdout_counts) if n > 0]
    total = 0.0
    for c in classes:
        a, b = _mean_recall(values, c), _mean_recall(reference, c)
        if a is not None and b is not None and holdout_counts[c] > 0:
            total += (a * (1.0 - a) + b * (1.0 - b)) / holdout_counts[c]
    return total / len(classes) ** 2 if classes else 0.0


def holdout_ratio(splits: Sequence[HoldoutSplit]) -> float:
    """Mean held-out size over fit size of the splits (the variance correction's n_holdout/n_fit)."""
    return sum(len(s.holdout) / max(len(s.fit), 1) for s in splits) / len(splits) if splits else 0.0


def _metric(scores: Sequence[Score], class_id: int | None) -> list[float | None]:
    """Balanced accuracy per split, or (`class_id`) that class's recall."""
    if class_id is None:
        return [s.balanced_accuracy for s in scores]
    return [s.per_class_recall[class_id] if class_id < len(s.per_class_recall) else None for s in scores]


@dataclass(frozen=True)
class Noise:
    """What a paired gain's standard error accounts for, besides the splits' own differences.

    `holdout_ratio`: folds of one training set overlap (Nadeau-Bengio); `holdout_counts`: every split scores
    on one fixed held-out set of that many images per class (its sampling variance is added);
    `pair_variance` / `class_pair_variance`: a paired difference's training variance in one run, pooled from
    many candidates' repeated runs (for balanced accuracy / per class recall), so a single run's gain has a
    finite uncertainty.
    """

    holdout_ratio: float = 0.0
    holdout_counts: tuple[int, ...] | None = None
    pair_variance: float | None = None
    class_pair_variance: tuple[float | None, ...] | None = None

    def gain(self, values: Sequence[Score], reference: Sequence[Score], class_id: int | None = None) -> Gain:
        """The paired gain of `values` over `reference` in balanced accuracy (or class `class_id`'s recall)."""
        extra = 0.0
        if self.holdout_counts is not None:
            extra = sampling_variance(values, reference, self.holdout_counts, class_id)
        pooled = self.pair_variance
        if class_id is not None:
            pooled = self.class_pair_variance[class_id] if self.class_pair_variance is not None else None
        return paired_gain(_metric(values, class_id), _metric(reference, class_id), self.holdout_ratio, extra, pooled)


def mean_balanced_accuracy(scores: Sequence[Score]) -> float:
    """The mean balanced accuracy of a candidate's scores over the splits."""
    return mean_std(s.balanced_accuracy for s in scores)[0]  # type: ignore[return-value]


@dataclass
class CandidateResult:
    """One candidate's scores over the splits and its gain over the reference."""

    name: str
    scores: list[Score]
    gain: Gain
    chosen: bool = False

    @property
    def mean(self) -> float:
        """Mean balanced accuracy over the splits."""
        return mean_balanced_accuracy(self.scores)

    @property
    def std(self) -> float:
        """Standard deviation of the balanced accuracy over the splits."""
        return mean_std(s.balanced_accuracy for s in self.scores)[1]  # type: ignore[return-value]

    def to_json(self) -> dict:
        """A JSON-ready summary (infinite uncertainty written as null)."""
        return {
            "name": self.name,
            "balanced_accuracy_mean": self.mean,
            "balanced_accuracy_std": self.std,
            "gain": self.gain.mean,
            "gain_uncertainty": None if math.isinf(self.gain.uncertainty) else self.gain.uncertainty,
            "chosen": self.chosen,
            "split_balanced_accuracy": [s.balanced_accuracy for s in self.scores],
        }


@dataclass
class Decision(Generic[T]):
    """The outcome: the reference (best baseline), the chosen candidate and every candidate's result."""

    reference: str
    chosen: str
    margin: float
    results: dict[str, CandidateResult]
    candidates: dict[str, T] = field(repr=False)
    baselines: tuple[str, ...] = ()

    @property
    def chosen_candidate(self) -> T:
        """The chosen candidate's value (what the caller trains the final model with)."""
        return self.candidates[self.chosen]

    @property
    def n_splits(self) -> int:
        """How many splits every candidate was scored on."""
        return len(next(iter(self.results.values())).scores)

    @property
    def improved(self) -> bool:
        """Whether a candidate beat the reference by more than its uncertainty."""
        return self.chosen != self.reference

    @property
    def verdict(self) -> str:
        """The decision in one line: what was chosen, against which reference, and by how much."""
        ref = self.reference
        if self.improved:
            return (
                f"'{self.chosen}' beats '{ref}' by {self.results[self.chosen].gain} balanced accuracy on held-back "
                f"data; '{self.chosen}' is used."
            )
        others = [r for name, r in self.results.items() if name not in self.baselines and r.gain.n > 0]
        best = max(others, key=lambda r: r.gain.mean, default=None)
        closest = f" (closest: '{best.name}', {best.gain})" if best is not None else ""
        return f"no candidate beat '{ref}' by more than its uncertainty{closest}; '{ref}' is used."


def score_candidates(
    candidates: Mapping[str, T], score: Callable[[T, HoldoutSplit], Score], splits: Sequence[HoldoutSplit]
) -> dict[str, list[Score]]:
    """Call `score(candidate, split)` for every candidate on every split, in order."""
    if not splits:
        raise GanaugError("no splits to score candidates on; make them with stratified_folds(labels)")
    out: dict[str, list[Score]] = {}
    for name, candidate in candidates.items():
        out[name] = []
        for split in splits:
            result = score(candidate, split)
            if not isinstance(result, Score):
                raise GanaugError(f"the score callable returned {type(result).__name__} for '{name}'; return a Score")
            out[name].append(result)
    return out


@checked(margin=at_least(0))
def decide(
    scores: Mapping[str, Sequence[Score]],
    candidates: Mapping[str, T],
    baselines: Sequence[str],
    margin: float = 1.0,
    noise: Noise = Noise(),
) -> Decision[T]:
    """The best baseline by mean balanced accuracy is the reference; the candidate with the largest gain
    that beats it by more than `margin` standard errors is chosen, else the reference itself.

    `noise` says what the standard errors account for (overlapping folds, a fixed held-out set's sampling
    noise, a pooled training variance; see `Noise`)."""
    if not baselines:
        raise GanaugError("no baselines to compare candidates with; name at least one (e.g. 'classical')")
    missing = sorted(set(baselines) - set(scores))
    if missing:
        raise GanaugError(f"baselines {missing} have no scores; score every baseline with the candidates")

    reference = best_baseline(scores, baselines)
    ref = scores[reference]
    results = {name: CandidateResult(name, list(values), noise.gain(values, ref)) for name, values in scores.items()}
    winners = [r for name, r in results.items() if name not in baselines and r.gain.beats(margin)]
    chosen = max(winners, key=lambda r: r.gain.mean).name if winners else reference
    results[chosen].chosen = True
    return Decision(reference, chosen, margin, results, dict(candidates), tuple(baselines))


def best_baseline(scores: Mapping[str, Sequence[Score]], baselines: Sequence[str]) -> str:
    """The baseline with the highest mean balanced accuracy (the reference every candidate must beat)."""
    return max(baselines, key=lambda name: mean_balanced_accuracy(scores[name]))


def choose(
    candidates: Mapping[str, T],
    score: Callable[[T, HoldoutSplit], Score],
    splits: Sequence[HoldoutSplit],
    baselines: Sequence[str],
    margin: float = 1.0,
) -> Decision[T]:
    """Score every candidate (baselines included, by name) on every split and decide (see `decide`).

    For users with their own classifier: `score(candidate, split)` trains on `split.fit`, scores on
    `split.holdout` and returns a Score; the candidates can be any values it understands.
    """
    unknown = sorted(set(baselines) - set(candidates))
    if unknown:
        raise GanaugError(f"baselines {unknown} are not among the candidates {sorted(candidates)}; add them")
    noise = Noise(holdout_ratio=holdout_ratio(splits))
    return decide(score_candidates(candidates, score, splits), candidates, baselines, margin, noise)


def per_class_gains(
    scores: Mapping[str, Sequence[Score]], reference: str, options: Sequence[str], class_id: int, noise: Noise = Noise()
) -> dict[str, Gain]:
    """Each option's paired gain in class `class_id`'s recall over the reference (see `Noise`)."""
    return {name: noise.gain(scores[name], scores[reference], class_id) for name in options}


def best_option_per_class(
    scores: Mapping[str, Sequence[Score]],
    reference: str,
    options: Sequence[str],
    classes: Sequence[int],
    margin: float = 1.0,
    noise: Noise = Noise(),
) -> dict[int, str | None]:
    """For each class, the option whose gain in that class's recall is largest and beats its uncertainty
    by `margin` standard errors; None (keep the reference's treatment of that class) when none does."""
    chosen: dict[int, str | None] = {}
    for c in classes:
        gains = per_class_gains(scores, reference, options, c, noise)
        winners = [name for name, g in gains.items() if g.beats(margin)]
        chosen[c] = max(winners, key=lambda name: gains[name].mean) if winners else None
    return chosen
