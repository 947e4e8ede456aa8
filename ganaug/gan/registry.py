"""Building a network registered by name (timm-style), with one-line errors for a wrong name or argument."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from ganaug.errors import GanaugError


def build_registered(kind: str, registry: Mapping[str, type], name: str, kwargs: dict[str, Any]) -> Any:
    """`registry[name](**kwargs)`, naming the known names or the accepted arguments when either is wrong."""
    if name not in registry:
        raise GanaugError(f"unknown {kind} '{name}'; known {kind}s: {', '.join(sorted(registry))}")
    accepted = [p for p in inspect.signature(registry[name]).parameters if p not in ("self", "args", "kwargs")]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise GanaugError(
            f"{kind} '{name}' takes no argument {', '.join(unknown)}; it takes: {', '.join(accepted)} "
            f"(check {kind}_kwargs)"
        )
    return registry[name](**kwargs)
