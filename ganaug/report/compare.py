"""The headline comparison: does gan+classical beat the best classical strategy, and how much of the gap
to the balanced upper bound does it close?

Rule (stated in every report): the margin counts when the difference of the mean balanced accuracies is
larger than two standard deviations, taking the larger of the two strategies' standard deviations over
seeds. gap closed = (gan+classical - best classical) / (upper bound - best classical).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ganaug.classify.parts import CLASSICAL_STRATEGIES, GAN_STRATEGY

HEADLINE = "balanced_accuracy"
CANDIDATE = GAN_STRATEGY
UPPER_BOUND_STRATEGY = "none"


@dataclass
class Comparison:
    """A candidate (gan+classical, or auto) against the best classical strategy (and the upper bound)."""

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
        """gan+classical minus the best classical strategy, in balanced accuracy."""
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
        """auto's promise: not below the best classical strategy by more than one standard deviation
        (the larger of the two); None when untestable."""
        if not self.testable:
            return None
        return self.difference >= -max(self.candidate_std, self.best_std)

    def follows(self, gan: Comparison | None) -> bool | None:
        """auto's second promise: above the best classical strategy wherever gan+classical (`gan`) beats it
        by more than two standard deviations; None where gan+classical does not beat it (nothing to follow)."""
        if gan is None or gan.verdict != "beats":
            return None
        return self.difference > 0

    @property
    def room(self) -> float | None:
        """Upper bound minus the best classical strategy (what is left to close)."""
        return None if self.upper is None else self.upper - self.best_mean

    @property
    def gap_closed(self) -> float | None:
        """Share of the room that gan+classical closes (negative when it does worse); None without room."""
        room = self.room
        if room is None or room <= 0:
            return None
        return self.difference / room


def _by_strategy(summary: Sequence[dict]) -> dict[str, dict]:
    return {s["strategy"]: s for s in summary if s.get(HEADLINE) is not None}


def upper_bound(summary: Sequence[dict]) -> dict | None:
    """The upper bound's summary entry (strategy none) in a balanced reference group, if it ran."""
    return _by_strategy(summary).get(UPPER_BOUND_STRATEGY)


def compare(summary: Sequence[dict], upper: dict | None = None, candidate: str = CANDIDATE) -> Comparison | None:
    """Compare `candidate` with the best classical strategy of one group; None when either is missing.

    `summary` is `ganaug.classify.summary.summarize` output; `upper` the upper bound's entry.
    """
    entries = _by_strategy(summary)
    classical = [entries[s] for s in CLASSICAL_STRATEGIES if s in entries]
    if candidate not in entries or not classical:
        return None
    best = max(classical, key=lambda s: s[HEADLINE])
    cand = entries[candidate]
    return Comparison(
        name=candidate,
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
