"""Run physgen's command line for the benchmarks: the exact command, its timings, a one-line error.

The benchmarks (``compare.py``, ``defaults.py``) measure what a user gets from the documented commands,
so every training and sampling run is a ``physgen`` subprocess whose command line is recorded as run.
Commands run with the output directory as working directory, so the recorded paths are short and
relative; the environment prefix ``OMP_NUM_THREADS=k`` (the thread count) is part of the recorded text.
"""
from __future__ import annotations

import os
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def command_text(args: list[str], threads: int) -> str:
    """``OMP_NUM_THREADS=k physgen ARGS...`` as a shell-quoted line."""
    return f"OMP_NUM_THREADS={threads} " + shlex.join(["physgen", *map(str, args)])


def one_line(text: str, limit: int = 200) -> str:
    """The last non-empty line of ``text`` (a CLI's error message), at most ``limit`` characters."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return (lines[-1] if lines else "no output")[:limit]


def _text(data) -> str:
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else (data or "")


def _env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    src = str(REPO / "src")  # the physgen of this checkout, also when it is not installed
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    return env


def run_physgen(args: list[str], *, cwd: Path, threads: int, log: Path | None = None,
                timeout: float | None = None) -> dict:
    """Run ``physgen ARGS`` in ``cwd``; returns {command, rc, wall_s, cpu_s, error}.

    ``cpu_s`` is the child's user + system time (``getrusage(RUSAGE_CHILDREN)`` difference, so runs must
    not overlap); ``error`` is None on success, else the last line of stderr (the CLI's one-line error or
    the exception of a traceback).  stdout and stderr go to ``log`` when given.
    """
    text = command_text(args, threads)
    print(f"$ {text}", file=sys.stderr, flush=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "physgen", *map(str, args)], cwd=cwd, env=_env(threads),
                              capture_output=True, text=True, timeout=timeout)
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:  # its captured output may be bytes whatever ``text`` says
        rc, out, err = -1, _text(exc.stdout), f"{_text(exc.stderr)}\ntimed out after {timeout:g} s"
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"$ {text}\n--- stdout\n{out}\n--- stderr\n{err}\n--- exit {rc}\n")
    return {"command": text, "rc": rc, "wall_s": wall, "cpu_s": cpu,
            "error": None if rc == 0 else one_line(err or out)}


class CommandFailed(RuntimeError):
    """A physgen command exited non-zero; the message is its one-line error."""


def check(result: dict) -> dict:
    """``result`` of :func:`run_physgen`, or CommandFailed with the command's one-line error."""
    if result["error"] is not None:
        raise CommandFailed(result["error"])
    return result


def script_command(script: str, argv: list[str] | None = None) -> str:
    """``python benchmarks/SCRIPT ARGS`` as it was invoked, the value of ``--out`` written ``OUT`` (a recorded
    command names no machine path)."""
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["python", f"benchmarks/{script}",
                     *("OUT" if i and args[i - 1] == "--out" else a for i, a in enumerate(args))])


def write_results(cwd: Path, board: dict, table: str) -> int:
    """Write ``cwd/results.json`` and ``cwd/results.md``, print the table; the script's exit status (0)."""
    from physgen.atomic import write_json, write_text

    write_json(cwd / "results.json", board)
    write_text(cwd / "results.md", table)
    print(table)
    return 0
