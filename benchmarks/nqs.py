"""Neural-quantum-state targets: physgen's RBM + SR against the exact energies, and NetKet beside it.

    python benchmarks/nqs.py [--problems tfim20,heisenberg20,tfim4x4] [--iterations 400] [--samples 1000]

Each problem runs ``physgen.nqs.run.run_nqs`` (RBM, α = 2, real parameters, SR with learning rate 0.05 and
diagonal shift 0.01) and prints the final energy, its blocking error, the relative error against the exact
energy and the wall time.  Where NetKet is importable (it is never a dependency of physgen) the same problem
runs with ``netket.models.RBM(alpha=2)``, a local or exchange Metropolis sampler and ``netket.optimizer.SR``
at the same samples per iteration, iterations, learning rate and diagonal shift, in the same process, and
the table gives both energies and the ratio of wall times.  Set ``OMP_NUM_THREADS=1`` for one core.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from physgen.nqs.run import NQSConfig, run_nqs

PROBLEMS = {
    "tfim20": dict(hamiltonian="tfim", lattice="chain", size=20, h=1.0),
    "heisenberg20": dict(hamiltonian="heisenberg", lattice="chain", size=20),
    "tfim4x4": dict(hamiltonian="tfim", lattice="square", size=4, h=3.0),
}
TARGETS = {"tfim20": 1e-4, "heisenberg20": 1e-3, "tfim4x4": 1e-3}


def physgen_run(problem: dict, iterations: int, samples: int, seed: int) -> dict:
    cfg = NQSConfig(**problem, ansatz="rbm", alpha=2, samples=samples, iterations=iterations)
    t0 = time.perf_counter()
    res = run_nqs(cfg, np.random.default_rng(seed))
    return {**res.final, "exact": res.exact["energy"], "seconds": time.perf_counter() - t0}


def netket_run(problem: dict, iterations: int, samples: int, seed: int) -> dict | None:
    """The same problem in NetKet (Pauli-matrix Heisenberg, divided by 4 for S = σ/2), or None without it."""
    try:
        import netket as nk
    except ImportError:
        return None
    length = problem["size"]
    graph = nk.graph.Chain(length, pbc=True) if problem["lattice"] == "chain" else \
        nk.graph.Square(length, pbc=True)
    if problem["hamiltonian"] == "tfim":
        hilbert = nk.hilbert.Spin(0.5, N=graph.n_nodes)
        ham, scale = nk.operator.Ising(hilbert, graph, h=problem["h"], J=-1.0), 1.0
        sampler = nk.sampler.MetropolisLocal(hilbert, n_chains=50)
    else:
        hilbert = nk.hilbert.Spin(0.5, N=graph.n_nodes, total_sz=0)
        ham, scale = nk.operator.Heisenberg(hilbert, graph), 0.25
        sampler = nk.sampler.MetropolisExchange(hilbert, graph=graph, n_chains=50)
    state = nk.vqs.MCState(sampler, nk.models.RBM(alpha=2, param_dtype=float), n_samples=samples, seed=seed)
    driver = nk.driver.VMC(ham, nk.optimizer.Sgd(0.05), variational_state=state,
                           preconditioner=nk.optimizer.SR(diag_shift=0.01))
    t0 = time.perf_counter()
    driver.run(n_iter=iterations, out=None, show_progress=False)
    state.n_samples = 10 * samples
    e = state.expect(ham)
    return {"energy": float(e.mean.real) * scale, "error": float(e.error_of_mean) * scale,
            "seconds": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--iterations", type=int, default=400)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print("| problem | physgen E ± error | exact | relative error | target | wall s | NetKet E ± error | "
          "NetKet wall s | time ratio physgen/NetKet |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.problems.split(","):
        ours = physgen_run(PROBLEMS[name], args.iterations, args.samples, args.seed)
        theirs = netket_run(PROBLEMS[name], args.iterations, args.samples, args.seed)
        nk_cells = ["not installed"] * 3 if theirs is None else \
            [f"{theirs['energy']:.6f} ± {theirs['error']:.1g}", f"{theirs['seconds']:.0f}",
             f"{ours['seconds'] / theirs['seconds']:.2f}"]
        print(f"| {name} | {ours['energy']:.6f} ± {ours['error']:.1g} | {ours['exact']:.6f} | "
              f"{ours['relative_error']:.2e} | {TARGETS[name]:.0e} | {ours['seconds']:.0f} | " + " | ".join(nk_cells)
              + " |", flush=True)


if __name__ == "__main__":
    main()
