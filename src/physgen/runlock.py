"""One writer per run directory: an advisory lock on ``DIR/.physgen.lock``.

``physgen train`` (new runs and ``--resume``) and ``physgen tune`` hold the lock of their output directory
while they write it.  The lock is ``flock(LOCK_EX | LOCK_NB)`` on the lock file, which records the holder's
pid, host and start time as JSON; a second writer is refused with one line naming the holder.  The kernel
releases a ``flock`` when its process ends, however it ends (``kill -9`` included), so a lock file left by
a killed process holds no lock: the next writer takes it over and says so.  On a clean exit the holder
deletes the file (and the directory, if the lock created it and nothing else was written there).

A lock file is deleted only by its holder, while holding it; a process that locked a file which has been
deleted since (its inode is no longer the one at the path) retries on the new file, so two processes never
hold the lock of one directory.  Readers (``sample``, ``score``) take no lock.  Where ``fcntl`` is missing
(Windows) the lock is a no-op.
"""
from __future__ import annotations

import json
import os
import socket
import stat
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Callable

from physgen.errors import UserError
from physgen.paths import PathArg, as_path, describe, shown

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".physgen.lock"


def _note(message: str) -> None:
    print(f"physgen: note: {message}", file=sys.stderr)


class RunLock:
    """Exclusive writer lock of ``directory``; use as a context manager.

    ``create``: make a missing directory (and remove it again on release when nothing else was written there);
    without it a missing directory is not locked (the caller refuses it).  ``key`` is the parameter that names
    the directory (:class:`~physgen.errors.UserError`); ``note`` receives, when the locked block ends without
    an error, the one-line notice that a stale lock (of a process that ended without releasing it) was taken over.
    """

    def __init__(self, directory: PathArg, *, create: bool = True, key: str = "out",
                 note: Callable[[str], None] = _note):
        self.directory = as_path(directory)
        self.path = self.directory / LOCK_NAME
        self.create = create
        self.key = key
        self.note = note
        self.previous: dict[str, Any] | None = None  # the record of a stale lock taken over
        self._fd: int | None = None
        self._created: list[Path] = []  # directories the lock made, deepest first

    def acquire(self) -> "RunLock":
        try:
            if self._make_directory() and fcntl is not None:
                self._lock()
        except OSError as exc:
            self._undo_mkdir()
            raise self._error(f"cannot write there ({describe(exc)})") from None
        return self

    def _error(self, message: str) -> UserError:
        return UserError(message, key=self.key, value=shown(self.directory))

    def _make_directory(self) -> bool:
        """Whether the directory exists (made now when ``create``)."""
        try:
            if not stat.S_ISDIR(os.stat(self.directory).st_mode):
                raise self._error("is a file, expected a directory")
            return True
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self._error(describe(exc)) from None
        if not self.create:
            return False
        self._created = [p for p in (self.directory, *self.directory.parents) if not p.exists()]
        self.directory.mkdir(parents=True, exist_ok=True)
        return True

    def _lock(self) -> None:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
        for _ in range(100):  # retried only when the file was replaced between open and lock
            try:
                fd = os.open(self.path, flags, 0o644)
            except OSError as exc:
                if os.path.islink(self.path):  # never write the record through a link to another file
                    raise UserError(f"{shown(self.path)}: is a symbolic link, not a physgen lock file; "
                                    "remove it") from None
                raise exc
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise UserError(f"{shown(self.path)}: is not a regular file, not a physgen lock file; remove it")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read(fd)
                os.close(fd)
                self._undo_mkdir()
                raise self._error(f"another physgen process is writing this directory ({_describe(holder)}); "
                                  "wait for it to end or choose another directory") from None
            except OSError:
                os.close(fd)
                raise
            if _same_file(fd, self.path):
                self._fd = fd
                break
            os.close(fd)  # the holder deleted the file between our open and lock: try the new one
        else:  # pragma: no cover - would need 100 deletions in a row
            raise self._error(f"could not take the lock {LOCK_NAME}")
        self._claim()

    def _claim(self) -> None:
        self.previous = _read(self._fd) or None  # a record left behind: its process died holding the lock
        record = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        data = (json.dumps(record) + "\n").encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def release(self) -> None:
        """Delete the lock file (while still holding it) and unlock; remove a directory the lock created when it
        holds nothing else."""
        if self._fd is None:
            self._undo_mkdir()
            return
        fd, self._fd = self._fd, None
        try:
            if _same_file(fd, self.path):
                self.path.unlink()
        except OSError:
            pass
        finally:
            os.close(fd)  # closing the last descriptor releases the flock
        self._undo_mkdir()

    def _undo_mkdir(self) -> None:
        created, self._created = self._created, []
        for directory in created:
            try:
                directory.rmdir()  # only when empty
            except OSError:
                return

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
        if exc_type is None and self.previous:
            self.note(f"{shown(self.directory)}: took over the lock of a physgen process that had ended without "
                      f"releasing it ({_describe(self.previous)})")


def _read(fd: int) -> dict[str, Any]:
    """The holder's record in the open lock file (``{}`` when empty or unreadable)."""
    try:
        raw = os.pread(fd, 4096, 0)
        record = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _describe(record: dict[str, Any]) -> str:
    if not record:
        return "holder unknown"
    since = f", since {record['started']}" if record.get("started") else ""
    return f"pid {record.get('pid', '?')} on host {record.get('host', '?')}{since}"


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
