"""A flow trained on the φ⁴ action, made exact, against a long HMC run of the same ensemble, on one core.

For a run of ``physgen train flow --hamiltonian phi4 --size L …``: its ``--mcmc`` chains (independence Metropolis)
and ``--importance`` weights, with the acceptance, τ_int of |M| in proposals, the ESS, ⟨|M|⟩/V, χ₂, U₄, the pole
mass and G_c(x) (blocked jackknife errors) beside the same observables of a long HMC run (``physgen data lattice
--model phi4 --algorithm hmc`` with its defaults), as z = (flow − HMC)/σ.  Cost of one independent |M|:
2 τ_int × CPU seconds per proposal for the flow (its training time stated beside it), 2 τ_int × CPU seconds
per trajectory of one chain for HMC.

    OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/phi4_flow.py --run RUN [--n 20000] [--hmc 200000] [--repeat 6]
"""
from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np

from physgen.lattice import registry as lattices
from physgen.lattice.field_observables import field_observables
from physgen.lattice.simulate import simulate
from physgen.training import load_run

NAMES = ("abs_m", "chi2", "binder", "pole_mass")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--n", type=int, default=20_000, help="flow --mcmc samples (and importance draws)")
    ap.add_argument("--chains", type=int, default=64)
    ap.add_argument("--hmc", type=int, default=200_000, help="HMC trajectories recorded (all chains)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1,
                    help="independent --mcmc runs of ⟨|M|⟩ (seeds seed + 1 … seed + K − 1 beside the first): their "
                         "spread against the blocked errors")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    run = load_run(args.run)
    cfg = run.config.model
    model = lattices.from_config(cfg, run.spec.shape[0])
    summary = json.loads((run.path / "summary.json").read_text())

    start = time.process_time()
    exact = run.sample(args.n, seed=args.seed, mcmc=True, chains=args.chains)
    flow_cpu = time.process_time() - start
    moves = args.chains * (100 + args.n // args.chains)        # burn-in 100 proposals per chain
    weighted = run.sample(args.n, seed=args.seed + 1, importance=True)

    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hmc = simulate(model, [1.0], args.hmc, chains=32, burn_in=1000, thin=1, algorithm="hmc", seed=args.seed)
    hmc_cpu = time.process_time() - start
    per = args.hmc // 32
    series = np.abs(hmc.samples[:per * 32].astype(np.float64).reshape(per, 32, -1).mean(-1)).T
    from physgen.stats import integrated_autocorrelation_time as tau

    tau_hmc = float(tau(series))
    trajectories = 32 * (1000 + per)

    o_flow, o_hmc = field_observables(exact.samples, 50), field_observables(hmc.samples, 50)
    tau_flow = float(exact.attrs["mcmc_tau_int_abs_magnetization"])
    lines = [f"run {args.run}: {model.describe()}; trained {summary['steps']} steps in {summary['wall_time_s']:.0f} s "
             f"wall, F_q/V {summary['last_metrics']['f_q']:.5f} (summary.json); load {load0:.2f} at start, "
             f"{os.getloadavg()[0]:.2f} at end",
             "", "| observable | flow --mcmc | HMC | z |", "|---|---|---|---|"]
    for k in NAMES:
        a, b = o_flow[k], o_hmc[k]
        z = (a["value"] - b["value"]) / np.hypot(a["error"], b["error"])
        lines.append(f"| {k} | {a['value']:.4f} ± {a['error']:.4f} | {b['value']:.4f} ± {b['error']:.4f} | {z:+.2f} |")
    zg = (o_flow["two_point"]["value"] - o_hmc["two_point"]["value"]) / np.hypot(o_flow["two_point"]["error"],
                                                                               o_hmc["two_point"]["error"])
    lines += ["", f"G_c(x): mean z² {float((zg ** 2).mean()):.2f} over {zg.size} entries, largest |z| "
              f"{float(np.abs(zg).max()):.2f}", "",
              "| sampler | acceptance | τ_int |M| | ESS | CPU ms per move | ms per independent |M| |",
              "|---|---|---|---|---|---|",
              f"| flow --mcmc ({args.n}, {args.chains} chains) | {exact.attrs['mcmc_acceptance']:.3f} | {tau_flow:.2f} "
              f"| {weighted.attrs['importance_ess_fraction']:.1%} | {1e3 * flow_cpu / moves:.4f} | "
              f"{2e3 * tau_flow * flow_cpu / moves:.4f} |",
              f"| HMC ({args.hmc}, 32 chains) | {hmc.attrs['acceptance']:.3f} | {tau_hmc:.2f} | — | "
              f"{1e3 * hmc_cpu / trajectories:.4f} | {2e3 * tau_hmc * hmc_cpu / trajectories:.4f} |"]
    if args.repeat > 1:
        runs = [o_flow["abs_m"]] + [field_observables(run.sample(args.n, seed=args.seed + k, mcmc=True,
                                                                 chains=args.chains).samples, 50)["abs_m"]
                                    for k in range(1, args.repeat)]
        values = np.array([r["value"] for r in runs])
        lines += ["", f"⟨|M|⟩/V of {args.repeat} --mcmc runs: " + ", ".join(f"{v:.4f}" for v in values)
                  + f"; mean {values.mean():.4f} ± {values.std(ddof=1) / np.sqrt(len(values)):.4f}, spread (sd) "
                  f"{values.std(ddof=1):.4f} against a mean blocked error {np.mean([r['error'] for r in runs]):.4f}"]
    share, spread = weight_by_decile(weighted)
    lines += ["", "Importance weight carried by each tenth of the draws in |M| (a flow that under-weights large |M| "
              "gives the last tenths more than 0.1): " + " ".join(f"{w:.3f}" for w in share),
              f"Variance of log w within a tenth, the median over the ten (the mismatch at fixed |M|): {spread:.2f}"]
    print("\n".join(lines))


def weight_by_decile(weighted) -> tuple[np.ndarray, float]:
    """The share of the self-normalised importance weight ``(10,)`` in each tenth of the draws ordered by |M|,
    and the median over the tenths of the variance of log w within one."""
    m = np.abs(weighted.samples.reshape(len(weighted.samples), -1).astype(np.float64).mean(1))
    log_w = np.asarray(weighted.log_weights, dtype=np.float64)
    w = np.exp(log_w)
    parts = np.array_split(np.argsort(m), 10)
    return (np.array([w[part].sum() for part in parts]) / w.sum(),
            float(np.median([log_w[part].var() for part in parts])))


if __name__ == "__main__":
    main()
