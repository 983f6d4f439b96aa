"""Monte Carlo ⟨e⟩ and C of physgen's classical lattice samplers against the exact transfer matrix.

Two systems, three temperatures each: the 3-state Potts model on the 8×8 torus around T_c = 1/ln(1 + √3)
with Swendsen–Wang, and one Edwards–Anderson ±J instance on the 10×10 torus (``--disorder-seed 1``) at
T = 0.5, 1.0 and 2.0 with parallel tempering.  The data are made as a user makes them (``physgen data lattice``'s
function with its defaults but for the sample count); the errors are the spread over the independent chains
(jackknife over chains for C), and the pull is (MC − exact)/error.

    OMP_NUM_THREADS=1 python benchmarks/lattice_targets.py [--samples 20000] [--out lattice_targets.json]
"""
from __future__ import annotations

import argparse
import json
import platform
import time
import os

import numpy as np

import physgen.lattice as lattice
from physgen.lattice import transfer
from physgen.lattice.simulate import simulate

CASES = [("potts", {"q": 3}, {}, "swendsen-wang", (0.9, 0.995, 1.1)),
         ("ea", {}, {"disorder": "pm", "disorder_seed": 1}, "tempering", (0.5, 1.0, 2.0))]


def chain_estimates(e: np.ndarray, T: float, n_sites: int) -> tuple[float, float, float, float]:
    """⟨e⟩ and C = N var(e)/T² with errors from ``e (chains, k)``: the chains' spread, jackknife for C."""
    c = len(e)
    means = e.mean(1)
    mean, err = float(e.mean()), float(means.std(ddof=1) / np.sqrt(c))
    spec = lambda x: n_sites * x.var() / T ** 2  # noqa: E731
    full = spec(e)
    jack = np.array([spec(np.delete(e, i, 0)) for i in range(c)])
    return mean, err, float(full), float(np.sqrt((c - 1) / c * ((jack - jack.mean()) ** 2).sum()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--chains", type=int, default=64)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    rows = []
    for name, params, kw, algorithm, temps in CASES:
        model = lattice.build(name, 8 if name == "potts" else 10, params=params, **kw)
        t0 = time.perf_counter()
        ds = simulate(model, temps, args.samples, chains=args.chains, burn_in=2000, thin=10, algorithm=algorithm,
                      seed=0)
        t_mc = time.perf_counter() - t0
        t0 = time.perf_counter()
        exact = transfer.solve(model, temps)
        t_exact = time.perf_counter() - t0
        print(f"{model.describe()}: Monte Carlo {t_mc:.0f} s, transfer matrix {t_exact:.0f} s for {len(temps)} "
              f"temperatures", flush=True)
        for k, (T, ref) in enumerate(zip(temps, exact)):
            x = ds.samples[k * args.samples:(k + 1) * args.samples]
            whole = len(x) // args.chains * args.chains           # rows r = snapshot · chains + chain
            e = (model.energy(x[:whole]) / model.n_sites).reshape(-1, args.chains).T     # (chains, per chain)
            u, du, c, dc = chain_estimates(e, T, model.n_sites)
            rows.append({"model": model.describe(), "algorithm": algorithm, "T": T, "e": u, "e_err": du,
                         "e_exact": ref.energy, "e_pull": (u - ref.energy) / du, "C": c, "C_err": dc,
                         "C_exact": ref.specific_heat, "C_pull": (c - ref.specific_heat) / dc,
                         "tau_int_energy": ds.attrs["tau_int_energy"][k],
                         "tempering_acceptance_min": min(ds.attrs.get("tempering_acceptance", [np.nan])),
                         "mc_seconds": t_mc, "exact_seconds": t_exact})
            r = rows[-1]
            print(f"{r['model']:<40} {algorithm:<14} T={T:<6g} e {u:.5f}±{du:.5f} exact {ref.energy:.5f} "
                  f"pull {r['e_pull']:+.2f} | C {c:.4f}±{dc:.4f} exact {ref.specific_heat:.4f} pull {r['C_pull']:+.2f}"
                  f" | tau {r['tau_int_energy']:.1f} | MC {t_mc:.0f} s, exact {t_exact:.0f} s", flush=True)
    meta = {"machine": platform.processor() or platform.machine(), "load": os.getloadavg(),
            "samples": args.samples, "chains": args.chains}
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
