"""Diffusion samplers on a temperature-conditioned Ising run: ⟨e⟩ and ⟨|m|⟩ against Monte Carlo, and time.

For each ``SAMPLER:STEPS`` setting, draw ``--n`` lattices at each temperature of the reference file with
``physgen.training.load_run(RUN).sample`` and print the relative errors of ⟨e⟩ (energy per spin) and ⟨|m|⟩
against the Monte Carlo reference, each with its standard error (samples and reference, independent draws
assumed), and the sampling time per lattice.  The headline comparison of the docs uses ``physgen sample``
and ``physgen evaluate --metrics observables``; this script scans step counts quickly.

    OMP_NUM_THREADS=1 python benchmarks/diffusion_ising.py RUN MC.h5 --n 200 \\
        --settings ddpm:100,sde-dpm-solver++:10,sde-dpm-solver++:20,dpm-solver++:20
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main() -> None:
    from physgen.data import load
    from physgen.physics.observables import energy_per_spin, magnetization
    from physgen.training import load_run

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("reference", help="Monte Carlo file with /conditions/temperature")
    ap.add_argument("--n", type=int, default=200, help="lattices per temperature and setting")
    ap.add_argument("--settings", default="ddpm:100,sde-dpm-solver++:20,dpm-solver++:20")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    run, ref = load_run(args.run, device="cpu"), load(args.reference)
    temps = sorted({float(t) for t in ref.conditions["temperature"]})
    observables = {"e": energy_per_spin, "|m|": lambda s: np.abs(magnetization(s))}
    reference = {}
    for t in temps:
        lattices = ref.samples[np.isclose(ref.conditions["temperature"], t)]
        reference[t] = {k: (f(lattices).mean(), f(lattices).std() / np.sqrt(len(lattices))) for k, f in observables.items()}
    print(f"run {args.run}, {args.n} lattices per T, load {os.getloadavg()[0]:.1f}; relative error ± standard error (%)")
    for setting in args.settings.split(","):
        sampler, steps = setting.split(":")
        cells, seconds = [], 0.0
        for t in temps:
            t0 = time.perf_counter()
            ds = run.sample(args.n, seed=args.seed, condition={"temperature": t}, sampler=sampler, steps=int(steps))
            seconds += time.perf_counter() - t0
            for k, f in observables.items():
                v = f(ds.samples)
                mean, se = reference[t][k]
                err = np.hypot(v.std() / np.sqrt(len(v)), se) / abs(mean)
                cells.append(f"T={t:g} {k} {100 * (v.mean() / mean - 1):+.2f}±{100 * err:.2f}")
        ms = 1e3 * seconds / (args.n * len(temps))
        print(f"{sampler:16s} {steps:>4s} | " + " | ".join(cells) + f" | {ms:.1f} ms/lattice", flush=True)
    print(f"load {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
