"""The ``physgen`` command line: one module per verb, each exposing ``register(subparsers)``.

Every verb validates its input; a :class:`~physgen.errors.UserError` becomes one line on stderr
(``physgen: error: ...``, the parameter or config key it names shown as its option) and exit status 2, never a
traceback.
"""
from __future__ import annotations

import importlib
import sys
import warnings
from contextlib import contextmanager
from typing import Sequence

from physgen.cli.common import ArgumentParser
from physgen.cli.process import freeze_at_exit, keep_freed_memory
from physgen.cli.flags import option_namer
from physgen.errors import UserError, naming
from physgen.paths import describe, forget_inputs, shown

VERBS = ("data", "train", "sample", "score", "evaluate", "analyze", "models", "demo", "tune", "vmc", "nqs", "thermo",
         "exact")


def build_parser(only: str | None = None) -> ArgumentParser:
    """The parser of every verb, or of the verb ``only`` alone (what :func:`main` builds when the command line
    names a verb: the other verbs' modules are then not imported)."""
    from physgen import __version__

    parser = ArgumentParser(prog="physgen", description="Generative and unsupervised learning on physics data.",
                            epilog="Example: physgen data ising --size 16 --temperatures 1.5,2.269,3.0 "
                                   "--samples 1000 --algorithm wolff --out ising.h5")
    parser.add_argument("--version", action="version", version=f"physgen {__version__}")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB", parser_class=ArgumentParser)
    for verb in (only,) if only in VERBS else VERBS:
        spec = importlib.util.find_spec(f"physgen.cli.{verb}")
        if spec is not None:  # a verb module may be absent
            importlib.import_module(f"physgen.cli.{verb}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _printable_streams()
    freeze_at_exit()
    keep_freed_memory()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    args.argv = argv
    name = option_namer(parser, args.func)
    try:
        with naming(name), _output_lock(args), _one_line_notes():
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


@contextmanager
def _one_line_notes():
    """Within the block, a FutureWarning (a key's new name) is shown as one line, ``physgen: warning: ...``;
    other warnings as before."""
    shown_before = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, FutureWarning):
            print(f"physgen: warning: {message}", file=sys.stderr)
        else:
            shown_before(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown_before


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
