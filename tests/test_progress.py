"""Progress bars show on a terminal only, unless a setting says always or never."""

from __future__ import annotations

import io

import pytest

from ganaug import progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("setting", "terminal", "expected"), [(None, True, True), (None, False, False),
                                                               (True, False, True), (False, True, False)])
def test_a_bar_shows_as_the_setting_or_the_terminal_says(monkeypatch, setting, terminal, expected) -> None:
    monkeypatch.setattr("sys.stderr", _Terminal() if terminal else io.StringIO())
    assert progress.shown(setting) is expected
    with progress.bar(3, "work", show=setting) as shown:
        shown.update(3)
    assert ("work" in progress.sys.stderr.getvalue()) is expected
