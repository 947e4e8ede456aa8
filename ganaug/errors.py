"""Bad input: the one exception type ganaug raises for it, and the parameter constraints that detect it.

A constraint is declared once, next to the parameter it checks (`@checked(ratio=at_least(1))` on the
function that takes it, or `checked_fields` on a settings dataclass). The function checks it on every call,
and the command line checks the same declarations against a config before anything runs
(`check_arguments`), so one rule has one home. Messages name the parameter as `name=value`; a caller that
took the value from elsewhere renames it (`GanaugError.renamed`: the command line maps `ratio` to
`imbalance.ratio`).
"""

from __future__ import annotations

import functools
import inspect
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class GanaugError(ValueError):
    """A user-facing error: one line naming what is wrong and how to fix it.

    The command line prints it alone (no traceback) and exits non-zero. It is a ValueError, so code that
    guards against bad values in general catches it too.
    """

    def renamed(self, names: Mapping[str, str]) -> GanaugError:
        """The same error with every `name=` of a parameter in `names` written as `names[name]=`."""
        text = str(self)
        for name, key in names.items():
            text = re.sub(rf"(?<![\w.]){re.escape(name)}=", f"{key}=", text)
        return type(self)(text) if type(self) is not GanaugError else GanaugError(text)


@dataclass(frozen=True)
class Constraint:
    """A rule one parameter's value must follow: `holds(value)`, and `rule`, the words saying it (`{name}`
    stands for the parameter's name)."""

    holds: Callable[[Any], bool]
    rule: str

    def check(self, name: str, value: Any) -> None:
        """Raise a GanaugError `name=value: <rule>` unless the value follows the rule (`name=value: <reason>`
        when the rule's own check refuses the value with a GanaugError saying why)."""
        try:
            ok = bool(self.holds(value))
        except TypeError:
            ok = False
        except GanaugError as reason:
            raise GanaugError(f"{name}={value!r}: {reason}") from None
        if not ok:
            raise GanaugError(f"{name}={value!r}: {self.rule.format(name=name)}")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def positive() -> Constraint:
    """Greater than 0 (NaN is not)."""
    return Constraint(lambda v: _number(v) and v > 0, "must be > 0")


def at_least(low: float) -> Constraint:
    """At least `low` (NaN is not)."""
    return Constraint(lambda v: _number(v) and v >= low, f"must be >= {low:g}")


def at_most(high: float) -> Constraint:
    """At most `high` (NaN is not)."""
    return Constraint(lambda v: _number(v) and v <= high, f"must be <= {high:g}")


def between(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Constraint:
    """In the interval from `low` to `high`, each end open or closed (NaN is not)."""

    def holds(v: Any) -> bool:
        if not _number(v):
            return False
        above = v > low if low_open else v >= low
        below = v < high if high_open else v <= high
        return above and below

    if low_open and high_open:
        words = f"must lie strictly between {low:g} and {high:g}"
    else:
        words = f"must lie in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    return Constraint(holds, words)


def seed() -> Constraint:
    """A random seed numpy and torch both take: an integer in 0..2**32 - 1."""
    return Constraint(lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**32,
                      "must be an integer in 0..4294967295 (the seeds numpy and torch take)")  # fmt: skip


def one_of(choices: Iterable[Any], what: str = "{name}") -> Constraint:
    """One of `choices` (`what` names the kind of value in the message: "unknown <what>; pick one of ...")."""
    allowed = tuple(choices)
    return Constraint(lambda v: v in allowed, f"unknown {what}; pick one of " + ", ".join(map(str, allowed)))


def optional(constraint: Constraint) -> Constraint:
    """None, or a value following `constraint`."""
    return Constraint(lambda v: v is None or constraint.holds(v), f"{constraint.rule} (or null)")


def each(constraint: Constraint) -> Constraint:
    """A sequence whose every item follows `constraint`."""
    return Constraint(lambda v: all(constraint.holds(x) for x in v), f"every item: {constraint.rule}")


CONSTRAINTS = "__ganaug_constraints__"


def checked(**constraints: Constraint) -> Callable[[F], F]:
    """Declare constraints on a function's (or `__init__`'s) parameters and check them on every call."""

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)
        unknown = sorted(set(constraints) - set(signature.parameters))
        if unknown:
            raise TypeError(f"{fn.__qualname__} has no parameters {unknown} to constrain")

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            for name, constraint in constraints.items():
                constraint.check(name, bound.arguments[name])
            return fn(*args, **kwargs)

        setattr(wrapper, CONSTRAINTS, dict(constraints))
        return wrapper  # type: ignore[return-value]

    return decorate


def constraints_of(target: Any) -> dict[str, Constraint]:
    """The constraints declared on a function, a class's `__init__`, or a dataclass's fields."""
    fn = target.__init__ if inspect.isclass(target) else target
    declared = dict(getattr(fn, CONSTRAINTS, {}))
    if inspect.isclass(target) and hasattr(target, "__dataclass_fields__"):
        declared.update({f.name: f.metadata["check"] for f in fields(target) if "check" in f.metadata})
    return declared


def check_arguments(target: Any, values: Mapping[str, Any]) -> None:
    """Check `values` (parameter name -> value) against the constraints `target` declares, without calling it."""
    for name, constraint in constraints_of(target).items():
        if name in values:
            constraint.check(name, values[name])


def checked_fields(instance: Any) -> None:
    """Check a dataclass instance's fields against the constraints in their metadata (`check=`)."""
    check_arguments(type(instance), {f.name: getattr(instance, f.name) for f in fields(instance)})
