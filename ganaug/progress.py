"""Progress bars that show on a terminal only, so logs, CI output and files piped from a run stay clean.

Every bar ganaug draws (the GAN's steps, the bank, the quality gate, the quality metrics, auto's candidates)
is a tqdm bar made here. `shown` is the one rule: True always, False never, None (the default) when
standard error is a terminal.
"""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def shown(setting: bool | None = None) -> bool:
    """Whether a bar shows: the setting when given, else whether standard error is a terminal."""
    return sys.stderr.isatty() if setting is None else bool(setting)


def bar(
    total: float | None, desc: str, unit: str = "it", show: bool | None = None, initial: int = 0, leave: bool = False
) -> tqdm:
    """A tqdm bar of `total` `unit`s (None: a counter without an end) with an ETA; see `shown`. `leave`
    keeps the finished bar on screen (a stage's summary line) instead of clearing it."""
    return tqdm(total=total, desc=desc, unit=unit, initial=initial, disable=not shown(show), dynamic_ncols=True,
                leave=leave)  # fmt: skip
