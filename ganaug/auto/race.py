"""Racing candidates in rungs of growing training budgets (successive halving), decided at the full budget.

Every candidate trains a short budget first. At each rung the best baseline (by mean balanced accuracy)
is the reference; a candidate whose upper confidence bound (gain + margin x standard error) falls below
it is dropped, and of the rest only the best `keep`-th of each group (baselines, challengers) goes on to
the next rung, with a larger budget. The last rung, at the final training's length, holds the reference
and the best challenger, each trained on every split of the decision (paired runs, so their gain has an
uncertainty of its own, as `decide` measures it); the challenger replaces the reference only by beating
it by more than `margin` standard errors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ganaug.auto.decision import Decision, Gain, Noise, Score, best_baseline, decide, mean_balanced_accuracy
from ganaug.errors import GanaugError

T = TypeVar("T")


@dataclass
class Rung:
    """One rung of the race: its training length, the candidates it scored (on how many splits), their
    gains over the rung's reference, and who went on."""

    index: int
    epochs: int
    reference: str
    scores: dict[str, list[Score]]
    gains: dict[str, Gain]
    promoted: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """A JSON-ready summary (infinite uncertainty written as null)."""
        return {
            "rung": self.index,
            "epochs": self.epochs,
            "reference": self.reference,
            "candidates": {
                name: {
                    "balanced_accuracy": [s.balanced_accuracy for s in scores],
                    "gain": self.gains[name].mean,
                    "gain_uncertainty": None
                    if math.isinf(self.gains[name].uncertainty)
                    else self.gains[name].uncertainty,
                }
                for name, scores in self.scores.items()
            },
            "promoted": self.promoted,
            "dropped": self.dropped,
        }


# score(candidates, rung index, epochs, final) -> scores per candidate (one per split it was trained on)
Scorer = Callable[[Mapping[str, T], int, int, bool], dict[str, list[Score]]]


def _ranked(names: Sequence[str], scores: Mapping[str, Sequence[Score]]) -> list[str]:
    """`names` by mean balanced accuracy, best first."""
    return sorted(names, key=lambda n: -mean_balanced_accuracy(scores[n]))


@dataclass
class Race(Generic[T]):
    """The rungs' budgets, how candidates are scored, and the rules that promote them (module docstring).

    `early_noise` is what a gain's uncertainty accounts for on the early rungs (scored on one split),
    `final_noise` at the last rung (every split); `keep` is the halving factor.
    """

    budgets: Sequence[int]
    score: Scorer
    baselines: Sequence[str]
    early_noise: Noise
    final_noise: Noise
    margin: float = 1.0
    keep: int = 3
    rungs: list[Rung] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.budgets or list(self.budgets) != sorted(set(self.budgets)):
            raise GanaugError(f"rung budgets {list(self.budgets)}: give increasing epoch counts")
        if self.keep < 2:
            raise GanaugError(f"keep={self.keep}: each rung keeps at least half (keep >= 2)")

    def _gains(self, scores: Mapping[str, Sequence[Score]], reference: str, noise: Noise) -> dict[str, Gain]:
        return {name: noise.gain(values, scores[reference]) for name, values in scores.items()}

    def _promote(self, rung: Rung, last_next: bool) -> list[str]:
        """Who goes on: the reference, and the best surviving share of the other baselines and challengers
        (before the last rung: only the best surviving challenger)."""
        reference, gains = rung.reference, rung.gains
        alive = [n for n in rung.scores if n == reference or gains[n].mean + self.margin * gains[n].uncertainty >= 0]
        rung.dropped = [n for n in rung.scores if n not in alive]
        others = _ranked([n for n in alive if n in self.baselines and n != reference], rung.scores)
        challengers = _ranked([n for n in alive if n not in self.baselines], rung.scores)
        if last_next:
            return [reference, *challengers[:1]]
        share = self.keep
        return [
            reference,
            *others[: math.ceil(len(others) / share)],
            *challengers[: math.ceil(len(challengers) / share)],
        ]

    def run(
        self,
        candidates: Mapping[str, T],
        after_rung: Callable[[Rung], Mapping[str, T]] | None = None,
    ) -> tuple[Decision[T], dict[str, T]]:
        """Race `candidates` (baselines among them) through the rungs. After each rung but the last,
        `after_rung(rung)` may add candidates, scored at that rung's budget (e.g. ones built on its
        reference); it is called again, seeing their scores, until it adds none. Returns the decision at
        the last rung and every candidate that raced."""
        pool = dict(candidates)
        alive = list(pool)
        last = len(self.budgets) - 1
        for i, epochs in enumerate(self.budgets):
            final = i == last
            scores = self.score({n: pool[n] for n in alive}, i, epochs, final)
            baselines = [n for n in self.baselines if n in scores]
            if not baselines:
                raise GanaugError("no baseline reached this rung; every race keeps its reference")
            noise = self.final_noise if final else self.early_noise
            reference = best_baseline(scores, baselines)
            rung = Rung(i, epochs, reference, scores, self._gains(scores, reference, noise))
            self.rungs.append(rung)
            if final:
                break
            while after_rung is not None:
                added = after_rung(rung)
                fresh = {n: c for n, c in added.items() if n not in pool and c not in pool.values()}
                if not fresh:
                    break
                pool.update(fresh)
                fresh_scores = self.score(fresh, i, epochs, False)
                rung.scores.update(fresh_scores)
                rung.gains.update(self._gains({**fresh_scores, reference: scores[reference]}, reference, noise))
            alive = self._promote(rung, last_next=i + 1 == last)
            rung.promoted = alive
        top = self.rungs[-1]
        decision = decide(top.scores, {n: pool[n] for n in top.scores}, baselines, self.margin, self.final_noise)
        return decision, pool
