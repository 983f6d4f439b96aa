"""``physgen data lattice``: Monte Carlo configurations of any lattice model (:mod:`physgen.lattice`)."""
from __future__ import annotations

import sys
import warnings

from physgen.cli.common import add_out, add_seed, add_verb, float_list, nonneg_int, positive_int
from physgen.cli.lattice_options import add_model, model_of

EXAMPLE = ("physgen data lattice --model potts --param q=3 --size 8 --temperatures 0.9,0.995,1.1 --samples 500 "
           "--algorithm swendsen-wang --thin 15 --out potts.h5")
NAMES = {"temperatures": "--temperatures", "samples": "--samples", "chains": "--chains", "burn_in": "--burn-in",
         "thin": "--thin", "replicas": "--replicas", "algorithm": "--algorithm"}


def register(sub) -> None:
    from physgen.cli.data_ising import t_range

    p = add_verb(sub, "lattice", "sample any lattice model (Metropolis, Swendsen-Wang, Wolff or parallel tempering)",
                 EXAMPLE, run)
    add_model(p)
    temps = p.add_mutually_exclusive_group(required=True)
    temps.add_argument("--temperatures", type=float_list, help="comma-separated temperatures")
    temps.add_argument("--t-range", type=t_range, help="LOW:HIGH:COUNT evenly spaced temperatures")
    p.add_argument("--samples", type=positive_int, required=True, help="configurations per temperature")
    p.add_argument("--algorithm", choices=("metropolis", "wolff", "swendsen-wang", "tempering"), default="metropolis",
                   help="metropolis (any model), swendsen-wang (potts J > 0, ising h = 0), wolff (ising h = 0) or "
                        "tempering (parallel tempering over a ladder of --replicas temperatures; any model)")
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
    temperatures = args.temperatures if args.temperatures is not None else args.t_range
    names = NAMES | ({"temperatures": "--t-range"} if args.temperatures is None else {})
    check_writable(args.out, overwrite=args.overwrite)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = simulate(model, temperatures, args.samples, chains=args.chains, burn_in=args.burn_in, thin=args.thin,
                      algorithm=args.algorithm, start=args.start, replicas=args.replicas, seed=args.seed,
                      progress=args.progress, names=names)
    for w in caught:
        print(f"physgen: warning: {w.message}", file=sys.stderr)
    save(ds, args.out, overwrite=args.overwrite)
    taus = ", ".join(f"T={t:g}: {e:.1f}" for t, e in zip(ds.attrs["temperatures"], ds.attrs["tau_int_energy"]))
    extra = ""
    if "tempering_acceptance" in ds.attrs:
        acc = ds.attrs["tempering_acceptance"]
        extra = f"; exchange acceptance {min(acc):.2f}..{max(acc):.2f} over {len(ds.attrs['ladder'])} temperatures"
    print(f"wrote {args.out}: {len(ds)} configurations of {model.describe()} ({args.algorithm}); "
          f"tau_int E in sweeps: {taus}{extra}")
    return 0
