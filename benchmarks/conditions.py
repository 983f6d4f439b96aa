"""Measurement conditions printed beside every benchmark figure, and a bounded CPU load generator.

* :func:`machine` — CPU model, core count, torch version and build (``platform`` + ``lscpu``).
* :func:`load` — the 1-minute load average (``os.getloadavg``) and the number of usable cores, as a string.
* :func:`busy_cores` — a context manager that runs one busy-loop process per usable core, each of which
  also stops by itself after ``max_seconds``, so a crashed benchmark cannot leave them running.
"""
from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
import sys
import time


def cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def cpu_model() -> str:
    """CPU model name from ``lscpu`` (``platform.processor()`` when lscpu is missing)."""
    if shutil.which("lscpu"):
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> str:
    """One line: CPU, cores, OS, Python and torch."""
    import torch

    return (f"{cpu_model()}, {cores()} cores, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}, torch {torch.__version__}")


def load() -> str:
    """``load 1.23/2 cores`` — the 1-minute load average against the usable cores."""
    return f"load {os.getloadavg()[0]:.2f}/{cores()} cores"


_BUSY = "import time\nend = time.monotonic() + {s}\nwhile time.monotonic() < end:\n    pass\n"


@contextlib.contextmanager
def busy_cores(n: int | None = None, max_seconds: float = 300.0):
    """Run ``n`` (default: one per usable core) CPU-bound busy loops for the duration of the block.

    Each loop is a separate Python process that exits by itself after ``max_seconds``; on leaving the
    block they are terminated (then killed) and reaped.
    """
    n = cores() if n is None else n
    procs = [subprocess.Popen([sys.executable, "-c", _BUSY.format(s=float(max_seconds))]) for _ in range(n)]
    try:
        time.sleep(0.5)                                      # let the scheduler see them
        yield procs
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
