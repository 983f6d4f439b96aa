"""What an options dataclass declares of one field, read in one place: its default, its ``Literal`` choices and
its range (the class's ``constraints`` table, merged with its bases', :mod:`physgen.constraints`).  The command
line's rows (:func:`physgen.cli.options.keyed`) and the named training options (:mod:`physgen.train_options`)
take a field's flag type, choices and default from here.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

from physgen.config import literal_choices
from physgen.constraints import Constraint, Interval, declared


@dataclass(frozen=True)
class Declaration:
    """A field's ``default`` (None where it has none), its ``choices`` (None: not a choice; a ``Literal``'s
    None left out), its ``range`` (for an int or float field without a declared one: any finite value of its
    kind) and whether it is a ``switch`` (a bool)."""

    default: Any
    choices: tuple[Any, ...] | None
    range: Constraint | None
    switch: bool


def declaration(cls: type, name: str) -> Declaration:
    """The declaration of field ``name`` of dataclass ``cls``."""
    spec = {f.name: f for f in dataclasses.fields(cls)}[name]
    default = spec.default if spec.default is not dataclasses.MISSING else None
    hint = typing.get_type_hints(cls)[name]
    choices = literal_choices(hint)
    if choices is not None:
        return Declaration(default, tuple(c for c in choices if c is not None), None, False)
    if hint in (bool, bool | None):
        return Declaration(default, None, None, True)
    kind = next((k for k in (int, float) if hint in (k, k | None)), None)
    return Declaration(default, None, dict(declared(cls)).get(name) or (kind and Interval(kind, None, None)), False)
