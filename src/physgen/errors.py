"""User-facing errors.

Anything a user can get wrong (a bad option, a missing or malformed file, a checkpoint of another
model) raises :class:`UserError` with a one-line message that names the file, parameter or config key
and the problem.  An error about a parameter passes ``key=`` (the function's parameter, e.g. ``n``, or
the config key, e.g. ``train.max_time``) and, optionally, ``value=`` (the value as the user wrote it):
the message then reads ``n=0: must be >= 1``.  The CLI prints ``physgen: error: <message>``, with the
key replaced by the option that sets it (``--n 0: must be >= 1``; :mod:`physgen.cli.flags`), and exits
with status 2; library users catch it as a ``ValueError``.

A notice that is not an error (a warning line) names its key with :func:`note`, and a hint inside a message
names a parameter with :func:`as_written`: the key as it is in Python, the option inside :func:`naming` (which the
CLI enters around the verb it runs).
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator

_NAME: ContextVar[Callable[[str], str] | None] = ContextVar("physgen_key_names", default=None)


class UserError(ValueError):
    """Bad input from the user: reported on one line, exit code 2, never a traceback.

    ``key``: the parameter or config key the message is about (``"a/b"`` for two of them); ``value``: the
    value shown after it.  ``str(err)`` is ``"{key}={value}: {message}"`` (``"{key}: {message}"`` without a
    value, the bare message without a key); :meth:`render` names the key differently.
    """

    exit_code = 2

    def __init__(self, message: str, *, key: str | None = None, value: Any = None):
        self.detail = " ".join(str(message).split())  # always one line
        self.key = key
        self.value = None if value is None else " ".join(str(value).split())
        super().__init__(self.render(lambda k: k, "="))

    def render(self, name: Callable[[str], str], sep: str = " ") -> str:
        """The message with each part of the key shown as ``name(part)`` and ``sep`` before the value
        (the CLI passes the option of a key and a space: ``--n 0: must be >= 1``)."""
        if self.key is None:
            return self.detail
        parts = self.key.split("/")
        head = "/".join(name(part) for part in parts)
        if self.value is not None:   # a config key keeps its "=" (train.lr=0); an option its own separator (--lr 0)
            shown = name(parts[-1])
            head += f"{'=' if shown == parts[-1] and not shown.startswith('-') else sep}{self.value}"
        return f"{head}: {self.detail}" if self.detail else head

    def rekeyed(self, names: dict[str, str]) -> "UserError":
        """This error with each part of its key that is in ``names`` replaced by ``names[part]`` (e.g. the config
        key ``train.max_time`` by the keyword ``max_time`` that set it); returned for ``raise``."""
        if self.key is not None:
            self.key = "/".join(names.get(part, part) for part in self.key.split("/"))
            self.args = (self.render(lambda k: k, "="),)
        return self


@contextmanager
def naming(name: Callable[[str], str]) -> Iterator[None]:
    """Within the block, :func:`note` shows a key as ``name(key)`` (the CLI: the option that sets it)."""
    token = _NAME.set(name)
    try:
        yield
    finally:
        _NAME.reset(token)


def current_naming() -> Callable[[str], str] | None:
    """The ``name`` of the :func:`naming` block in effect (None outside one), to hand on to a worker process."""
    return _NAME.get()


def use_naming(name: Callable[[str], str] | None) -> None:
    """Show keys as ``name(key)`` from here on in this thread: a worker process starts with its parent's
    :func:`current_naming` (:func:`physgen.data.shards.run_processes`)."""
    _NAME.set(name)


def as_written(key: str) -> str:
    """``key`` as the user wrote it: the option that sets it inside :func:`naming`, else the key itself (for a
    hint in a message's text, e.g. ``f"lower {as_written('n')}"``)."""
    namer = _NAME.get()
    return key if namer is None else namer(key)


def note(message: str, *, key: str | None = None, value: Any = None) -> str:
    """``message`` about ``key`` (= ``value``) on one line, as :class:`UserError` would show it: ``key=value:
    message`` from Python, ``--option value: message`` inside :func:`naming`."""
    err = UserError(message, key=key, value=value)
    name = _NAME.get()
    return str(err) if name is None else err.render(name)
