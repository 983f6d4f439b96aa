"""``physgen thermo RUN``: free energy, energy, entropy, specific heat, |m| and χ per spin by importance sampling
the run's model against its Ising Hamiltonian, with bootstrap errors and the exact values; thermo.json +
report.html (:mod:`physgen.training.thermo`)."""
from __future__ import annotations

from pathlib import Path

from physgen.cli.common import float_list, t_range
from physgen.cli.options import Arg, checkpoint_arg, out_args, seed_arg, verb
from physgen.constraints import NON_NEGATIVE_INT, Interval


def register(sub) -> None:
    p = verb(sub, "thermo", "thermodynamics with errors (F, U, S, C, |m|, chi) by importance sampling a run's model "
             "against its Ising Hamiltonian, beside the exact values",
             "physgen thermo runs/van --t-range 2.0:3.0:5 --n 20000 --out thermo/", run, (
                 Arg("run_dir", "run directory made by `physgen train` (van, flow, vae, rbm)", metavar="RUN_DIR"),
                 Arg("--temperatures", "comma list of temperatures (default: the run's trained temperatures)",
                     type=float_list, exclusive="temperatures"),
                 Arg("--t-range", "COUNT temperatures evenly spaced from LOW to HIGH", type=t_range,
                     metavar="LOW:HIGH:COUNT", exclusive="temperatures"),
                 Arg("--n", "draws per temperature (>= 2; default 10000)", range=Interval(int, 2, None),
                     default=10_000),
                 Arg("--n-boot", "bootstrap resamples for the errors (default 200)", range=NON_NEGATIVE_INT,
                     default=200),
                 seed_arg(),
                 *out_args(help="output directory for thermo.json and report.html"),
                 Arg("--no-plots", "write the report without figures", action="store_true"),
                 Arg("--device", "auto | cpu | cuda | cuda:N | mps (default auto)"),
                 checkpoint_arg()))
    p.set_defaults(locks_out=True)  # one writer per --out directory


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
