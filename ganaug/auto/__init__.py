"""Deciding on held-back training data which strategy to train with and whether generated data helps.

For your own classifier: make splits with `stratified_folds(labels)`, write `score(candidate, split)`
(train on `split.fit`, score on `split.holdout`, return a `Score`) and call `choose(candidates, score,
splits, baselines=[...])`. ganaug's reference classifier uses `auto_search` (the `auto` strategy), which
races its candidates through rungs of growing training length (`race.Race`).
"""

from ganaug.auto.decision import Decision, Gain, Noise, Score, best_option_per_class, choose, decide, paired_gain
from ganaug.auto.race import Race, Rung
from ganaug.auto.search import (
    AUTO,
    AugmentChoice,
    AutoResult,
    AutoSearch,
    AutoSettings,
    GatedBanks,
    auto_search,
    fit_choice,
)
from ganaug.auto.splits import HoldoutSplit, stratified_folds

__all__ = [
    "AUTO",
    "AugmentChoice",
    "AutoResult",
    "AutoSearch",
    "AutoSettings",
    "Decision",
    "Gain",
    "GatedBanks",
    "HoldoutSplit",
    "Noise",
    "Race",
    "Rung",
    "Score",
    "auto_search",
    "best_option_per_class",
    "choose",
    "decide",
    "fit_choice",
    "paired_gain",
    "stratified_folds",
]
