"""What the quantum verbs ``physgen vmc`` and ``physgen nqs`` share: their output options, the check of
``--out`` and the run that writes ``DIR/params.safetensors``, ``DIR/report.html`` and, last, the JSON summary
(its presence marks a complete run)."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

import numpy as np

from physgen.cli.common import add_seed
from physgen.errors import UserError


def add_output_options(p: argparse.ArgumentParser, summary: str, quiet_help: str) -> None:
    """``--quiet``, ``--out`` (a directory holding ``summary``, the report and the parameters), ``--overwrite``
    and ``--seed``."""
    p.add_argument("--quiet", action="store_true", help=quiet_help)
    p.add_argument("--out", required=True, help=f"output directory ({summary}, report.html, params.safetensors)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    add_seed(p)


def output_dir(args, summary: str) -> Path:
    """``--out`` as a directory that holds no finished run (``summary``) unless ``--overwrite``."""
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out: {out} exists and is not a directory")
    if (out / summary).exists() and not args.overwrite:
        raise UserError(f"--out: {out / summary} already exists (pass --overwrite to replace it)")
    return out


def run_and_write(run: Callable, cfg, args, out: Path, progress: Callable[[dict], None]) -> dict:
    """``run(cfg, rng, progress=...)`` seeded by ``--seed`` (recorded with the settings), its outputs written
    into ``out``; returns the JSON summary."""
    from physgen.quantum.report import write_outputs

    result = run(cfg, np.random.default_rng(args.seed), progress=None if args.quiet else progress)
    result.extras["seed"] = args.seed
    return write_outputs(out, result)


def print_written(out: Path, summary: str) -> None:
    print(f"wrote {out / summary}, {out / 'report.html'}, {out / 'params.safetensors'}")
