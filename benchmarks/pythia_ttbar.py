"""The benchmarks' tt̄ events: ``physgen data pythia`` at hard level with a fixed seed, made once per output
directory.

pp → tt̄ at √s = 13 TeV, leading order, the thesis' three features (ŝ and t̂ in GeV², the tt̄ rapidity y;
conventions in docs/hep.md).  The file's name carries the number of events and the seed, and
``physgen data pythia`` writes it atomically, so a file that exists is complete and a rerun reuses it.
"""
from __future__ import annotations

import contextlib
import io
import shlex
import sys
from pathlib import Path

ECM_GEV = 13000
N_EVENTS = 10_000
SEED = 1


def file_name(n: int = N_EVENTS, seed: int = SEED) -> str:
    """``ttbar-pythia-n{n}-seed{seed}.h5``: the cache key is in the name."""
    return f"ttbar-pythia-n{n}-seed{seed}.h5"


def pythia_args(out: str | Path, n: int = N_EVENTS, seed: int = SEED) -> list[str]:
    """``physgen data pythia`` arguments of ``n`` hard-level tt̄ events (s, t, y) with ``seed`` into ``out``."""
    return ["data", "pythia", "--process", "ttbar", "--ecm", str(ECM_GEV), "--n", str(n), "--features", "s,t,y",
            "--seed", str(seed), "--out", str(out)]


def have_pythia() -> bool:
    """Whether Pythia 8 (``pip install 'physgen[hep]'``) is importable."""
    import importlib.util

    return importlib.util.find_spec("pythia8mc") is not None


def ensure(directory: Path, n: int = N_EVENTS, seed: int = SEED) -> Path:
    """``directory/file_name(n, seed)``, generated in this process by ``physgen data pythia`` when absent.

    Raises RuntimeError with the command's one-line error when generation fails (e.g. without Pythia 8)."""
    from physgen.cli import main

    path = Path(directory) / file_name(n, seed)
    argv = pythia_args(path, n, seed)
    if path.is_file():
        print(f"reusing {path} (made by: physgen {shlex.join(argv)})", file=sys.stderr)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    err = io.StringIO()
    with contextlib.redirect_stdout(sys.stderr), contextlib.redirect_stderr(err):
        code = main(argv)
    if code != 0:
        raise RuntimeError(f"physgen {shlex.join(argv)} failed: {err.getvalue().strip()}")
    return path
