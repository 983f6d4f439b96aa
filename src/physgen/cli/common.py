"""Argument types of the CLI verbs and the parser class whose errors are one line."""
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


def number(kind: type, check: Callable[[float], bool], need: str) -> Callable[[str], float]:
    """The argparse type of a finite ``kind`` (int or float) for which ``check`` holds; its error says "must be
    ``need``"."""
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


finite_float = number(float, lambda v: True, "finite")
seed_int = number(int, lambda v: 0 <= v < 2 ** 63, "in 0 .. 2**63 - 1")   # train.seed's range (a signed 64-bit)


def declared(kind: type, constraint) -> Callable[[str], object]:
    """The argument type of a value declared as ``kind`` within ``constraint`` (:mod:`physgen.constraints`; None:
    any value of ``kind``), with the constraint's words in its error."""
    if constraint is None:
        return kind
    need = constraint.describe().removesuffix(" or none")   # (a flag's value is never none)
    return number(kind, constraint.accepts, need.removeprefix("a number ").removeprefix("an integer "))


def float_list(text: str) -> list[float]:
    """``"1.5,2.0,2.269"`` -> ``[1.5, 2.0, 2.269]`` (finite numbers only)."""
    return [finite_float(part) for part in text.split(",") if part.strip()]


def lattice_size(text: str) -> int:
    """``--size``: an integer L >= 2."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 2")
    return value


def t_range(text: str) -> list[float]:
    """``"1.0:3.5:16"`` -> 16 evenly spaced temperatures from 1.0 to 3.5 inclusive."""
    import numpy as np

    parts = text.split(":")
    try:
        lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"{text!r} is not LOW:HIGH:COUNT (e.g. 1.0:3.5:16)") from None
    if len(parts) != 3 or n < 1 or not (math.isfinite(lo) and math.isfinite(hi)):
        raise argparse.ArgumentTypeError(f"{text!r} is not LOW:HIGH:COUNT with finite bounds and COUNT >= 1")
    return [float(t) for t in np.linspace(lo, hi, n)]
