"""Deciding on held-back training data how much generated data helps, and using it only when it does.

For your own classifier: make splits with `stratified_folds(labels)`, write `score(candidate, split)`
(train on `split.fit`, score on `split.holdout`, return a `Score`) and call `choose(candidates, score,
splits, baselines=[...])`. ganaug's reference classifier uses `auto_search` (the `auto` strategy).
"""

from ganaug.auto.decision import Decision, Gain, Score, best_option_per_class, choose, decide, paired_gain
from ganaug.auto.report import candidates_table, verdict
from ganaug.auto.search import AugmentChoice, AutoResult, AutoSettings, GatedBanks, auto_search, fit_choice
from ganaug.auto.splits import HoldoutSplit, stratified_folds

__all__ = [
    "AugmentChoice",
    "AutoResult",
    "AutoSettings",
    "Decision",
    "Gain",
    "GatedBanks",
    "HoldoutSplit",
    "Score",
    "auto_search",
    "best_option_per_class",
    "candidates_table",
    "choose",
    "decide",
    "fit_choice",
    "paired_gain",
    "stratified_folds",
    "verdict",
]
