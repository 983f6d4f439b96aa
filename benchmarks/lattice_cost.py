"""Cost per independent sample of a lattice model where cluster algorithms fail: single-spin Metropolis, parallel
tempering, a cluster algorithm where the model has one, and a trained van's independence Metropolis
(``physgen sample --mcmc``), side by side on one core.

For each sampler: τ_int of the energy and of the order parameter in its own moves (for a spin glass the overlap
q² of chain pairs 2k, 2k+1; for the Potts model its |m|), the CPU time per move, and the cost of one independent
sample, 2 max(τ_E, τ_order) × time per move.  A move is one sweep of one chain (Metropolis, Swendsen–Wang), one
sweep of one ladder with all its replicas and an exchange round (tempering), or one proposal and accept/reject
of one chain (van --mcmc).  The van's training time is stated beside it: it is paid once per instance and
temperature set.

    OMP_NUM_THREADS=1 taskset -c 1 python benchmarks/lattice_cost.py --run RUN [--size 10 --seed 1 --T 0.5]
    OMP_NUM_THREADS=1 taskset -c 1 python benchmarks/lattice_cost.py --model potts --param q=10 --size 16 \
        --T 0.7012 --run RUN

``RUN``: a ``physgen train van --hamiltonian ea --size L --disorder-seed S --temperatures …,T,…`` run (or
``--hamiltonian potts --param q=10 …``); ``--rbm RBM``: an rbm trained on the model's Monte Carlo data at T
(``physgen data lattice … --algorithm tempering``, ``physgen train rbm --data …``), whose block-Gibbs kernel is the
proposal of its ``--mcmc``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings

import torch

import physgen.lattice as lattice
from physgen.lattice.simulate import simulate
from physgen.stats import integrated_autocorrelation_time as tau


def classical(model, algorithm: str, T: float, sweeps: int, chains: int, burn_in: int) -> dict:
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = simulate(model, [T], sweeps * chains, chains=chains, burn_in=burn_in, thin=1, algorithm=algorithm,
                      replicas=16, seed=0)
    cpu = time.process_time() - start
    moves = (burn_in + sweeps) * chains
    order_key = "overlap_sq" if model.quenched else model.order_name
    return {"sampler": algorithm, "tau_energy": ds.attrs["tau_int_energy"][0],
            "tau_order": ds.attrs[f"tau_int_{order_key}"][0], "seconds_per_move": cpu / moves,
            "cpu_s": cpu, "moves": moves, **({"ladder": ds.attrs["ladder"],
                                              "exchange_acceptance": ds.attrs["tempering_acceptance"]}
                                             if algorithm == "tempering" else {})}


def learned_mcmc(run_dir: str, model, T: float, steps: int, chains: int, burn_in: int) -> dict:
    from physgen.samplers.boltzmann import LatticeTarget, boltzmann_chains
    from physgen.training import load_run

    run = load_run(run_dir)
    proposal = run.model.proposal({"temperature": T})
    start = time.process_time()
    res = boltzmann_chains(proposal, LatticeTarget(T, model), steps * chains, chains=chains, burn_in=burn_in,
                           generator=torch.Generator().manual_seed(0))
    cpu = time.process_time() - start
    if model.quenched:
        s = res.samples.reshape(chains, steps, -1).double().numpy()         # chain-major
        pairs = chains // 2 * 2
        tau_order = float(tau(((s[0:pairs:2] * s[1:pairs:2]).mean(-1)) ** 2))   # q² of chain pairs (pairs/2, steps)
    else:
        tau_order = float(res.tau_abs_magnetization)
    summary = json.load(open(os.path.join(run_dir, "summary.json")))
    return {"sampler": f"{run.config.model_name} --mcmc ({chains} chains)", "tau_energy": float(res.tau_energy),
            "tau_order": tau_order,
            "acceptance": float(res.acceptance), "seconds_per_move": cpu / ((burn_in + steps) * chains),
            "cpu_s": cpu, "moves": (burn_in + steps) * chains, "training_s": summary.get("wall_time_s")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True, help="a data-free van run on the model")
    ap.add_argument("--rbm", default=None, help="an rbm run trained on the model's Monte Carlo data")
    ap.add_argument("--model", default="ea")
    ap.add_argument("--param", action="append", default=[], help="KEY=VALUE, repeatable")
    ap.add_argument("--size", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--T", type=float, default=0.5)
    ap.add_argument("--sweeps", type=int, default=10000)
    ap.add_argument("--chain-steps", type=int, default=250, help="recorded moves of each of 256 learned chains")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    params = dict(item.split("=", 1) for item in args.param)
    quenched = {"disorder": "pm", "disorder_seed": args.seed} if lattice.get(args.model).quenched else {}
    model = lattice.build(args.model, args.size, params=params, **quenched)
    rows = [classical(model, "metropolis", args.T, args.sweeps, 32, 1000),
            classical(model, "tempering", args.T, args.sweeps // 4, 32, 1000)]
    if "swendsen-wang" in model.algorithms:
        rows.append(classical(model, "swendsen-wang", args.T, args.sweeps // 4, 32, 1000))
    for run in filter(None, (args.run, args.rbm)):
        rows += [learned_mcmc(run, model, args.T, 2000, 16, 100),      # sample --mcmc's default chains
                 learned_mcmc(run, model, args.T, args.chain_steps, 256, 100)]
    print(f"{model.describe()}, T = {args.T}, one core; load {os.getloadavg()}")
    print(f"{'sampler':<26} {'tau_E':>8} {'tau_ord':>8} {'s/move':>10} {'s/independent':>14}")
    for r in rows:
        r["seconds_per_independent"] = 2 * max(r["tau_energy"], r["tau_order"]) * r["seconds_per_move"]
        print(f"{r['sampler']:<26} {r['tau_energy']:8.2f} {r['tau_order']:8.2f} {r['seconds_per_move']:10.2e} "
              f"{r['seconds_per_independent']:14.2e}")
    if args.out:
        json.dump({"machine": platform.processor(), "load": os.getloadavg(), "args": vars(args), "rows": rows},
                  open(args.out, "w"), indent=2)


if __name__ == "__main__":
    main()
