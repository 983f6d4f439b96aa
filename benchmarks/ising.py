"""Ising engine speed: spin-flip attempts per second vs a plain vectorised NumPy checkerboard Metropolis.

Both are measured in the same run on the same lattice (default L = 128, 64 chains, T = 2.269, h = 0),
interleaved ``--repeat`` times so that machine load hits both alike; the ratio uses the median times.
The NumPy reference is the textbook version: full-lattice ``np.roll`` neighbour sums, one uniform
double and one ``exp`` per site, a checkerboard mask for each half sweep.
On CUDA the engine figure is also printed in flips per nanosecond.

    python benchmarks/ising.py                      # CPU, 1 and 2 torch threads
    python benchmarks/ising.py --device cuda --chains 1024
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np
import torch

from physgen.data.ising import CheckerboardMetropolis


def reference_sweep(s: np.ndarray, beta: float, rng: np.random.Generator, masks) -> None:
    """One checkerboard sweep of (C, L, L) int8 spins, the plain NumPy way."""
    for mask in masks:
        nb = np.roll(s, 1, 1) + np.roll(s, -1, 1) + np.roll(s, 1, 2) + np.roll(s, -1, 2)
        accept = (rng.random(s.shape) < np.exp(-beta * 2.0 * s * nb)) & mask
        s[accept] *= -1


def time_reference(L: int, chains: int, T: float, sweeps: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    s = (2 * rng.integers(0, 2, size=(chains, L, L)) - 1).astype(np.int8)
    i, j = np.indices((L, L))
    masks = [((i + j) % 2 == p)[None] for p in (0, 1)]
    reference_sweep(s, 1 / T, rng, masks)                     # warm-up
    start = time.perf_counter()
    for _ in range(sweeps):
        reference_sweep(s, 1 / T, rng, masks)
    return (time.perf_counter() - start) / sweeps


def time_engine(L: int, chains: int, T: float, sweeps: int, seed: int, device: torch.device, h: float = 0.0) -> float:
    g = torch.Generator().manual_seed(seed)
    s = (2 * torch.randint(0, 2, (chains, L, L), generator=g, dtype=torch.int8) - 1).to(device)
    eng = CheckerboardMetropolis(s, np.full(chains, 1 / T), h=h, seed=seed)
    eng.sweep(3)                                              # warm-up
    _sync(device)
    start = time.perf_counter()
    eng.sweep(sweeps)
    _sync(device)
    return (time.perf_counter() - start) / sweeps


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(args, threads: int) -> dict:
    """Interleaved engine / reference timings with ``threads`` torch threads; medians -> flips per second."""
    torch.set_num_threads(threads)
    device = torch.device(args.device)
    L, C, T = args.size, args.chains, args.temperature
    flips = C * L * L
    eng, eng_h, ref = [], [], []
    for r in range(args.repeat):
        eng.append(time_engine(L, C, T, args.sweeps, args.seed + r, device))
        eng_h.append(time_engine(L, C, T, max(args.sweeps // 4, 1), args.seed + r, device, h=0.1))
        ref.append(time_reference(L, C, T, args.ref_sweeps, args.seed + r))
    t_eng, t_h, t_ref = (statistics.median(x) for x in (eng, eng_h, ref))
    return {"L": L, "chains": C, "T": T, "device": str(device), "torch_threads": torch.get_num_threads(),
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "torch": torch.__version__,
            "engine_flips_per_s": flips / t_eng, "engine_field_flips_per_s": flips / t_h,
            "numpy_reference_flips_per_s": flips / t_ref, "ratio": t_ref / t_eng, "ratio_field": t_ref / t_h,
            "engine_best_flips_per_s": flips / min(eng), "numpy_best_flips_per_s": flips / min(ref)}


def report(res: dict) -> None:
    print(f"L={res['L']} chains={res['chains']} T={res['T']} device={res['device']} "
          f"torch threads={res['torch_threads']}")
    print(f"  engine (h=0)        {res['engine_flips_per_s'] / 1e6:10.1f} M flips/s   "
          f"(best {res['engine_best_flips_per_s'] / 1e6:.1f})")
    print(f"  engine (h=0.1)      {res['engine_field_flips_per_s'] / 1e6:10.1f} M flips/s")
    print(f"  numpy reference     {res['numpy_reference_flips_per_s'] / 1e6:10.1f} M flips/s   "
          f"(best {res['numpy_best_flips_per_s'] / 1e6:.1f})")
    print(f"  ratio engine/numpy  {res['ratio']:10.2f} x   (h=0.1: {res['ratio_field']:.2f} x)")
    if res["device"].startswith("cuda"):
        print(f"  engine on GPU       {res['engine_flips_per_s'] / 1e9:10.2f} flips/ns")
    print("  " + json.dumps(res))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--chains", type=int, default=64)
    p.add_argument("--temperature", type=float, default=2.269)
    p.add_argument("--sweeps", type=int, default=100, help="engine sweeps per repeat")
    p.add_argument("--ref-sweeps", type=int, default=5, help="reference sweeps per repeat")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", default="1,2", help="comma-separated torch CPU thread counts (default 1,2)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    for threads in (int(t) for t in args.threads.split(",")):
        report(measure(args, threads))


if __name__ == "__main__":
    main()
