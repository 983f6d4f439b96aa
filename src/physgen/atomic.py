"""Atomic file writes: write to a temporary name in the target directory, then rename.

A killed process never leaves a partial file under the final name (POSIX ``rename`` is atomic
within one filesystem); its temporary file (named by host and process id) is deleted by the next write of
the same path once that process is gone.  Used by every writer in physgen: datasets, checkpoints, JSON, reports.

A write that fails (disk full, permission denied, read-only file system) removes its temporary file
and raises an :class:`OSError` whose ``filename`` is the path the caller asked for, never the
temporary name; the CLI prints it as one line.  :func:`write_bytes` checks the free space first
(``os.statvfs``).  A new file gets the permissions of an ordinary new file (``0o666`` less the umask),
a replaced one keeps its own.  No path that is an input of the running command is replaced
(:func:`physgen.paths.check_not_input`).
"""
from __future__ import annotations

import errno
import json
import os
import socket
import stat
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Iterator

from physgen.errors import UserError
from physgen.paths import PathArg, as_path, check_not_input, shown


def check_writable(path: PathArg, *, overwrite: bool, what: str = "output") -> Path:
    """Refuse to clobber an existing file unless ``overwrite``; return ``path`` as a Path."""
    path = as_path(path)
    if path.exists() and not overwrite:
        raise UserError(f"{shown(path)}: {what} already exists (pass --overwrite to replace it)")
    if path.exists() and path.is_dir():
        raise UserError(f"{shown(path)}: {what} is a directory, expected a file name")
    if path.exists() and not path.is_file():  # renaming onto it would replace a device node or a pipe
        raise UserError(f"{shown(path)}: {what} is a device, pipe or socket, expected a regular file")
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()


def _mode(final: Path) -> int:
    """Permission bits for the file that replaces ``final``: its own if it exists, else 0o666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(final).st_mode)
    except OSError:
        return 0o666 & ~_UMASK


@contextmanager
def atomic_path(path: PathArg, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, else delete it.

    An :class:`OSError` on the way (creating the directory or the temporary file, writing, renaming) is
    re-raised naming ``path``.

    >>> with atomic_path("out.h5") as tmp:   # doctest: +SKIP
    ...     write_file(tmp)
    """
    final = check_writable(path, overwrite=overwrite)
    check_not_input(final)
    tmp = None
    try:
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:  # a file where a directory should be
            raise OSError(errno.ENOTDIR, "Not a directory (a file is in the way)") from None
        _sweep_stale(final)
        fd, tmp_name = tempfile.mkstemp(prefix=_tmp_prefix(final) + _owner(final), suffix=".tmp", dir=final.parent)
        tmp = Path(tmp_name)
        try:
            if hasattr(os, "fchmod"):  # (mkstemp makes the file private: 0o600)
                os.fchmod(fd, _mode(final))
        finally:
            os.close(fd)
        yield tmp
        os.replace(tmp, final)
        tmp = None
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(final)) from None
    finally:
        if tmp is not None:
            with suppress(OSError):
                tmp.unlink()


_HOST = socket.gethostname().replace("~", "-")


def _tmp_prefix(final: Path) -> str:
    return f".{final.name}."


def _owner(final: Path) -> str:
    """``HOST~PID~`` for the temporary name, or nothing where the name would grow too long for the file system."""
    tag = f"{_HOST}~{os.getpid()}~"
    return tag if len(os.fsencode(_tmp_prefix(final) + tag)) + 12 <= 255 else ""


def _sweep_stale(final: Path) -> None:
    """Delete the temporary files of earlier writers of ``final`` that were killed before renaming them: those
    named by this host and a process id that no longer runs (another host's, or a live process's, are kept)."""
    prefix = _tmp_prefix(final)
    try:
        entries = [e.name for e in os.scandir(final.parent) if e.name.startswith(prefix) and e.name.endswith(".tmp")]
    except OSError:
        return
    for name in entries:
        host, _, rest = name[len(prefix):].partition("~")
        pid, _, _ = rest.partition("~")
        if host == _HOST and pid.isdigit() and not _running(int(pid)):
            with suppress(OSError):
                (final.parent / name).unlink()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def check_free_space(path: PathArg, n_bytes: int) -> None:
    """Raise ``OSError(ENOSPC)`` naming ``path`` when its file system has less than ``n_bytes`` free."""
    directory = as_path(path).parent
    try:
        fs = os.statvfs(directory)
    except (OSError, AttributeError):  # no such directory yet, or no statvfs: the write itself will tell
        return
    root = getattr(os, "geteuid", lambda: -1)() == 0  # root may use the blocks reserved for it
    free = (fs.f_bfree if root else fs.f_bavail) * fs.f_frsize
    if n_bytes > free:
        raise OSError(errno.ENOSPC, f"No space left on device (the file needs {n_bytes:,} bytes, "
                                    f"{free:,} are free)", str(as_path(path)))


def write_bytes(path: PathArg, data: bytes | memoryview, *, overwrite: bool = True) -> Path:
    """Atomically write ``data`` to ``path`` (refused up front when the file system lacks the space)."""
    check_free_space(path, memoryview(data).nbytes)
    with atomic_path(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return as_path(path)


def write_text(path: PathArg, text: str, *, overwrite: bool = True) -> Path:
    """Atomically write ``text`` as UTF-8 (a name that is not UTF-8, e.g. a path in a report, is written with
    its undecodable bytes as ``\\udcNN`` escapes)."""
    return write_bytes(path, text.encode("utf-8", errors="backslashreplace"), overwrite=overwrite)


def write_json(path: PathArg, obj: Any, *, overwrite: bool = True) -> Path:
    """Atomically write ``obj`` as indented JSON (NaN/Inf are refused: JSON has no such numbers)."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n",
                      overwrite=overwrite)
