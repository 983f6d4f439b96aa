"""``physgen data ising``: 2D Ising configurations from the Monte Carlo engine."""
from __future__ import annotations

import sys
import warnings

import numpy as np

from physgen.cli.common import float_list, lattice_size, t_range
from physgen.cli.options import Arg, out_args, seed_arg, verb
from physgen.constraints import FINITE, NON_NEGATIVE_INT, POSITIVE_INT
from physgen.errors import UserError

# Wolff near T_c: τ_int ≈ 2 sweeps at L = 32 against ≈ 100 for Metropolis, whose thinning would have to exceed 200
EXAMPLE = ("physgen data ising --size 32 --temperatures 1.5,2.269,3.0 --samples 1000 --chains 32 "
           "--burn-in 200 --thin 10 --algorithm wolff --seed 0 --out ising.h5")
ARGS = (
    Arg("--size", "lattice size L (L x L, periodic)", type=lattice_size, required=True),
    Arg("--temperatures", "comma-separated temperatures, e.g. 1.5,2.0,2.269", type=float_list,
        exclusive="temperatures", required=True),
    Arg("--t-range", "LOW:HIGH:COUNT evenly spaced temperatures", type=t_range, exclusive="temperatures"),
    Arg("--samples", "configurations per temperature", range=POSITIVE_INT, required=True),
    Arg("--chains", "independent chains per temperature (default min(samples, 32))", range=POSITIVE_INT),
    Arg("--burn-in", "sweeps discarded first (default 1000)", range=NON_NEGATIVE_INT, default=1000),
    Arg("--thin", "sweeps between samples (default 10)", range=POSITIVE_INT, default=10),
    Arg("--algorithm", "checkerboard Metropolis (any h, even L) or Wolff clusters (h = 0; best near Tc)",
        choices=("metropolis", "wolff"), default="metropolis"),
    Arg("--start", "initial configuration: 'ordered' (default; all +1 or all -1 per chain, random sign) or 'random' "
        "(infinite temperature)", choices=("ordered", "random"), default="ordered"),
    Arg("--J", "coupling J (default 1)", range=FINITE, default=1.0),
    Arg("--h", "magnetic field h (default 0)", range=FINITE, default=0.0),
    Arg("--device", "torch device for Metropolis (default: cuda if available)"),
    Arg("--engine", "Metropolis engine: 'multispin' (64 chains per machine word, CPU, needs numba), 'torch' (CPU or "
        "CUDA), or 'auto' (default: multispin on the CPU when numba is installed)",
        choices=("auto", "multispin", "torch"), default="auto"),
    Arg("--progress", "show a progress bar", action="store_true"),
    Arg("--workers", "generator processes, one shard each, merged into --out; seeds are spawned from --seed, same "
        "(seed, workers) -> same configurations (default 1). Under torchrun every rank writes its shard to "
        "OUT.shardR-of-W.h5 instead (merge them with `physgen data merge`)", range=POSITIVE_INT, default=1),
    seed_arg(),
    *out_args(help="output dataset file (.h5)"))
#: the flag that sets each argument of the simulation, for its error messages
OPTION_NAMES = {row.name: row.flag for row in ARGS}


def register(sub) -> None:
    verb(sub, "ising", "sample 2D Ising configurations (checkerboard Metropolis or Wolff clusters)", EXAMPLE, run, ARGS)


def run(args) -> int:
    from physgen.atomic import check_writable
    from physgen.data import save
    from physgen.data.ising import simulate, validate
    from physgen.data.ising.sharded import plan, simulate_shard, simulate_sharded
    from physgen.data.shards import refuse_workers_under_torchrun, shard_path, torchrun_shard

    temperatures = args.temperatures if args.temperatures is not None else args.t_range
    params = dict(chains=args.chains, burn_in=args.burn_in, thin=args.thin, algorithm=args.algorithm,
                  J=args.J, h=args.h, start=args.start, engine=args.engine)
    names = OPTION_NAMES | ({"temperatures": "--t-range"} if args.temperatures is None else {})
    validate(args.size, temperatures, args.samples, names=names, **params)
    rank, world = torchrun_shard()
    out = shard_path(args.out, rank, world) if world > 1 else args.out
    refuse_workers_under_torchrun(args.workers)
    if world > 1:
        plan(args.samples, args.chains, world, "torchrun --nproc_per_node")
    else:
        plan(args.samples, args.chains, args.workers)
    check_writable(out, overwrite=args.overwrite)
    device = _device(args.device)
    if args.engine == "multispin" and device is not None and device.type != "cpu":
        raise UserError(f"--engine: the multispin engine runs on the CPU, not on --device {args.device}")
    common = dict(seed=args.seed, device=device, progress=args.progress, **params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if world > 1:
            ds = simulate_shard(args.size, temperatures, args.samples, index=rank, count=world, **common)
        elif args.workers > 1:
            ds = simulate_sharded(args.size, temperatures, args.samples, workers=args.workers, **common)
        else:
            ds = simulate(args.size, temperatures, args.samples, **common)
    for w in caught:
        print(f"physgen: warning: {w.message}", file=sys.stderr)
    save(ds, out, overwrite=args.overwrite)
    tau_m, tau_e = _taus(ds.attrs, "tau_int_abs_m"), _taus(ds.attrs, "tau_int_energy")
    taus = ", ".join(f"T={t:g}: {a:.1f}/{b:.1f}" for t, a, b in zip(ds.attrs["temperatures"], tau_m, tau_e))
    mean = "" if "tau_int_abs_m" in ds.attrs else f" (mean of {args.workers} shards)"
    print(f"wrote {out}: {len(ds)} configurations {args.size}x{args.size} ({args.algorithm}); "
          f"tau_int |m|/E in sweeps{mean}: {taus}")
    return 0


def _taus(attrs: dict, key: str) -> list[float]:
    """τ_int per temperature: the file's, or the mean over the shards of a merged file."""
    if key in attrs:
        return list(attrs[key])
    return list(np.mean([s[key] for s in attrs["shards"]], axis=0))


def _device(name: str | None):
    if name is None:
        return None
    import torch

    try:
        device = torch.device(name)
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError) as exc:
        raise UserError(f"--device: cannot use {name!r} ({str(exc).splitlines()[0][:120]})") from None
    return device
