"""Memory checks before allocating: refuse early, with the number of bytes and how to reduce it.

A verb that is about to allocate an array whose size comes from the user (a dataset shape declared in a
file, ``--samples``, ``--n``) first computes the bytes it will need and calls :func:`require`, which
raises a one-line :class:`~physgen.errors.UserError` when they exceed the memory available now, instead
of a ``MemoryError`` traceback (or the kernel's OOM killer) minutes later.

Available memory is ``MemAvailable`` of ``/proc/meminfo`` (Linux: free memory plus the reclaimable page
cache, the kernel's own estimate of what a new allocation can get without swapping; Linux kernel
documentation, "The /proc Filesystem", ``/proc/meminfo``), else
``psutil.virtual_memory().available`` when psutil is installed; where neither exists the check is skipped.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from physgen.errors import UserError

MEMINFO = Path("/proc/meminfo")


def available() -> int | None:
    """Bytes of memory available to a new allocation now, or None where it cannot be read."""
    try:
        for line in MEMINFO.read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # the kernel reports kB
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        pass
    try:
        import psutil
    except ImportError:
        return None
    try:
        return int(psutil.virtual_memory().available)
    except Exception:  # psutil raises its own errors on unsupported platforms
        return None


def human(nbytes: float) -> str:
    """``3.7 TiB``-style size (binary prefixes)."""
    value, units = float(nbytes), ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    i = 0
    while abs(value) >= 1024 and i < len(units) - 1:
        value, i = value / 1024, i + 1
    return f"{value:.0f} {units[i]}" if i == 0 else f"{value:.1f} {units[i]}"


def array_bytes(shape, itemsize: int) -> int:
    """Bytes of a C-contiguous array of ``shape`` and ``itemsize`` (exact integer, no overflow)."""
    return math.prod(int(s) for s in shape) * int(itemsize)


def require(nbytes: int, *, what: str | None = None, key: str | None = None, value: Any = None, reduce: str,
            limit: int | None = None) -> None:
    """Raise UserError when ``nbytes`` exceeds ``limit`` (default: :func:`available`).

    The message names the parameter ``key`` (= ``value``; :class:`~physgen.errors.UserError`) or starts with
    ``what`` (a file or an object); ``reduce`` says how to need less, e.g. ``"lower samples"``.  Nothing
    happens when the available memory cannot be read.
    """
    limit = available() if limit is None else limit
    if limit is None or nbytes <= limit:
        return
    message = (f"needs {nbytes:,} bytes ({human(nbytes)}) of memory, more than the {limit:,} bytes "
               f"({human(limit)}) available; {reduce}")
    raise UserError(message if what is None else f"{what}: {message}", key=key, value=value)
