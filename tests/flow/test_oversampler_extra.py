"""Without imbalanced-learn, ganaug imports and GANOverSampler names the extra that brings it."""

from __future__ import annotations

import sys

import pytest

import ganaug
from ganaug.errors import GanaugError


def test_the_sampler_without_imblearn_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in sys.modules if n.split(".")[0] == "imblearn"] + ["imblearn"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "ganaug.flow.oversampler", raising=False)
    with pytest.raises(GanaugError, match=r"needs imbalanced-learn .*pip install 'ganaug\[imblearn\]'"):
        ganaug.GANOverSampler  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        ganaug.Nope  # noqa: B018
