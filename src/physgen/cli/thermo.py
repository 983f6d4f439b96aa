"""``physgen thermo RUN``: free energy, energy, entropy, specific heat, |m| and χ per spin by importance sampling
the run's model against its Ising Hamiltonian, with bootstrap errors and the exact values; thermo.json +
report.html (:mod:`physgen.training.thermo`)."""
from __future__ import annotations

import argparse
from pathlib import Path

from physgen.cli.common import add_out, add_seed, add_verb, float_list, nonneg_int


def register(sub) -> None:
    p = add_verb(sub, "thermo", "thermodynamics with errors (F, U, S, C, |m|, chi) by importance sampling a run's "
                 "model against its Ising Hamiltonian, beside the exact values",
                 "physgen thermo runs/van --t-range 2.0:3.0:5 --n 20000 --out thermo/", run)
    p.set_defaults(locks_out=True)  # one writer per --out directory
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory made by `physgen train` (van, flow, vae, rbm)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--temperatures", type=float_list, default=None,
                       help="comma list of temperatures (default: the run's trained temperatures)")
    which.add_argument("--t-range", type=t_range, default=None, metavar="LO:HI:N",
                       help="N temperatures evenly spaced from LO to HI")
    p.add_argument("--n", type=int, default=10_000, help="draws per temperature (>= 2; default 10000)")
    p.add_argument("--n-boot", type=nonneg_int, default=200, help="bootstrap resamples for the errors (default 200)")
    add_seed(p)
    add_out(p, help="output directory for thermo.json and report.html")
    p.add_argument("--no-plots", action="store_true", help="write the report without figures")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N | mps (default auto)")
    p.add_argument("--checkpoint", dest="which", choices=("best", "latest"), default="best",
                   help="which checkpoint to use (default best)")


def t_range(text: str) -> list[float]:
    """``"LO:HI:N"`` -> N evenly spaced temperatures from LO to HI (N = 1: LO alone)."""
    import numpy as np

    parts = text.split(":")
    try:
        if len(parts) != 3:
            raise ValueError
        lo, hi, k = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not LO:HI:N (e.g. 1.5:3.5:9)") from None
    if k < 1 or not (np.isfinite(lo) and np.isfinite(hi)):
        raise argparse.ArgumentTypeError(f"{text!r}: needs finite LO, HI and N >= 1")
    return [float(t) for t in np.linspace(lo, hi, k)]


def run(args) -> int:
    from physgen.atomic import check_writable, write_json
    from physgen.errors import UserError
    from physgen.paths import refuse_overwriting_inputs
    from physgen.report.thermo_plots import thermo_report
    from physgen.training import load_run
    from physgen.training.rundir import require_run_dir, run_files
    from physgen.training.thermo import check_temperatures, thermodynamics

    temperatures = args.temperatures if args.temperatures is not None else args.t_range
    if temperatures is not None:
        check_temperatures(temperatures, "temperatures" if args.temperatures is not None else "t_range")
    if args.n < 2:
        raise UserError("must be >= 2", key="n", value=args.n)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    json_path, html_path = out / "thermo.json", out / "report.html"
    require_run_dir(args.run_dir)
    refuse_overwriting_inputs({"RUN_DIR": run_files(args.run_dir)}, {"--out": [json_path, html_path]})
    for path in (json_path, html_path):
        check_writable(path, overwrite=args.overwrite, what="--out")
    run_ = load_run(args.run_dir, device=args.device, which=args.which)
    result = thermodynamics(run_, temperatures, n=args.n, seed=args.seed, n_boot=args.n_boot,
                            progress=lambda record: print(line(record), flush=True))
    report = thermo_report(result, plots=not args.no_plots)
    out.mkdir(parents=True, exist_ok=True)
    write_json(json_path, result)
    report.write(html_path)
    print(f"wrote {json_path} and {html_path}")
    return 0


def line(record: dict) -> str:
    """One temperature on one line: each estimate ± error, with the exact value and z = (estimate − exact)/error
    in brackets, and the ESS."""
    from physgen.physics.thermo import LABELS, PARETO_K_LIMIT, QUANTITIES, z_score

    parts = []
    exact = record["exact"] or {}
    for key in QUANTITIES:
        e = record["estimates"].get(key)
        if e is None:
            continue
        err = f" ± {e['error']:.2g}" if e["error"] is not None else ""
        z = z_score(e, exact, key)
        ref = f" (exact {exact[key]:.5g}" + (f", z {z:+.1f}" if z is not None else "") + ")" if key in exact else ""
        parts.append(f"{LABELS[key]} = {e['value']:.5g}{err}{ref}")
    k = record.get("pareto_k")
    tail = "" if k is None else f", Pareto k {k:.2f}" + (
        f" (above {PARETO_K_LIMIT}: heavy-tailed weights, the errors can be too small; draw more or train longer)"
        if k > PARETO_K_LIMIT else "")
    return (f"T={record['temperature']:g}: " + ", ".join(parts)
            + f"; ESS {record['ess']:.0f} ({record['ess_fraction']:.1%}){tail}")
