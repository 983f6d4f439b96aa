"""``physgen data lattice``: Monte Carlo configurations of any lattice model (:mod:`physgen.lattice`)."""
from __future__ import annotations

import sys
import warnings

from physgen.cli.common import float_list, t_range
from physgen.cli.lattice_options import model_args, model_of
from physgen.cli.options import Arg, out_args, seed_arg, verb
from physgen.constraints import FINITE, NON_NEGATIVE_INT, POSITIVE_INT
from physgen.errors import UserError

EXAMPLE = ("physgen data lattice --model potts --param q=3 --size 8 --temperatures 0.9,0.995,1.1 --samples 500 "
           "--algorithm swendsen-wang --thin 15 --out potts.h5")
ARGS = (
    *model_args(),
    Arg("--temperatures", "comma-separated temperatures (a field theory's action is at T = 1, its default)",
        type=float_list, exclusive="temperatures"),
    Arg("--t-range", "LOW:HIGH:COUNT evenly spaced temperatures", type=t_range, exclusive="temperatures"),
    Arg("--samples", "configurations per temperature", range=POSITIVE_INT, required=True),
    Arg("--algorithm", "metropolis (any spin model; the default), swendsen-wang (potts J > 0, ising h = 0), wolff "
        "(ising h = 0), tempering (parallel tempering over a ladder of --replicas temperatures; any spin model) or hmc "
        "(hybrid Monte Carlo of a field: phi4; its default)",
        choices=("metropolis", "wolff", "swendsen-wang", "tempering", "hmc")),
    Arg("--step-size", "hmc: leapfrog step size (default: adapted during burn-in towards an acceptance of 0.8)",
        range=FINITE),
    Arg("--trajectory-length", "hmc: trajectory length = steps x step size (default 1)", range=FINITE),
    Arg("--chains", "independent chains (ladders, for tempering) per temperature (default min(samples, 32))",
        range=POSITIVE_INT),
    Arg("--burn-in", "sweeps discarded first (default 1000)", range=NON_NEGATIVE_INT, default=1000),
    Arg("--thin", "sweeps between samples (default 10)", range=POSITIVE_INT, default=10),
    Arg("--replicas", "tempering: temperatures in the ladder, the requested ones included (default 16)",
        range=POSITIVE_INT, default=16),
    Arg("--start", "initial configuration: ordered (one random state everywhere; default) or random",
        choices=("ordered", "random"), default="ordered"),
    Arg("--progress", "show a progress bar", action="store_true"),
    seed_arg(),
    *out_args(help="output dataset file (.h5)"))
#: the flag that sets each argument of the simulation, for its error messages
NAMES = {row.name: row.flag for row in ARGS}


def register(sub) -> None:
    verb(sub, "lattice", "sample any lattice model (Metropolis, Swendsen-Wang, Wolff, parallel tempering or HMC)",
         EXAMPLE, run, ARGS)


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
