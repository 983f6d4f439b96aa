"""HMC on the φ⁴ ensembles of Albergo, Kanwar & Shanahan (PRD 100, 034515, 2019): observables with blocked errors,
τ_int of |M| and of the action in trajectories, and the CPU cost of one independent sample of |M|, on one core.

Their action Σ_x [Σ_μ (ϕ_{x+μ} − ϕ_x)² + m² ϕ² + λ_A ϕ⁴] is physgen's φ⁴ action at ϕ = φ/√2 with λ = λ_A/4
(:mod:`physgen.lattice.phi4`); the table reports ⟨|M|⟩/V and χ₂ in their normalisation (ϕ), so that the numbers
can be set beside theirs, and the pole mass m_p (the same in both).  Cost per independent sample:
2 τ_int(|M|) × CPU seconds per trajectory of one chain.  The defaults of ``physgen data lattice --model phi4``
(trajectory length 1, step size adapted to an acceptance of 0.8 during burn-in).

    OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/phi4_hmc.py [--samples 20000] [--out records/phi4.md]
"""
from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np

from physgen.lattice import registry
from physgen.lattice.field_observables import field_observables
from physgen.lattice.simulate import simulate
from physgen.stats import integrated_autocorrelation_time as tau

ENSEMBLES = ((6, 6.975), (8, 6.008), (10, 5.550))   # (L, λ_A) at m² = −4


def run(L: int, lam_a: float, samples: int, chains: int, seed: int) -> dict:
    model = registry.build("phi4", L, params={"m2": -4.0, "lam": lam_a / 4})
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = simulate(model, [1.0], samples, chains=chains, burn_in=1000, thin=1, algorithm="hmc", seed=seed)
    cpu = time.process_time() - start
    x = ds.samples.astype(np.float64)
    trajectories = chains * (1000 + samples // chains)
    per = samples // chains                                                       # rows are time-major: t·C + c
    series = np.abs(x[:per * chains].reshape(per, chains, -1).mean(-1)).T         # (chains, time) |M|/V
    tau_m = float(tau(series))
    o = field_observables(x / np.sqrt(2), blocks=50)
    return {"L": L, "lam_a": lam_a, "lam": lam_a / 4, "acceptance": ds.attrs["acceptance"],
            "step": ds.attrs["hmc_step_size"], "leapfrog": ds.attrs["hmc_leapfrog_steps"],
            "tau_m": tau_m, "tau_e": float(ds.attrs["tau_int_energy"][0]), "s_per_traj": cpu / trajectories,
            "cost": 2 * tau_m * cpu / trajectories, **{k: o[k] for k in ("abs_m", "chi2", "pole_mass", "binder")}}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "cpu"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=20_000, help="trajectories recorded per ensemble (all chains)")
    ap.add_argument("--chains", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="append the table to this markdown file")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    rows = [run(L, lam, args.samples, args.chains, args.seed) for L, lam in ENSEMBLES]
    fmt = lambda e: f"{e['value']:.4f} ± {e['error']:.4f}"  # noqa: E731
    lines = ["| L | λ_A (λ) | acceptance | ε × steps | ⟨|M|⟩/V (ϕ) | χ₂ (ϕ) | m_p | m_p L | U₄ | τ_int |M| "
             "| τ_int S | ms/trajectory | ms per independent |M| |", "|" + "---|" * 14]
    for r in rows:
        lines.append(f"| {r['L']} | {r['lam_a']} ({r['lam']:.5g}) | {r['acceptance']:.3f} | {r['step']:.3f} × "
                     f"{r['leapfrog']} | {fmt(r['abs_m'])} | {fmt(r['chi2'])} | {fmt(r['pole_mass'])} | "
                     f"{r['pole_mass']['value'] * r['L']:.2f} | {fmt(r['binder'])} | {r['tau_m']:.2f} | "
                     f"{r['tau_e']:.2f} | {1e3 * r['s_per_traj']:.3f} | {1e3 * r['cost']:.3f} |")
    head = (f"`OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '?')} python benchmarks/phi4_hmc.py "
            f"--samples {args.samples} --chains {args.chains} --seed {args.seed}`; {cpu_name()}, one core, "
            f"load {load:.2f} at start, {os.getloadavg()[0]:.2f} at end; m² = −4, burn-in 1,000 trajectories, "
            f"{args.chains} chains, every trajectory recorded.")
    text = "\n".join([head, "", *lines, ""])
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
