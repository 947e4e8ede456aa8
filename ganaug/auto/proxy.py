"""Whether a cheaper proxy (fewer epochs) can stand in for full-length training when scoring candidates.

The proxy is trusted when it ranks the baselines as the full length does and, with a probe (a GAN candidate
scored at both lengths), measures the probe's gain over the best baseline as the full length does. A shorter
training can rank the classical strategies right and still understate what generated samples add, which the
baselines alone would not show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from ganaug.auto.decision import Score, decide, mean_balanced_accuracy
from ganaug.errors import GanaugError

PROXY_MIN_TAU = 0.6
MIN_BASELINES_FOR_PROXY = 3  # with fewer, a ranking check says nothing: candidates train the full length


def kendall_tau(first: list[str], second: list[str]) -> float:
    """Kendall's rank correlation of two orderings of the same names (1: same order, -1: reversed)."""
    if sorted(first) != sorted(second):
        raise GanaugError("rankings of different candidates cannot be compared")
    pos = {name: i for i, name in enumerate(second)}
    pairs = [(a, b) for i, a in enumerate(first) for b in first[i + 1 :]]
    if not pairs:
        return 1.0
    return sum(1 if pos[a] < pos[b] else -1 for a, b in pairs) / len(pairs)


def _ranking(scores: Mapping[str, Sequence[Score]]) -> list[str]:
    return sorted(scores, key=lambda name: -mean_balanced_accuracy(scores[name]))


@dataclass(frozen=True)
class ProbeGains:
    """The probe's paired gain over the best baseline at both lengths (full: with its uncertainty)."""

    probe: str
    probe_gain_full: float
    probe_uncertainty_full: float
    probe_gain_proxy: float
    probe_uncertainty_proxy: float


@dataclass(frozen=True)
class ProxyCheck:
    """The proxy check's evidence and verdict (`trusted`)."""

    proxy_epochs: int
    full_epochs: int
    proxy_ranking: list[str]
    full_ranking: list[str]
    kendall_tau: float
    trusted: bool
    probe: ProbeGains | None = None

    def to_json(self) -> dict:
        """A flat JSON-ready form (the probe's fields beside the ranking's)."""
        out = {k: v for k, v in asdict(self).items() if k != "probe"}
        return {**out, **(asdict(self.probe) if self.probe is not None else {})}


def proxy_check(
    proxy_scores: Mapping[str, Sequence[Score]],
    full_scores: Mapping[str, Sequence[Score]],
    proxy: int,
    epochs: int,
    baselines: Sequence[str],
    probe: str | None = None,
    margin: float = 1.0,
    holdout_ratio: float = 0.0,
    holdout_counts: Sequence[int] | None = None,
    min_tau: float = PROXY_MIN_TAU,
) -> ProxyCheck:
    """Whether the cheaper proxy ranks candidates as full-length training does on the same splits.

    Trusted when both pick the same best baseline, Kendall's tau of the baselines' two rankings is at
    least `min_tau` (with four baselines, one swapped pair gives 0.67) and, with a `probe`, the proxy
    measures the probe's gain over the best baseline as the full length does: the same verdict at
    `margin` standard errors, and a gain within one standard error of the full-length gain.
    """
    proxy_rank = _ranking({name: proxy_scores[name] for name in baselines})
    full_rank = _ranking({name: full_scores[name] for name in baselines})
    tau = kendall_tau(proxy_rank, full_rank)
    trusted = proxy_rank[0] == full_rank[0] and tau >= min_tau
    gains = None
    if probe is not None:
        names = [*baselines, probe]
        full, short = (
            decide(
                {name: scores[name] for name in names}, dict.fromkeys(names), baselines, margin, holdout_ratio,
                holdout_counts,
            ).results[probe].gain
            for scores in (full_scores, proxy_scores)
        )  # fmt: skip
        agrees = full.beats(margin) == short.beats(margin) and abs(short.mean - full.mean) <= full.uncertainty
        trusted = trusted and agrees
        gains = ProbeGains(probe, full.mean, full.uncertainty, short.mean, short.uncertainty)
    return ProxyCheck(proxy, epochs, proxy_rank, full_rank, tau, trusted, gains)
