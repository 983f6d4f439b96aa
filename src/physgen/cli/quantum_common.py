"""What the quantum verbs ``physgen vmc`` and ``physgen nqs`` share: their output options, the check of
``--out`` and the run that writes ``DIR/params.safetensors``, ``DIR/report.html`` and, last, the JSON summary
(its presence marks a complete run)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from physgen.cli.options import Arg, seed_arg
from physgen.errors import UserError


def output_args(summary: str, quiet_help: str) -> tuple[Arg, ...]:
    """``--quiet``, ``--out`` (a directory holding ``summary``, the report and the parameters), ``--overwrite``
    and ``--seed``."""
    return (Arg("--quiet", quiet_help, action="store_true"),
            Arg("--out", f"output directory ({summary}, report.html, params.safetensors)", required=True),
            Arg("--overwrite", "replace an existing run in --out", action="store_true"),
            seed_arg())


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
