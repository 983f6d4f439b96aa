"""``physgen data lattice``: Monte Carlo configurations of any lattice model (:mod:`physgen.lattice`)."""
from __future__ import annotations

import sys
import warnings

from physgen.cli.common import add_out, add_seed, add_verb, finite_float, float_list, nonneg_int, positive_int
from physgen.cli.lattice_options import add_model, model_of
from physgen.errors import UserError

EXAMPLE = ("physgen data lattice --model potts --param q=3 --size 8 --temperatures 0.9,0.995,1.1 --samples 500 "
           "--algorithm swendsen-wang --thin 15 --out potts.h5")
NAMES = {"temperatures": "--temperatures", "samples": "--samples", "chains": "--chains", "burn_in": "--burn-in",
         "thin": "--thin", "replicas": "--replicas", "algorithm": "--algorithm"}


def register(sub) -> None:
    from physgen.cli.data_ising import t_range

    p = add_verb(sub, "lattice", "sample any lattice model (Metropolis, Swendsen-Wang, Wolff, parallel tempering or HMC)",
                 EXAMPLE, run)
    add_model(p)
    temps = p.add_mutually_exclusive_group()
    temps.add_argument("--temperatures", type=float_list,
                       help="comma-separated temperatures (a field theory's action is at T = 1, its default)")
    temps.add_argument("--t-range", type=t_range, help="LOW:HIGH:COUNT evenly spaced temperatures")
    p.add_argument("--samples", type=positive_int, required=True, help="configurations per temperature")
    p.add_argument("--algorithm", choices=("metropolis", "wolff", "swendsen-wang", "tempering", "hmc"), default=None,
                   help="metropolis (any spin model; the default), swendsen-wang (potts J > 0, ising h = 0), wolff "
                        "(ising h = 0), tempering (parallel tempering over a ladder of --replicas temperatures; any "
                        "spin model) or hmc (hybrid Monte Carlo of a field: phi4; its default)")
    p.add_argument("--step-size", type=finite_float, default=None,
                   help="hmc: leapfrog step size (default: adapted during burn-in towards an acceptance of 0.8)")
    p.add_argument("--trajectory-length", type=finite_float, default=None,
                   help="hmc: trajectory length = steps x step size (default 1)")
    p.add_argument("--chains", type=positive_int, default=None,
                   help="independent chains (ladders, for tempering) per temperature (default min(samples, 32))")
    p.add_argument("--burn-in", type=nonneg_int, default=1000, help="sweeps discarded first (default 1000)")
    p.add_argument("--thin", type=positive_int, default=10, help="sweeps between samples (default 10)")
    p.add_argument("--replicas", type=positive_int, default=16,
                   help="tempering: temperatures in the ladder, the requested ones included (default 16)")
    p.add_argument("--start", choices=("ordered", "random"), default="ordered",
                   help="initial configuration: ordered (one random state everywhere; default) or random")
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    add_seed(p)
    add_out(p, help="output dataset file (.h5)")


def run(args) -> int:
    from physgen.atomic import check_writable
    from physgen.data import save
    from physgen.lattice.simulate import simulate

    model = model_of(args)
    field = model.space.kind == "field"
    algorithm = args.algorithm or ("hmc" if field else "metropolis")
    temperatures = args.temperatures if args.temperatures is not None else args.t_range
    if temperatures is None:
        if not field:
            raise UserError("--temperatures/--t-range: give one")
        temperatures = [1.0]
    if algorithm != "hmc" and (args.step_size is not None or args.trajectory_length is not None):
        raise UserError("--step-size and --trajectory-length are hmc's: drop them or use --algorithm hmc")
    hmc = {"step_size": args.step_size, "trajectory": 1.0 if args.trajectory_length is None else args.trajectory_length}
    if algorithm != "hmc":
        hmc = {}
    names = NAMES | ({"temperatures": "--t-range"} if args.temperatures is None else {})
    check_writable(args.out, overwrite=args.overwrite)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = simulate(model, temperatures, args.samples, chains=args.chains, burn_in=args.burn_in, thin=args.thin,
                      algorithm=algorithm, start=args.start, replicas=args.replicas, seed=args.seed,
                      progress=args.progress, names=names, **hmc)
    for w in caught:
        print(f"physgen: warning: {w.message}", file=sys.stderr)
    save(ds, args.out, overwrite=args.overwrite)
    taus = ", ".join(f"T={t:g}: {e:.1f}" for t, e in zip(ds.attrs["temperatures"], ds.attrs["tau_int_energy"]))
    extra = ""
    if "tempering_acceptance" in ds.attrs:
        acc = ds.attrs["tempering_acceptance"]
        extra = f"; exchange acceptance {min(acc):.2f}..{max(acc):.2f} over {len(ds.attrs['ladder'])} temperatures"
    if "hmc_step_size" in ds.attrs:
        extra += (f"; hmc acceptance {ds.attrs['acceptance']:.2f} with step size {ds.attrs['hmc_step_size']:.3g} x "
                  f"{ds.attrs['hmc_leapfrog_steps']} leapfrog steps")
    print(f"wrote {args.out}: {len(ds)} configurations of {model.describe()} ({algorithm}); "
          f"tau_int E in sweeps: {taus}{extra}")
    return 0
