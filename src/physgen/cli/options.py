"""Command-line arguments declared as data.

Every verb lists its arguments once, as a tuple of :class:`Arg` rows (its flag, help, range, choices, default
and grouping), and :func:`add` is the one place that turns rows into argparse arguments.  The same rows give
``--help``, the one-line errors (a value outside ``range`` is refused with the constraint's own words,
:func:`physgen.cli.common.declared`) and the generated CLI reference (:mod:`physgen.cli.reference`, which reads
the parsers built here).  A row that sets a field of an options dataclass takes its range, choices and default
from that declaration (:func:`keyed`), so the dataclass states them once for the command line and the Python
API alike.
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from physgen.cli.common import EXAMPLE_FMT, ArgumentParser, declared, number, seed_int
from physgen.constraints import Constraint, Interval


@dataclass(frozen=True)
class Arg:
    """One argument of a verb.

    ``flag`` is ``--name`` for an option or a bare name for a positional argument.  The value is parsed by
    ``type``, or, with a numeric ``range`` (:class:`~physgen.constraints.Interval`), as a number of the range's
    kind inside it.  ``group`` puts the row under a titled section of ``--help``; rows sharing an ``exclusive``
    name form a mutually exclusive group, which is required when one of its rows says ``required``.  The other
    fields are argparse's, and a field left at None is left to argparse."""

    flag: str
    help: str | None = None
    range: Constraint | None = None
    type: Callable[[str], Any] | None = None
    default: Any = None
    choices: Sequence[Any] | None = None
    required: bool = False
    metavar: str | None = None
    action: str | type[argparse.Action] | None = None
    dest: str | None = None
    const: Any = None
    nargs: int | str | None = None
    group: str | None = None
    exclusive: str | None = None

    @property
    def name(self) -> str:
        """The attribute the parsed value lands on."""
        return self.dest or self.flag.lstrip("-").replace("-", "_")

    def parser_type(self) -> Callable[[str], Any] | None:
        """The argparse ``type``: ``type`` itself, or the range's kind checked against the range."""
        if self.type is not None or self.range is None:
            return self.type
        return declared(self.range.kind if isinstance(self.range, Interval) else str, self.range)

    def keywords(self) -> dict[str, Any]:
        """The keyword arguments of ``add_argument`` for this row (the fields that are set)."""
        out = {"help": self.help, "type": self.parser_type(), "default": self.default, "choices": self.choices,
               "metavar": self.metavar, "action": self.action, "dest": self.dest, "const": self.const,
               "nargs": self.nargs}
        out = {key: value for key, value in out.items() if value is not None}
        if self.required and self.exclusive is None:
            out["required"] = True
        return out


def add(parser: argparse.ArgumentParser, rows: Iterable[Arg]) -> argparse.ArgumentParser:
    """Add ``rows`` to ``parser`` in their order, with their titled and mutually exclusive groups."""
    rows = tuple(rows)
    titled: dict[str, Any] = {}
    exclusive: dict[str, Any] = {}
    for row in rows:
        container: Any = parser
        if row.group is not None:
            container = titled.get(row.group) or titled.setdefault(row.group, parser.add_argument_group(row.group))
        if row.exclusive is not None:
            if row.exclusive not in exclusive:
                needed = any(r.required for r in rows if r.exclusive == row.exclusive)
                exclusive[row.exclusive] = container.add_mutually_exclusive_group(required=needed)
            container = exclusive[row.exclusive]
        container.add_argument(row.flag, **row.keywords())
    return parser


def keyed(cls: type, field: str, flag: str, help: str, **extra: Any) -> Arg:
    """The row of ``flag`` setting ``cls``'s field ``field``: its default, its ``Literal`` choices and its declared
    range are the dataclass's (:func:`physgen.fields.declaration`); a bool field is an on/off switch (``--flag``
    / ``--no-flag``).  ``{default}`` in ``help`` (``{default:g}``) is the dataclass's default.  ``extra`` sets the
    row's other fields (``metavar``, ``group``, ...)."""
    from physgen.fields import declaration

    d = declaration(cls, field)
    row: dict[str, Any] = {"dest": field, "default": d.default, "choices": d.choices, "range": d.range}
    if d.switch:
        row["action"] = argparse.BooleanOptionalAction
    return Arg(flag, help.format(default=d.default), **{**row, **extra})


def values(cls: type, rows: Iterable[Arg], args: argparse.Namespace, **more: Any) -> Any:
    """``cls`` built from the parsed values of the ``rows`` that name one of its fields, and ``more``."""
    fields = {f.name for f in dataclasses.fields(cls)}
    given = {row.name: getattr(args, row.name) for row in rows if row.name in fields}
    return cls(**{**given, **more})


def verb(sub, name: str, help: str, example: str, func: Callable, rows: Iterable[Arg] = ()) -> ArgumentParser:
    """Register the verb ``name`` with its arguments ``rows``; its ``--help`` ends with the runnable ``example``."""
    parser = sub.add_parser(name, help=help, description=help, epilog=f"Example:\n  {example}",
                            formatter_class=EXAMPLE_FMT)
    parser.set_defaults(func=func)
    return add(parser, rows)


def out_args(*, required: bool = True, help: str = "output file") -> tuple[Arg, Arg]:
    """``--out`` and ``--overwrite``."""
    return (Arg("--out", help, required=required),
            Arg("--overwrite", "replace --out if it already exists", action="store_true"))


def seed_arg(default: int = 0, *, below: int = 2 ** 63) -> Arg:
    """``--seed``: an integer in ``0 .. below - 1`` (the generators' range: 2**63 by default; 2**32 where
    scikit-learn takes the seed)."""
    kind = seed_int if below == 2 ** 63 else number(int, lambda v: 0 <= v < below, f"in 0 .. {below - 1}")
    return Arg("--seed", f"random seed (default {default})", type=kind, default=default)


def checkpoint_arg(help: str = "which checkpoint to use (default best)") -> Arg:
    """``--checkpoint best|latest`` (the attribute ``which``)."""
    return Arg("--checkpoint", help, dest="which", choices=("best", "latest"), default="best")
