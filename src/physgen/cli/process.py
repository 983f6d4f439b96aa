"""The process settings of one ``physgen`` invocation: how the interpreter exits (:func:`freeze_at_exit`) and how
glibc's allocator keeps freed tensor memory (:func:`keep_freed_memory`)."""
from __future__ import annotations

import atexit
import ctypes
import gc
import os
import sys


def freeze_at_exit() -> None:
    """Register :func:`gc.freeze` (once per process) to run at interpreter exit, after the exit handlers that
    commands register later: every object left is moved to the collector's permanent generation, so the
    interpreter's final collections skip the millions of objects that PyTorch and its compiler stack create
    on import.  Modules are still torn down and objects released by reference counting (an open file is still
    closed); only reference cycles left unreachable at exit go uncollected, and the process ends anyway.  A
    command run in-process (tests, notebooks) is unaffected until that interpreter exits."""
    global _FREEZE_REGISTERED
    if not _FREEZE_REGISTERED:
        atexit.register(gc.freeze)
        _FREEZE_REGISTERED = True


_FREEZE_REGISTERED = False

# glibc mallopt(3) parameters: blocks up to 32 MiB from the heap (the largest threshold glibc accepts on 64-bit
# systems), and freed memory kept until 64 MiB lie free at the heap's top
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD, TRIM_THRESHOLD = 32 << 20, 64 << 20


def keep_freed_memory() -> None:
    """Let glibc's malloc reuse freed tensor memory instead of mapping fresh pages for every tensor.

    By default glibc serves a block above its mmap threshold (128 KiB, raised dynamically up to the largest
    block freed so far) with a fresh ``mmap`` and unmaps it on free, and returns free memory at the heap's top
    to the system beyond 128 KiB; PyTorch on the CPU allocates and frees its activations at every operation, so
    each call faults its pages in anew (minor page faults, counted as system time).  Fixing the two thresholds
    (:data:`MMAP_THRESHOLD`, :data:`TRIM_THRESHOLD`) keeps those pages in the process, as the jemalloc and
    TCMalloc settings of PyTorch's CPU performance guide do.  Linux with glibc only; skipped where the user
    set ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` (theirs stand) or ``mallopt`` is absent.  The
    figures: benchmarks/records/diffusion.md."""
    if not sys.platform.startswith("linux") or {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"} & set(os.environ):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):   # not glibc (musl has no mallopt)
        return
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
