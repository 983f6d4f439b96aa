"""Argument types and shared options for the CLI verbs."""
from __future__ import annotations

import argparse
import math
import sys
from typing import Callable, NoReturn

EXAMPLE_FMT = argparse.RawDescriptionHelpFormatter


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``physgen <verb>: error: <message>`` and exit code 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _number(kind: type, check: Callable[[float], bool], need: str) -> Callable[[str], float]:
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {kind.__name__}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not finite")
        if not check(value):
            raise argparse.ArgumentTypeError(f"{text!r} must be {need}")
        return value
    parse.__name__ = f"{kind.__name__} {need}"
    return parse


positive_int = _number(int, lambda v: v >= 1, ">= 1")
nonneg_int = _number(int, lambda v: v >= 0, ">= 0")
positive_float = _number(float, lambda v: v > 0, "> 0")
finite_float = _number(float, lambda v: True, "finite")
seed_int = _number(int, lambda v: 0 <= v < 2 ** 63, "in 0 .. 2**63 - 1")   # train.seed's range (a signed 64-bit)


def declared(kind: type, constraint) -> Callable[[str], object]:
    """The argument type of a value declared as ``kind`` within ``constraint`` (:mod:`physgen.constraints`; None:
    any value of ``kind``), with the constraint's words in its error."""
    if constraint is None:
        return kind
    need = constraint.describe().removesuffix(" or none")   # (a flag's value is never none)
    return _number(kind, constraint.accepts, need.removeprefix("a number ").removeprefix("an integer "))


def float_list(text: str) -> list[float]:
    """``"1.5,2.0,2.269"`` -> ``[1.5, 2.0, 2.269]`` (finite numbers only)."""
    return [finite_float(part) for part in text.split(",") if part.strip()]


def add_out(parser: argparse.ArgumentParser, *, required: bool = True, help: str = "output file") -> None:
    parser.add_argument("--out", required=required, help=help)
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it already exists")


def add_seed(parser: argparse.ArgumentParser, default: int = 0, *, below: int = 2 ** 63) -> None:
    """``--seed``: an integer in ``0 .. below - 1`` (the generators' range: 2**63 by default; 2**32 where
    scikit-learn takes the seed)."""
    kind = seed_int if below == 2 ** 63 else _number(int, lambda v: 0 <= v < below, f"in 0 .. {below - 1}")
    parser.add_argument("--seed", type=kind, default=default, help=f"random seed (default {default})")


def add_verb(sub, name: str, help: str, example: str, func) -> ArgumentParser:
    """Register a verb whose ``--help`` ends with a runnable example."""
    parser = sub.add_parser(name, help=help, description=help, epilog=f"Example:\n  {example}",
                            formatter_class=EXAMPLE_FMT)
    parser.set_defaults(func=func)
    return parser
