"""The ``physgen`` command line: one module per verb, each exposing ``register(subparsers)``.

Every verb validates its input; a :class:`~physgen.errors.UserError` becomes one line on stderr
(``physgen: error: ...``, the parameter or config key it names shown as its option) and exit status 2, never a
traceback.
"""
from __future__ import annotations

import atexit
import ctypes
import gc
import importlib
import os
import sys
from typing import Sequence

from physgen.cli.common import ArgumentParser
from physgen.cli.flags import option_namer
from physgen.errors import UserError, naming
from physgen.paths import describe, forget_inputs, shown

VERBS = ("data", "train", "sample", "score", "evaluate", "analyze", "models", "demo", "tune", "vmc", "nqs", "thermo")


def build_parser() -> ArgumentParser:
    from physgen import __version__

    parser = ArgumentParser(prog="physgen", description="Generative and unsupervised learning on physics data.",
                            epilog="Example: physgen data ising --size 16 --temperatures 1.5,2.269,3.0 "
                                   "--samples 1000 --out ising.h5")
    parser.add_argument("--version", action="version", version=f"physgen {__version__}")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB", parser_class=ArgumentParser)
    for verb in VERBS:
        spec = importlib.util.find_spec(f"physgen.cli.{verb}")
        if spec is not None:  # a verb module may be absent
            importlib.import_module(f"physgen.cli.{verb}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _printable_streams()
    _freeze_at_exit()
    _keep_freed_memory()
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    name = option_namer(parser, args.func)
    try:
        with naming(name), _output_lock(args):
            result = args.func(args)
    except UserError as exc:
        print(f"physgen: error: {exc.render(name)}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # e.g. disk full or permission denied while writing an output
        where = f"{shown(exc.filename)}: " if exc.filename else ""
        print(f"physgen: error: {where}{describe(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("physgen: interrupted", file=sys.stderr)
        return 130
    finally:
        forget_inputs()
    return int(result or 0)


def _freeze_at_exit() -> None:
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
_MMAP_THRESHOLD, _TRIM_THRESHOLD = 32 << 20, 64 << 20


def _keep_freed_memory() -> None:
    """Let glibc's malloc reuse freed tensor memory instead of mapping fresh pages for every tensor.

    By default glibc serves a block above its mmap threshold (128 KiB, raised dynamically up to the largest
    block freed so far) with a fresh ``mmap`` and unmaps it on free, and returns free memory at the heap's top
    to the system beyond 128 KiB; PyTorch on the CPU allocates and frees its activations at every operation, so
    each call faults its pages in anew (minor page faults, counted as system time).  Fixing the two thresholds
    (:data:`_MMAP_THRESHOLD`, :data:`_TRIM_THRESHOLD`) keeps those pages in the process, as the jemalloc and
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
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)


def _output_lock(args):
    """The writer lock of ``--out`` for verbs that write a directory of several files (``locks_out``): a second
    command writing the same directory is refused instead of mixing its files with the first one's
    (:class:`physgen.runlock.RunLock`).  An ``--out`` that is (or lies in) a file is left to the verb to refuse."""
    from contextlib import nullcontext

    from physgen.paths import as_path
    from physgen.runlock import RunLock

    out = getattr(args, "out", None)
    if not getattr(args, "locks_out", False) or out is None:
        return nullcontext()
    path = as_path(out)
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():  # it, or a parent, is a file: the verb says so
        return nullcontext()
    return RunLock(path)


def _printable_streams() -> None:
    """Messages name the user's paths, which need not be UTF-8: print undecodable bytes as escapes."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
