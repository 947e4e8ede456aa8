"""What a sweep optimises: a validation metric of one strategy's row, never a test metric."""

from __future__ import annotations

import pytest

from ganaug.classify.summary import optimized_value
from ganaug.errors import GanaugError


def _row(strategy: str, test: float, val: float | None) -> dict:
    return {"strategy": strategy, "balanced_accuracy": test, "val_balanced_accuracy": val, "val_macro_f1": val}


def test_the_objective_is_a_validation_metric_of_the_chosen_strategy() -> None:
    rows = [_row("none", 0.9, 0.5), _row("gan", 0.1, 0.7)]
    assert optimized_value(rows) == 0.7  # the last strategy's validation score, not its test score 0.1
    assert optimized_value(rows, "val_macro_f1", "none") == 0.5


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"metric": "balanced_accuracy"}, "metric=.balanced_accuracy.: unknown validation metric"),
        ({"strategy": "oversample"}, "optimized_strategy=oversample"),
    ],
)
def test_a_test_metric_or_an_absent_strategy_is_refused(kwargs: dict, needle: str) -> None:
    with pytest.raises(GanaugError, match=needle):
        optimized_value([_row("none", 0.9, 0.5)], **kwargs)


def test_a_run_without_a_validation_split_cannot_be_optimised() -> None:
    with pytest.raises(GanaugError, match="no validation score.*val_fraction"):
        optimized_value([_row("none", 0.9, None)])
