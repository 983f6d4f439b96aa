"""Diffusion samplers on a temperature-conditioned Ising run: ⟨e⟩ and ⟨|m|⟩ against Monte Carlo, and time.

For each ``SAMPLER:STEPS[:KEY=VALUE...]`` setting, draw ``--n`` lattices at each temperature of the reference
file (or of ``--temperatures``) with ``physgen.training.load_run(RUN).sample`` and print the relative errors of
⟨e⟩ (energy per spin) and ⟨|m|⟩ against the Monte Carlo reference, each with its standard error (samples and
reference, independent draws assumed), and the sampling time per lattice.  ``KEY=VALUE`` pairs replace
sampling options of the run's ``[model]`` config for that setting (``ancestral_variance``, ``sample_dtype``).
The headline comparison of the docs uses ``physgen sample`` and ``physgen evaluate --metrics observables``;
this script scans settings quickly.

    OMP_NUM_THREADS=1 python benchmarks/diffusion_ising.py RUN MC.h5 --n 200 \\
        --settings ddpm:100,sde-dpm-solver++:10,sde-dpm-solver++:20,dpm-solver++:20
    OMP_NUM_THREADS=1 python benchmarks/diffusion_ising.py RUN MC.h5 --n 10000 --temperatures 3 --seed 7 \\
        --settings ddpm:100:sample_dtype=float32,ddpm:100:sample_dtype=bfloat16
"""
from __future__ import annotations

import argparse
import dataclasses
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
    ap.add_argument("--temperatures", type=lambda s: [float(t) for t in s.split(",")],
                    help="comma list of temperatures (default: every temperature of the reference)")
    args = ap.parse_args()
    run, ref = load_run(args.run, device="cpu"), load(args.reference)
    temps = args.temperatures or sorted({float(t) for t in ref.conditions["temperature"]})
    recorded = run.model.config
    observables = {"e": energy_per_spin, "|m|": lambda s: np.abs(magnetization(s))}
    reference = {}
    for t in temps:
        lattices = ref.samples[np.isclose(ref.conditions["temperature"], t)]
        if not len(lattices):
            raise SystemExit(f"--temperatures: {t:g} is not a temperature of {args.reference}")
        reference[t] = {k: (f(lattices).mean(), f(lattices).std() / np.sqrt(len(lattices))) for k, f in observables.items()}
    print(f"run {args.run}, {args.n} lattices per T, load {os.getloadavg()[0]:.1f}; relative error ± standard error (%)")
    for setting in args.settings.split(","):
        sampler, steps, *pairs = setting.split(":")
        options = dict(p.split("=", 1) for p in pairs)
        run.model.config = dataclasses.replace(recorded, **options)
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
        label = " ".join([sampler, *pairs])
        print(f"{label:16s} {steps:>4s} | " + " | ".join(cells) + f" | {ms:.1f} ms/lattice", flush=True)
    print(f"load {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
