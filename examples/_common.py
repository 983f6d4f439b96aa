"""Plumbing shared by the gallery scripts: the command line, the output folder, figures and numbers.

Every example is ``python examples/NAME.py [--out DIR] [--quick] [--seed S]``; it writes its figures as
PNG into ``DIR`` (default ``examples-out/NAME``), prints its numbers and writes them, last, to
``DIR/results.json`` (the file whose presence marks a finished run; tests read it).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("MPLBACKEND", "Agg")
sys.stdout.reconfigure(line_buffering=True)  # numbers appear as they are measured, also when piped

import numpy as np  # noqa: E402


def parser(name: str, description: str) -> argparse.ArgumentParser:
    """The shared options: ``--out DIR``, ``--quick``, ``--seed S``."""
    p = argparse.ArgumentParser(prog=f"examples/{name}.py", description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("examples-out") / name,
                   help=f"output folder for figures and results.json (default examples-out/{name})")
    p.add_argument("--quick", action="store_true",
                   help="small sizes and short training (seconds to ~2 minutes; models are undertrained)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    return p


class Gallery:
    """Collects the numbers of one example, saves its figures and writes ``results.json`` at the end."""

    def __init__(self, name: str, args: argparse.Namespace):
        self.name, self.args = name, args
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.results: dict[str, Any] = {"example": name, "quick": bool(args.quick), "seed": int(args.seed)}
        self.figures: list[str] = []
        self._start = time.perf_counter()

    def save(self, fig, stem: str) -> Path:
        """Write ``fig`` to ``OUT/stem.png`` (via :func:`physgen.report.html.figure_png`, atomically)."""
        from physgen.atomic import write_bytes
        from physgen.report.html import figure_png

        path = self.out / f"{stem}.png"
        write_bytes(path, figure_png(fig))
        self.figures.append(path.name)
        print(f"  figure  {path}")
        return path

    def record(self, key: str, value: Any, text: str | None = None) -> Any:
        """Store a number (or dict of numbers) under ``key`` and print it."""
        self.results[key] = _jsonable(value)
        print(f"  {key:<34s} {text if text is not None else _short(value)}")
        return value

    def finish(self) -> dict[str, Any]:
        from physgen.atomic import write_json

        self.results["figures"] = self.figures
        self.results["seconds"] = round(time.perf_counter() - self._start, 2)
        path = self.out / "results.json"
        write_json(path, self.results)
        print(f"{self.name}: done in {self.results['seconds']:.1f} s -> {path}")
        return self.results


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "to_json"):
        return _jsonable(value.to_json())
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    return value


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = json.dumps(_jsonable(value))
    return text if len(text) < 160 else text[:157] + "..."


def fail(message: str, code: int = 2) -> None:
    """Print a one-line message on stderr and exit (bad input, missing optional data)."""
    print(message, file=sys.stderr)
    raise SystemExit(code)


def pythia_ttbar(directory: Path, n: int = 10_000, seed: int = 1) -> Path:
    """``directory/ttbar-pythia-n{n}-seed{seed}.h5``: ``n`` pp → tt̄ events at √s = 13 TeV with the thesis'
    features (s, t in GeV², y) from :func:`physgen.data.hep.generate.pythia_dataset` (hard level; the events
    of ``physgen data pythia --process ttbar --ecm 13000 --n N --features s,t,y --seed S``), made when the file
    is absent and reused otherwise (written atomically: a file that exists is complete).  Without Pythia 8
    (``pip install 'physgen[hep]'``) the script prints ``skipped`` and how to install it, and exits 0."""
    import importlib.util

    from physgen.data import save
    from physgen.data.hep.generate import pythia_dataset
    from physgen.errors import UserError

    path = Path(directory) / f"ttbar-pythia-n{n}-seed{seed}.h5"
    if path.is_file():
        print(f"  reusing {path}")
        return path
    if importlib.util.find_spec("pythia8mc") is None:
        fail("skipped: the tt̄ events come from Pythia 8: pip install 'physgen[hep]'", code=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        save(pythia_dataset("ttbar", 13000, n, features=["s", "t", "y"], seed=seed), path)
    except UserError as exc:
        fail(f"pythia tt̄ events: {exc}")
    return path
