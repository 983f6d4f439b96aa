"""The option that sets a parameter or config key, read from the argparse parsers.

Library errors name what the Python caller passed (:class:`physgen.errors.UserError` with ``key=``): a
function's parameter (``n``) or a config key (``train.max_time``).  On the command line the same mistake
names the option the user typed, read from the parser of the verb that ran: an option's ``dest`` is the
parameter it sets.  A key no option's ``dest`` matches is shown as it is: a config key such as
``train.max_time`` may come from ``--set``, ``--config`` or an option, so it stays the key.
"""
from __future__ import annotations

import argparse
from typing import Callable


def option_namer(parser: argparse.ArgumentParser, func: Callable) -> Callable[[str], str]:
    """``name(key)``: the option of ``key`` among the options of the parsers on the way from ``parser`` to the
    verb whose ``func`` ran (its sub-verb's options win), else ``key`` itself."""
    options: dict[str, str] = {}
    for p in _path(parser, func) or [parser]:
        for action in p._actions:
            long = [s for s in action.option_strings if s.startswith("--")]
            if not long or action.dest == argparse.SUPPRESS:
                continue
            options[action.dest] = long[0]
    return OptionNames(options)


class OptionNames:
    """``name(key)``: the option of ``key`` in ``options`` (dest -> option), else ``key``; picklable, so a worker
    process names keys as its parent does."""

    def __init__(self, options: dict[str, str]):
        self.options = dict(options)

    def __call__(self, key: str) -> str:
        return self.options.get(key, key)


def _path(parser: argparse.ArgumentParser, func: Callable) -> list[argparse.ArgumentParser] | None:
    """The parsers from ``parser`` down to the one whose default ``func`` is ``func``; None if there is none."""
    if parser.get_default("func") is func:
        return [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                if (path := _path(sub, func)) is not None:
                    return [parser, *path]
    return None
