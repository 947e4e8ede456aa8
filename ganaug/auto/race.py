"""Racing candidates in rungs of growing training budgets (successive halving), decided at the full budget.

The race runs in two legs.

1. **The reference.** The baselines train the short budgets first, each compared only with the others of
   its family (`families`: baselines whose ranking at a short budget says something about their ranking at
   full length). A baseline whose upper confidence bound (gain + margin x standard error) falls below its
   family's best is dropped, and of the rest only the best `keep`-th goes on; before the full budget, only
   each family's best. Those leaders train the full budget once (on the first split), and the best of them
   is the reference. Families exist because a short budget ranks different kinds of correction unfairly:
   on MNIST-LT, at a fifth of the epochs, the strategies that rebalance from the first batch lead the loss
   fixes by 5 to 30 points, and at full length the order reverses (benchmarks/results/README.md).
2. **The challengers.** The other candidates, and those `after_rung` builds on the reference, race against
   the reference through the short budgets, with the same drop rule and halving. The last rung holds the
   reference and the best challenger, each trained on every split of the decision (paired runs, so their
   gain has an uncertainty of its own, as `decide` measures it); the challenger replaces the reference only
   by beating it by more than `margin` standard errors.

With one budget there are no short rungs: every baseline trains the full budget on every split, and so do
the candidates `after_rung` builds on the best of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ganaug.auto.decision import Decision, Gain, Noise, Score, best_baseline, decide, mean_balanced_accuracy
from ganaug.errors import GanaugError, at_least, checked_fields

T = TypeVar("T")


@dataclass
class Rung:
    """One rung of the race: its training length, the candidates it scored (on how many splits), their
    gains over the race's reference, and who went on."""

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


# score(candidates, rung index, epochs, every split) -> scores per candidate (one per split it was trained on)
Scorer = Callable[[Mapping[str, T], int, int, bool], dict[str, list[Score]]]


def _ranked(names: Sequence[str], scores: Mapping[str, Sequence[Score]]) -> list[str]:
    """`names` by mean balanced accuracy, best first."""
    return sorted(names, key=lambda n: -mean_balanced_accuracy(scores[n]))


@dataclass
class Race(Generic[T]):
    """The rungs' budgets, how candidates are scored, and the rules that promote them (module docstring).

    `early_noise` is what a gain's uncertainty accounts for when scored on one split (the short rungs and
    the reference's rung), `final_noise` at the last rung (every split); `keep` is the halving factor;
    `families` group the baselines (those in none form one more family). A gain whose uncertainty is
    infinite (nothing known of its noise) is never below the leader's.
    """

    budgets: Sequence[int]
    score: Scorer
    baselines: Sequence[str]
    early_noise: Noise
    final_noise: Noise
    margin: float = 1.0
    keep: int = field(default=2, metadata={"check": at_least(2)})
    families: Sequence[Sequence[str]] = ()
    rungs: list[Rung] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.budgets or list(self.budgets) != sorted(set(self.budgets)):
            raise GanaugError(f"rung budgets {list(self.budgets)}: give increasing epoch counts")
        checked_fields(self)

    def _families(self, baselines: Sequence[str]) -> list[list[str]]:
        """`baselines` grouped by family (the ones in no family together), each family in race order."""
        groups = [[n for n in baselines if n in family] for family in self.families]
        grouped = {n for group in groups for n in group}
        groups.append([n for n in baselines if n not in grouped])
        return [group for group in groups if group]

    def _gains(self, scores: Mapping[str, Sequence[Score]], reference: Sequence[Score], noise: Noise
               ) -> dict[str, Gain]:  # fmt: skip
        return {name: noise.gain(values, reference) for name, values in scores.items()}

    def _survivors(self, names: Sequence[str], scores: Mapping[str, Sequence[Score]], leader: Sequence[Score],
                   last_next: bool) -> tuple[list[str], list[str]]:  # fmt: skip
        """Of `names`: those that go on (best first: the best 1/keep of those whose upper confidence bound
        reaches `leader`'s scores, or only the best one before the last rung) and those dropped (below it)."""
        gains = self._gains({n: scores[n] for n in names}, leader, self.early_noise)
        reaches = [n for n in names if math.isinf(gains[n].uncertainty)
                   or gains[n].mean + self.margin * gains[n].uncertainty >= 0]  # fmt: skip
        alive = _ranked(reaches, scores)
        return alive[:1] if last_next else alive[: math.ceil(len(alive) / self.keep)], [
            n for n in names if n not in alive
        ]

    def _score(self, pool: Mapping[str, T], names: Sequence[str], rung: int, epochs: int, every: bool
               ) -> dict[str, list[Score]]:  # fmt: skip
        return self.score({n: pool[n] for n in names}, rung, epochs, every)

    def _challenge(self, rung: Rung, pool: dict[str, T], fresh: Sequence[str], every: bool, noise: Noise,
                   after_rung: Callable[[Rung], Mapping[str, T]] | None) -> None:  # fmt: skip
        """Score `fresh` at `rung`'s budget, then what `after_rung` adds (seeing the scores so far), until it
        adds nothing new; the rung's gains are over its reference."""
        while True:
            if fresh:
                rung.scores.update(self._score(pool, fresh, rung.index, rung.epochs, every))
            rung.gains = self._gains(rung.scores, rung.scores[rung.reference], noise)
            added = after_rung(rung) if after_rung is not None else {}
            fresh = [n for n, c in added.items() if n not in pool and c not in pool.values()]
            if not fresh:
                return
            pool.update({n: added[n] for n in fresh})

    def _finalists(self, pool: Mapping[str, T], baselines: list[str]) -> list[str]:
        """The first leg: the baselines that reach the last rung. The baselines race within their families over
        the short rungs; the families' leaders train the full budget on the first split, and the best is the
        reference (module docstring). With no short rungs, every baseline goes to the last rung."""
        short = self.budgets[:-1]
        families = self._families(baselines)
        for i, epochs in enumerate(short):
            scores = self._score(pool, [n for f in families for n in f], i, epochs, False)
            rung = Rung(i, epochs, best_baseline(scores, list(scores)), scores, {})
            cuts = [self._survivors(f, scores, scores[best_baseline(scores, f)], i + 1 == len(short)) for f in families]
            families = [promoted for promoted, _ in cuts]
            rung.promoted = [n for f in families for n in f]
            rung.dropped = [n for _, dropped in cuts for n in dropped]
            self.rungs.append(rung)
        leaders = [n for f in families for n in f]
        if not short or len(leaders) == 1:
            return leaders
        scores = self._score(pool, leaders, len(short), self.budgets[-1], False)
        reference = best_baseline(scores, leaders)
        gains = self._gains(scores, scores[reference], self.early_noise)
        self.rungs.append(Rung(len(short), self.budgets[-1], reference, scores, gains, [reference]))
        return [reference]

    def run(
        self,
        candidates: Mapping[str, T],
        after_rung: Callable[[Rung], Mapping[str, T]] | None = None,
    ) -> tuple[Decision[T], dict[str, T]]:
        """Race `candidates` (baselines among them) in the two legs of the module docstring. After each short
        rung of the second leg (with one budget: at the only rung), `after_rung(rung)` may add candidates,
        scored at that rung's budget (e.g. ones built on the reference); it is called again, seeing their
        scores, until it adds none. Returns the decision at the last rung and every candidate that raced."""
        pool = dict(candidates)
        baselines = [n for n in pool if n in self.baselines]
        if not baselines:
            raise GanaugError("no baseline among the candidates; every race needs one as its reference")
        finalists = self._finalists(pool, baselines)
        short = self.budgets[:-1]
        challengers = [n for n in pool if n not in self.baselines]
        for i in range(len(short)):
            rung = self.rungs[i]
            rung.reference = finalists[0]
            self._challenge(rung, pool, challengers, False, self.early_noise, after_rung)
            entrants = [n for n in rung.scores if n not in self.baselines]
            last_next = i + 1 == len(short)
            challengers, dropped = self._survivors(entrants, rung.scores, rung.scores[rung.reference], last_next)
            rung.promoted += challengers
            rung.dropped += dropped
        scores = self._score(pool, [*finalists, *challengers], len(self.rungs), self.budgets[-1], True)
        last = Rung(len(self.rungs), self.budgets[-1], best_baseline(scores, finalists), scores, {})
        self.rungs.append(last)
        self._challenge(last, pool, [], True, self.final_noise, None if short else after_rung)
        decision = decide(last.scores, {n: pool[n] for n in last.scores}, finalists, self.margin, self.final_noise)
        return decision, pool
