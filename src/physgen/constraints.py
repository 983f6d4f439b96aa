"""Declared parameter constraints, checked in one place.

An options dataclass declares the range of each numeric field once, in a class attribute
``constraints = {"n_hidden": Interval(int, 1, None), "p_uncond": Interval(float, 0, 1, closed="left"), ...}``
(the style of scikit-learn's ``_parameter_constraints``), and its ``__post_init__`` calls
:func:`physgen.config.validate`, which checks the ``Literal`` choices and then every declared constraint
(:func:`declared`) of the class and of its bases.  The same constraint objects check a function's arguments
(:func:`require`).  A value outside its constraint is a :class:`~physgen.errors.UserError` with the key, the
value and what is needed (``model.n_hidden=0: must be an integer >= 1``; the CLI names the flag that set the
key).  What depends on several options at once (an odd kernel no larger than the lattice, a sampler that needs
a schedule) stays in the class's own checks, after that call.
"""
from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping

from physgen.errors import UserError

Closed = Literal["both", "left", "right", "neither"]


@dataclass(frozen=True)
class Interval:
    """Numbers of ``kind`` (``int``: integers, never ``bool``; ``float``: any finite real number) between ``low``
    and ``high`` (None: unbounded on that side), the ends included as ``closed`` says; ``none=True`` also admits
    None.  ``Interval(int, 1, None)`` is "an integer >= 1", ``Interval(float, 0, 1, closed="left")`` "a number
    in [0, 1)"."""

    kind: type
    low: float | None
    high: float | None
    closed: Closed = "both"
    none: bool = False

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.none
        if isinstance(value, bool) or not isinstance(value, numbers.Integral if self.kind is int else numbers.Real):
            return False
        if not math.isfinite(value):
            return False
        left, right = self.closed in ("both", "left"), self.closed in ("both", "right")
        if self.low is not None and (value < self.low or (value == self.low and not left)):
            return False
        return not (self.high is not None and (value > self.high or (value == self.high and not right)))

    def describe(self) -> str:
        def num(x: float) -> str:
            return str(x) if isinstance(x, int) else f"{x:g}"

        noun = "an integer" if self.kind is int else "a number"
        left, right = self.closed in ("both", "left"), self.closed in ("both", "right")
        if self.low is not None and self.high is not None:
            text = f"{noun} in {'[' if left else '('}{num(self.low)}, {num(self.high)}{']' if right else ')'}"
        elif self.low is not None:
            text = f"{noun} {'>=' if left else '>'} {num(self.low)}"
        elif self.high is not None:
            text = f"{noun} {'<=' if right else '<'} {num(self.high)}"
        else:
            text = "a finite number" if self.kind is float else noun
        return text + (" or none" if self.none else "")


@dataclass(frozen=True)
class Each:
    """A list, tuple or mapping whose every element (every value of a mapping) satisfies ``item``."""

    item: Interval | "Satisfies"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, Mapping):
            value = list(value.values())
        return isinstance(value, (list, tuple)) and all(self.item.accepts(v) for v in value)

    def describe(self) -> str:
        return f"a list whose every entry is {self.item.describe()}"


@dataclass(frozen=True)
class Satisfies:
    """A value for which ``test(value)`` holds, described by ``need`` (e.g. "an odd integer >= 3")."""

    test: Callable[[Any], bool]
    need: str

    def accepts(self, value: Any) -> bool:
        try:
            return bool(self.test(value))
        except (TypeError, ValueError):
            return False

    def describe(self) -> str:
        return self.need


Constraint = Interval | Each | Satisfies


def require(value: Any, constraint: Constraint, key: str) -> Any:
    """``value`` if it satisfies ``constraint``, else a UserError about ``key`` (a config key, or a function's
    parameter as the caller names it)."""
    if not constraint.accepts(value):
        raise UserError(f"must be {constraint.describe()}", key=key, value=repr(value) if isinstance(value, str)
                        else value)
    return value


@functools.cache
def declared(cls: type) -> tuple[tuple[str, Constraint], ...]:
    """The constraints of ``cls`` and of its bases (a subclass's declaration of a field wins), in field order."""
    merged: dict[str, Constraint] = {}
    for klass in reversed(cls.__mro__):
        merged.update(vars(klass).get("constraints", {}))
    return tuple(merged.items())


#: the common ranges, by name
POSITIVE_INT = Interval(int, 1, None)
NON_NEGATIVE_INT = Interval(int, 0, None)
POSITIVE = Interval(float, 0, None, closed="neither")
NON_NEGATIVE = Interval(float, 0, None)
FINITE = Interval(float, None, None)
#: network widths: a list of integers >= 1
WIDTHS = Each(POSITIVE_INT)
