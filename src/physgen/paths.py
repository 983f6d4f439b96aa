"""User paths: conversion, existence checks, and the rule that no output replaces an input.

Any path the operating system accepts is a valid physgen path, including names that are not UTF-8.
On POSIX, Python represents such a name as a ``str`` whose undecodable bytes are lone surrogates
(``os.fsdecode``, PEP 383); :func:`as_path` accepts ``str``, ``bytes`` or ``os.PathLike`` and returns
such a :class:`~pathlib.Path`, which every ``os`` call turns back into the original bytes
(``os.fsencode``).  :func:`shown` gives a printable form for messages.

:func:`refuse_overwriting_inputs` is the one check every writing verb calls before its work: an output
that is one of the inputs (the same file after following links, hard links included, or a directory
holding one) is refused, with or without ``--overwrite``.  It also records the inputs, so that
:func:`physgen.atomic.atomic_path` refuses to replace one of them whatever the name it is given.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Union

from physgen.errors import UserError

PathArg = Union[str, bytes, os.PathLike]

_PROTECTED: dict[tuple[int, int], str] = {}  # (st_dev, st_ino) of this command's inputs -> "--flag PATH"


def as_path(path: PathArg) -> Path:
    """``path`` (``str``, ``bytes`` or path-like) as a Path; undecodable bytes become surrogates (PEP 383)."""
    return Path(os.fsdecode(path))


def shown(path: PathArg) -> str:
    """``path`` as text that can always be printed: undecodable bytes appear as ``\\xNN``."""
    raw = os.fsencode(path)
    return raw.decode("utf-8", errors="backslashreplace")


def refuse_unreachable(path: PathArg, what: str) -> None:
    """Raise a UserError naming ``what`` when ``path`` cannot be reached for a reason other than being absent:
    a symlink loop (``ELOOP``), a denied permission, a file used as a directory, ...  (Callers say "no such
    file" in their own words.)"""
    try:
        os.stat(as_path(path))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UserError(f"{what}: {describe(exc)}") from None


def describe(exc: OSError) -> str:
    """The reason of an OS error in words (``ELOOP`` is named a symlink loop)."""
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links (a symlink loop)"
    return exc.strerror or str(exc)


# --- outputs never replace inputs ----------------------------------------------------------------------
def _files(path: PathArg) -> Iterator[tuple[tuple[int, int], Path]]:
    """``((st_dev, st_ino), path)`` of ``path`` if it is an existing file, or of every file below it if it is
    an existing directory (links followed at the top only)."""
    path = as_path(path)
    try:
        st = os.stat(path)
    except OSError:
        return
    if stat.S_ISDIR(st.st_mode):
        for root, _, names in os.walk(path):
            for name in names:
                try:
                    s = os.stat(os.path.join(root, name), follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISREG(s.st_mode):
                    yield (s.st_dev, s.st_ino), Path(root) / name
    else:
        yield (st.st_dev, st.st_ino), path


def _items(paths: Mapping[str, PathArg | Iterable[PathArg] | None]) -> Iterator[tuple[str, PathArg]]:
    for flag, value in paths.items():
        if value is None:
            continue
        values = [value] if isinstance(value, (str, bytes, os.PathLike)) else list(value)
        for v in values:
            if v is not None:
                yield flag, v


def refuse_overwriting_inputs(inputs: Mapping[str, PathArg | Iterable[PathArg] | None],
                              outputs: Mapping[str, PathArg | Iterable[PathArg] | None]) -> None:
    """Refuse (UserError) an output that is one of the inputs, and remember the inputs for the writers.

    ``inputs`` and ``outputs`` map a flag (``"--data"``) to a path or a list of paths; a path may be a file or a
    directory (a directory stands for every file below it: an input run directory, or an output directory the
    verb replaces as a whole).  Two paths clash when they are the same file (``st_dev`` and ``st_ino``): the
    same name, a symbolic link to it, or a hard link.  Paths that do not exist yet cannot clash.
    """
    held: dict[tuple[int, int], str] = {}
    for flag, path in _items(inputs):
        for key, found in _files(path):
            held.setdefault(key, f"{flag} {shown(found)}")
    for flag, path in _items(outputs):
        for key, found in _files(path):
            if key in held:
                inner = "" if Path(found) == as_path(path) else f" (its file {shown(found)})"
                raise UserError(f"{flag} {shown(path)}: is the input {held[key]}{inner}; physgen never replaces "
                                "an input with an output, --overwrite or not: choose another output path")
    _PROTECTED.update(held)


def check_not_input(path: PathArg) -> None:
    """Refuse to replace ``path`` when it is one of the current command's inputs (the writers' last check)."""
    if not _PROTECTED:
        return
    try:
        st = os.stat(as_path(path))
    except OSError:
        return
    holder = _PROTECTED.get((st.st_dev, st.st_ino))
    if holder is not None:
        raise UserError(f"{shown(path)}: is the input {holder}; physgen never replaces an input with an output")


def forget_inputs() -> None:
    """End of a command: no file is protected any more."""
    _PROTECTED.clear()
