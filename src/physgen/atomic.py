"""Atomic file writes: write to a temporary name in the target directory, then rename.

A killed process never leaves a partial file under the final name (POSIX ``rename`` is atomic
within one filesystem).  Used by every writer in physgen: datasets, checkpoints, JSON, reports.
"""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from physgen.errors import UserError


def check_writable(path: str | os.PathLike, *, overwrite: bool, what: str = "output") -> Path:
    """Refuse to clobber an existing file unless ``overwrite``; return ``path`` as a Path."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise UserError(f"{path}: {what} already exists (pass --overwrite to replace it)")
    if path.exists() and path.is_dir():
        raise UserError(f"{path}: {what} is a directory, expected a file name")
    return path


@contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, else delete it.

    >>> with atomic_path("out.h5") as tmp:   # doctest: +SKIP
    ...     write_file(tmp)
    """
    final = check_writable(path, overwrite=overwrite)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike, data: bytes, *, overwrite: bool = True) -> Path:
    """Atomically write ``data`` to ``path``."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, *, overwrite: bool = True) -> Path:
    """Atomically write UTF-8 ``text`` to ``path``."""
    return write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def write_json(path: str | os.PathLike, obj: Any, *, overwrite: bool = True) -> Path:
    """Atomically write ``obj`` as indented JSON (NaN/Inf are refused: JSON has no such numbers)."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n",
                      overwrite=overwrite)
