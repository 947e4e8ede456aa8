"""The headline comparison: does the best GAN strategy beat the strongest non-GAN strategy, and how much of
the gap to the balanced upper bound does it close?

Rule (stated in every report): the margin counts when the difference of the mean balanced accuracies is
larger than two standard deviations, taking the larger of the two strategies' standard deviations over
seeds. gap closed = (best GAN strategy - strongest non-GAN) / (upper bound - strongest non-GAN).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ganaug.auto.search import AUTO
from ganaug.classify.parts import parse_strategy
from ganaug.errors import GanaugError

HEADLINE = "balanced_accuracy"
UPPER_BOUND_STRATEGY = "none"


@dataclass
class Comparison:
    """A candidate (the best GAN strategy, or auto) against the strongest non-GAN strategy (and the upper bound)."""

    name: str
    candidate: float
    candidate_std: float
    candidate_runs: int
    best: str
    best_mean: float
    best_std: float
    best_runs: int
    upper: float | None = None
    upper_std: float | None = None

    @property
    def difference(self) -> float:
        """The candidate minus the strongest non-GAN strategy, in balanced accuracy."""
        return self.candidate - self.best_mean

    @property
    def threshold(self) -> float:
        """Two standard deviations: twice the larger of the two strategies' standard deviations."""
        return 2.0 * max(self.candidate_std, self.best_std)

    @property
    def testable(self) -> bool:
        """Whether both sides have at least two seeds, so a standard deviation exists."""
        return self.candidate_runs > 1 and self.best_runs > 1

    @property
    def verdict(self) -> str:
        """'beats', 'worse' (each by more than two standard deviations), 'within' or 'untested'."""
        if not self.testable:
            return "untested"
        if self.difference > self.threshold:
            return "beats"
        if self.difference < -self.threshold:
            return "worse"
        return "within"

    @property
    def never_worse(self) -> bool | None:
        """auto's promise: not below the strongest non-GAN strategy by more than one standard deviation
        (the larger of the two); None when untestable."""
        if not self.testable:
            return None
        return self.difference >= -max(self.candidate_std, self.best_std)

    def follows(self, gan: Comparison | None) -> bool | None:
        """auto's second promise: above the strongest non-GAN strategy wherever the best GAN strategy (`gan`)
        beats it by more than two standard deviations; None where it does not (nothing to follow)."""
        if gan is None or gan.verdict != "beats":
            return None
        return self.difference > 0

    @property
    def room(self) -> float | None:
        """Upper bound minus the strongest non-GAN strategy (what is left to close)."""
        return None if self.upper is None else self.upper - self.best_mean

    @property
    def gap_closed(self) -> float | None:
        """Share of the room the candidate closes (negative when it does worse); None without room."""
        room = self.room
        if room is None or room <= 0:
            return None
        return self.difference / room


def _by_strategy(summary: Sequence[dict]) -> dict[str, dict]:
    return {s["strategy"]: s for s in summary if s.get(HEADLINE) is not None}


def upper_bound(summary: Sequence[dict]) -> dict | None:
    """The upper bound's summary entry (strategy none) in a balanced reference group, if it ran."""
    return _by_strategy(summary).get(UPPER_BOUND_STRATEGY)


def uses_gan(strategy: str) -> bool | None:
    """Whether a strategy trains on generated samples (None: auto, or a name ganaug does not know)."""
    if strategy == AUTO:
        return None
    try:
        return parse_strategy(strategy).synthetic
    except GanaugError:
        return None


def _best(entries: dict[str, dict], gan: bool) -> dict | None:
    pool = [e for name, e in entries.items() if uses_gan(name) is gan]
    return max(pool, key=lambda e: e[HEADLINE]) if pool else None


def compare(summary: Sequence[dict], upper: dict | None = None, candidate: str | None = None) -> Comparison | None:
    """Compare `candidate` (default: the best GAN strategy by mean) with the strongest non-GAN strategy of one
    group; None when either is missing.

    `summary` is `ganaug.classify.summary.summarize` output; `upper` the upper bound's entry.
    """
    entries = _by_strategy(summary)
    best = _best(entries, gan=False)
    cand = _best(entries, gan=True) if candidate is None else entries.get(candidate)
    if cand is None or best is None:
        return None
    return Comparison(
        name=cand["strategy"],
        candidate=cand[HEADLINE],
        candidate_std=cand[f"{HEADLINE}_std"],
        candidate_runs=cand[f"{HEADLINE}_n"],
        best=best["strategy"],
        best_mean=best[HEADLINE],
        best_std=best[f"{HEADLINE}_std"],
        best_runs=best[f"{HEADLINE}_n"],
        upper=None if upper is None else upper[HEADLINE],
        upper_std=None if upper is None else upper[f"{HEADLINE}_std"],
    )
