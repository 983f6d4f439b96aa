"""``physgen data ising``: 2D Ising configurations from the Monte Carlo engine."""
from __future__ import annotations

import argparse
import math
import sys
import warnings

import numpy as np

from physgen.cli.common import add_out, add_seed, add_verb, finite_float, float_list, nonneg_int, positive_int
from physgen.errors import UserError

# Wolff near T_c: τ_int ≈ 2 sweeps at L = 32 against ≈ 100 for Metropolis, whose thinning would have to exceed 200
EXAMPLE = ("physgen data ising --size 32 --temperatures 1.5,2.269,3.0 --samples 1000 --chains 32 "
           "--burn-in 200 --thin 10 --algorithm wolff --seed 0 --out ising.h5")
OPTION_NAMES = {"size": "--size", "temperatures": "--temperatures", "samples": "--samples", "chains": "--chains",
                "burn_in": "--burn-in", "thin": "--thin", "algorithm": "--algorithm", "J": "--J", "h": "--h",
                "start": "--start", "engine": "--engine"}


def lattice_size(text: str) -> int:
    """``--size``: an integer L >= 2."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 2")
    return value


def t_range(text: str) -> list[float]:
    """``"1.0:3.5:16"`` -> 16 evenly spaced temperatures from 1.0 to 3.5 inclusive."""
    parts = text.split(":")
    try:
        lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"{text!r} is not LOW:HIGH:COUNT (e.g. 1.0:3.5:16)") from None
    if len(parts) != 3 or n < 1 or not (math.isfinite(lo) and math.isfinite(hi)):
        raise argparse.ArgumentTypeError(f"{text!r} is not LOW:HIGH:COUNT with finite bounds and COUNT >= 1")
    return [float(t) for t in np.linspace(lo, hi, n)]


def register(sub) -> None:
    p = add_verb(sub, "ising", "sample 2D Ising configurations (checkerboard Metropolis or Wolff clusters)",
                 EXAMPLE, run)
    p.add_argument("--size", type=lattice_size, required=True, help="lattice size L (L x L, periodic)")
    temps = p.add_mutually_exclusive_group(required=True)
    temps.add_argument("--temperatures", type=float_list, help="comma-separated temperatures, e.g. 1.5,2.0,2.269")
    temps.add_argument("--t-range", type=t_range, help="LOW:HIGH:COUNT evenly spaced temperatures")
    p.add_argument("--samples", type=positive_int, required=True, help="configurations per temperature")
    p.add_argument("--chains", type=positive_int, default=None,
                   help="independent chains per temperature (default min(samples, 32))")
    p.add_argument("--burn-in", type=nonneg_int, default=1000, help="sweeps discarded first (default 1000)")
    p.add_argument("--thin", type=positive_int, default=10, help="sweeps between samples (default 10)")
    p.add_argument("--algorithm", choices=("metropolis", "wolff"), default="metropolis",
                   help="checkerboard Metropolis (any h, even L) or Wolff clusters (h = 0; best near Tc)")
    p.add_argument("--start", choices=("ordered", "random"), default="ordered",
                   help="initial configuration: 'ordered' (default; all +1 or all -1 per chain, random sign) "
                        "or 'random' (infinite temperature)")
    p.add_argument("--J", type=finite_float, default=1.0, help="coupling J (default 1)")
    p.add_argument("--h", type=finite_float, default=0.0, help="magnetic field h (default 0)")
    p.add_argument("--device", default=None, help="torch device for Metropolis (default: cuda if available)")
    p.add_argument("--engine", choices=("auto", "multispin", "torch"), default="auto",
                   help="Metropolis engine: 'multispin' (64 chains per machine word, CPU, needs numba), 'torch' "
                        "(CPU or CUDA), or 'auto' (default: multispin on the CPU when numba is installed)")
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="generator processes, one shard each, merged into --out; seeds are spawned from --seed, "
                        "same (seed, workers) -> same configurations (default 1). Under torchrun every rank "
                        "writes its shard to OUT.shardR-of-W.h5 instead (merge them with `physgen data merge`)")
    add_seed(p)
    add_out(p, help="output dataset file (.h5)")


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
