"""Choosing settings on the validation split: the configurations of a sweep ranked by one strategy's
validation score, each beside the best classical strategy's.

Only `val_balanced_accuracy` (measured on the validation split carved from the training pool) is read,
never a test-split metric, so a choice made here can be reported on the test split without having been
tuned on it. Configurations are the sweep's groups (see `ganaug.report.runs`): a candidate is a group
holding the strategy being tuned; its reference is the best classical strategy, by mean validation score,
in the group with the most of the candidate's settings among those holding classical runs (the group
itself, or a reference sweep run without the tuned settings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ganaug.classify.summary import mean_std
from ganaug.errors import GanaugError
from ganaug.report.compare import uses_gan
from ganaug.report.runs import Configuration, Job, group_jobs
from ganaug.report.table import format_mean_std, markdown_table

VALIDATION = "val_balanced_accuracy"


@dataclass(frozen=True)
class Score:
    """One strategy's validation score in one configuration: mean and standard deviation over its seeds."""

    strategy: str
    mean: float
    std: float
    seeds: tuple[int, ...]


@dataclass(frozen=True)
class Candidate:
    """A configuration of the tuned strategy, with the best classical strategy it is judged against."""

    settings: tuple[str, ...]
    score: Score
    reference: Score | None

    @property
    def gain(self) -> float | None:
        """Validation balanced accuracy above the best classical strategy (None without a reference)."""
        return None if self.reference is None else self.score.mean - self.reference.mean


@dataclass(frozen=True)
class Selection:
    """The ranked candidates of one dataset and imbalance; `best` is the first."""

    label: str
    strategy: str
    candidates: tuple[Candidate, ...]

    @property
    def best(self) -> Candidate:
        """The candidate with the highest mean validation score."""
        return self.candidates[0]

    def to_json(self) -> dict:
        """The selection as JSON-ready data (the chosen overrides first)."""

        def score(s: Score | None) -> dict | None:
            return None if s is None else {"strategy": s.strategy, "mean": s.mean, "std": s.std, "seeds": list(s.seeds)}

        return {
            "configuration": self.label,
            "strategy": self.strategy,
            "metric": VALIDATION,
            "chosen_overrides": list(self.best.settings),
            "candidates": [
                {
                    "overrides": list(c.settings),
                    "score": score(c.score),
                    "reference": score(c.reference),
                    "gain": c.gain,
                }
                for c in self.candidates
            ],
        }


def _score(strategy: str, jobs: Sequence[Job]) -> Score | None:
    rows = [r for job in jobs for r in job.rows if r.get("strategy") == strategy and r.get(VALIDATION) is not None]
    mean, std, n = mean_std([r[VALIDATION] for r in rows])
    if n == 0:
        return None
    return Score(strategy, mean, std, tuple(sorted({int(r["seed"]) for r in rows if r.get("seed") is not None})))


def _best_classical(jobs: Sequence[Job]) -> Score | None:
    """The strongest strategy without generated data in the jobs, by mean validation score."""
    names = {r["strategy"] for job in jobs for r in job.rows if uses_gan(r.get("strategy", "")) is False}
    scores = [s for s in (_score(name, jobs) for name in sorted(names)) if s is not None]
    return max(scores, key=lambda s: s.mean) if scores else None


def _base(config: Configuration) -> Configuration:
    return Configuration(config.dataset, config.profile, config.ratio)


def _reference(config: Configuration, groups: dict[Configuration, list[Job]]) -> Score | None:
    """The best classical score in the same dataset and imbalance, from the group sharing most settings."""
    matches = [
        (len(other.settings), score)
        for other, jobs in groups.items()
        if _base(other) == _base(config) and set(other.settings) <= set(config.settings)
        for score in [_best_classical(jobs)]
        if score is not None
    ]
    return max(matches, key=lambda m: m[0])[1] if matches else None


def select_settings(jobs: Sequence[Job], strategy: str = "gan+classical") -> list[Selection]:
    """Per dataset and imbalance, the sweep's configurations of `strategy` ranked by validation score.

    Raises a one-line error when no run of `strategy` has a validation score (the data has no
    validation split, or the sweep did not run the strategy).
    """
    groups = group_jobs(jobs)
    ranked: dict[Configuration, list[Candidate]] = {}
    for config, members in groups.items():
        score = _score(strategy, members)
        if score is not None:
            candidate = Candidate(config.settings, score, _reference(config, groups))
            ranked.setdefault(_base(config), []).append(candidate)
    if not ranked:
        raise GanaugError(
            f"no run of strategy '{strategy}' has a validation score ({VALIDATION}); run the sweep with that "
            "strategy on data with a validation split (data.val_fraction > 0)"
        )
    return [
        Selection(base.label, strategy, tuple(sorted(cands, key=lambda c: -c.score.mean)))
        for base, cands in ranked.items()
    ]


def selection_table(selection: Selection) -> str:
    """A Markdown table of the candidates, best first, on the validation split."""
    rows = []
    for i, c in enumerate(selection.candidates):
        name = ", ".join(c.settings) or "(as configured)"
        ref = (
            "n/a"
            if c.reference is None
            else f"{c.reference.strategy} {format_mean_std(c.reference.mean, c.reference.std)}"
        )
        gain = "n/a" if c.gain is None else f"{c.gain:+.4f}"
        mark = " (chosen)" if i == 0 else ""
        seeds = ",".join(str(s) for s in c.score.seeds)
        rows.append([f"{name}{mark}", seeds, format_mean_std(c.score.mean, c.score.std), ref, gain])
    header = ["settings", "seeds", f"{selection.strategy} (validation)", "best classical (validation)", "gain"]
    return markdown_table(header, rows)
