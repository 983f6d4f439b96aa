"""Neural-quantum-state targets: physgen's RBM + SR against the exact energies, and NetKet beside it on equal terms.

    python benchmarks/nqs.py [--problems tfim20,heisenberg20,tfim4x4] [--iterations 400] [--samples 1000]
                             [--tolerance 0.01] [--no-netket]

Each problem runs ``physgen.quantum.nqs.run_nqs`` (RBM, α = 2, real parameters, SR with learning rate η = 0.05
and diagonal shift λ = 0.01, 50 walkers) and prints the final energy, its blocking error, the relative error
against the exact energy and the wall time.  Where NetKet is importable (it is never a dependency of physgen:
``pip install netket`` puts it and a CPU-only jax beside physgen for this script) the same optimisation runs
in NetKet, in the same process, with every setting matched:

* **The same Hamiltonian.**  TFIM: ``nk.operator.Ising(h=h, J=-J)``.  Heisenberg: ``J/4 ·
  nk.operator.Heisenberg`` — NetKet writes it with Pauli matrices, four times physgen's S = σ/2 model, and
  SR's step is proportional to H, so the operator itself is scaled (not only the printed energy).  Both
  apply the Marshall sign rule on the bipartite chain (NetKet's ``sign_rule`` default, physgen's
  ``marshall`` default).
* **The same ansatz**: ``nk.models.RBM(alpha=α, param_dtype=float64)`` — ln ψ = a·s + Σ_j ln cosh(b_j +
  (Ws)_j), αN hidden units, every parameter drawn from N(0, 0.01²), like physgen's ``rbm``.
* **The same SR step.**  physgen steps θ ← θ − η (S + λ1)⁻¹ F with the force F_k = ⟨Ō_k Ē_L⟩.  NetKet's
  ``VMC`` driver hands the preconditioner the energy gradient g = 2 Re F (``netket.vqs.mc.common
  .force_to_grad``) and ``nk.optimizer.Sgd(η')`` steps θ ← θ − η' (S + λ1)⁻¹ g, with the same
  S = ⟨Ō Ōᵀ⟩ (``QGTJacobianDense``: centred, divided by √n) and the same shift λ.  The steps agree for
  **η' = η / 2**: physgen's η = 0.05 is NetKet's ``Sgd(0.025)``.  The linear system is solved by Cholesky
  in both (``nk.optimizer.solver.cholesky``; physgen: ``scipy.linalg.solve(assume_a="pos")``).  Before the
  table the script checks this on 8-site chains: one step of each code from the same parameters and the same
  1,000 samples, printed as the largest difference of the two steps (rounding, ~10⁻¹³).
* **The same sampling**: ``walkers`` chains, ``samples / walkers`` recorded sweeps per iteration, a sweep
  being N proposals (NetKet's ``sweep_size``); single-spin flips for the TFIM, exchanges of two sites chosen
  uniformly among all pairs for the Heisenberg chain (``MetropolisExchange(clusters=every pair)``, not
  NetKet's nearest-neighbour default).  Burn-in as ``run_nqs`` does it: 10·b + 10 sweeps before the first
  iteration, b before each later one (b = ``burn_in``, 2), 10·b before the final measurement of
  10 × ``samples``.

Timing: the exact energy (free fermions or Lanczos) is computed once, outside both timers, and passed to
``run_nqs``.  NetKet first runs the problem for two iterations and the final measurement twice: the first
of these runs compiles every jitted function the full run needs, the second finds them compiled, and their
difference is reported as NetKet's compile time.  The full run, on a fresh state, is then timed as the
steady state; the time with compilation is the sum.  physgen (NumPy) compiles nothing.  The time ratio
compares the steady states.  Set ``OMP_NUM_THREADS=1`` and pin the process to one core (``taskset -c``)
for a one-core comparison.

A final energy whose relative error exceeds ``--tolerance`` (default 0.01) is a run that diverged or did not
converge: a line ``WARNING: ...`` is printed under the table for it, and its time is not a fair comparison.
"""
from __future__ import annotations

import argparse
import itertools
import os
import platform
import time

import numpy as np

from physgen.quantum.exact import exact_energy
from physgen.quantum.hamiltonians import make_hamiltonian
from physgen.quantum.lattice import Lattice
from physgen.quantum.nqs import NQSConfig, run_nqs

PROBLEMS = {
    "tfim20": dict(hamiltonian="tfim", lattice="chain", size=20, h=1.0),
    "heisenberg20": dict(hamiltonian="heisenberg", lattice="chain", size=20),
    "tfim4x4": dict(hamiltonian="tfim", lattice="square", size=4, h=3.0),
}
TARGETS = {"tfim20": 1e-4, "heisenberg20": 1e-3, "tfim4x4": 1e-3}
TOLERANCE = 1e-2
WARMUP_ITERATIONS = 2


def config(problem: dict, iterations: int, samples: int) -> NQSConfig:
    return NQSConfig(**problem, ansatz="rbm", alpha=2, samples=samples, iterations=iterations)


def burn_ins(cfg: NQSConfig) -> tuple[int, int, int]:
    """Sweeps discarded before the first iteration, before each later one and before the final measurement
    (as :func:`physgen.quantum.nqs.run_nqs` does it)."""
    return 10 * cfg.burn_in + 10, cfg.burn_in, 10 * cfg.burn_in


def exact_reference(cfg: NQSConfig) -> dict:
    """``{"energy", "method", "seconds"}``: free fermions or Lanczos, timed on its own."""
    t0 = time.perf_counter()
    lat = Lattice(cfg.lattice, cfg.size, cfg.pbc)
    ham = make_hamiltonian(cfg.hamiltonian, lat, h=cfg.h, J=cfg.J, J2=cfg.J2, marshall=cfg.marshall)
    energy, method = exact_energy(ham, max_states=cfg.exact_max_states)
    return {"energy": energy, "method": method, "seconds": time.perf_counter() - t0}


def physgen_run(cfg: NQSConfig, exact: dict, seed: int) -> dict:
    t0 = time.perf_counter()
    res = run_nqs(cfg, np.random.default_rng(seed), exact={"energy": exact["energy"], "method": exact["method"]})
    return {**res.final, "seconds": time.perf_counter() - t0}


def netket_problem(nk, cfg: NQSConfig):
    """``(hamiltonian, sampler)`` in NetKet for the problem of ``cfg``, matched as the module docstring says."""
    graph = nk.graph.Chain(cfg.size, pbc=cfg.pbc) if cfg.lattice == "chain" else \
        nk.graph.Square(cfg.size, pbc=cfg.pbc)
    n = graph.n_nodes
    if cfg.hamiltonian == "tfim":
        hilbert = nk.hilbert.Spin(0.5, N=n)
        ham = nk.operator.Ising(hilbert, graph, h=cfg.h, J=-cfg.J)
        sampler = nk.sampler.MetropolisLocal(hilbert, n_chains=cfg.walkers, sweep_size=n)
    elif cfg.hamiltonian == "heisenberg":
        hilbert = nk.hilbert.Spin(0.5, N=n, total_sz=0)
        ham = (cfg.J / 4) * nk.operator.Heisenberg(hilbert, graph)
        pairs = [list(p) for p in itertools.combinations(range(n), 2)]
        sampler = nk.sampler.MetropolisExchange(hilbert, clusters=pairs, n_chains=cfg.walkers, sweep_size=n)
    else:
        raise ValueError(f"no NetKet counterpart written for {cfg.hamiltonian!r}")
    return ham, sampler


def netket_run(nk, cfg: NQSConfig, seed: int, iterations: int) -> dict:
    """One optimisation of ``iterations`` SR steps and the final measurement; wall time of the whole."""
    ham, sampler = netket_problem(nk, cfg)
    first, later, final = burn_ins(cfg)
    t0 = time.perf_counter()
    state = nk.vqs.MCState(sampler, nk.models.RBM(alpha=cfg.alpha, param_dtype=np.float64),
                           n_samples=cfg.samples, n_discard_per_chain=first, seed=seed, sampler_seed=seed)
    sr = nk.optimizer.SR(nk.optimizer.qgt.QGTJacobianDense, solver=nk.optimizer.solver.cholesky,
                         diag_shift=cfg.diag_shift)
    lr = cfg.lr if cfg.lr is not None else 0.05
    driver = nk.driver.VMC(ham, nk.optimizer.Sgd(learning_rate=lr / 2), variational_state=state,
                           preconditioner=sr)

    def later_burn_in(step, log_data, drv) -> bool:
        drv.state.n_discard_per_chain = later
        return True

    driver.run(n_iter=iterations, out=None, show_progress=False, callback=later_burn_in)
    state.n_discard_per_chain = final
    state.n_samples = cfg.final_samples or 10 * cfg.samples
    e = state.expect(ham)
    energy, error = float(e.mean.real), float(e.error_of_mean)
    return {"energy": energy, "error": error, "seconds": time.perf_counter() - t0}


def netket_timed(cfg: NQSConfig, seed: int) -> dict | None:
    """NetKet's run with its compile time apart, or None without NetKet."""
    try:
        import netket as nk
    except ImportError:
        return None
    cold = netket_run(nk, cfg, seed + 1, WARMUP_ITERATIONS)["seconds"]
    warm = netket_run(nk, cfg, seed + 1, WARMUP_ITERATIONS)["seconds"]
    out = netket_run(nk, cfg, seed, cfg.iterations)
    return {**out, "compile": max(cold - warm, 0.0), "version": nk.__version__}


def step_check(nk, problem: dict, seed: int = 3) -> float:
    """max |Δθ_physgen − Δθ_NetKet| of one SR step from the same parameters and the same samples (a 1,000-sample
    batch of NetKet's chains at parameters 30 times the initial scale), with NetKet's ``Sgd(η/2)``."""
    import jax

    from physgen.quantum.estimators import local_energy
    from physgen.quantum.optimisers import SR, Gradient
    from physgen.quantum.wavefunctions import make_ansatz

    cfg = config(problem, 1, 1000)
    ham_nk, sampler = netket_problem(nk, cfg)
    state = nk.vqs.MCState(sampler, nk.models.RBM(alpha=cfg.alpha, param_dtype=np.float64), n_samples=cfg.samples,
                           seed=seed, sampler_seed=seed)
    state.parameters = jax.tree_util.tree_map(lambda x: 30 * x, state.parameters)
    s = np.asarray(state.sample()).reshape(-1, cfg.size)
    _, grad = state.expect_and_grad(ham_nk)
    sr = nk.optimizer.SR(nk.optimizer.qgt.QGTJacobianDense, solver=nk.optimizer.solver.cholesky,
                         diag_shift=cfg.diag_shift)
    delta = sr(state, grad)

    def flat(tree) -> np.ndarray:
        return np.concatenate([np.asarray(tree["visible_bias"]), np.asarray(tree["Dense"]["bias"]),
                               np.asarray(tree["Dense"]["kernel"]).ravel()])

    lat = Lattice(cfg.lattice, cfg.size, cfg.pbc)
    ham = make_hamiltonian(cfg.hamiltonian, lat, h=cfg.h, J=cfg.J, marshall=cfg.marshall)
    ansatz = make_ansatz("rbm", lat, alpha=cfg.alpha, complex_params=False, rng=np.random.default_rng(seed))
    ansatz.params = flat(state.parameters)            # physgen's RBM orders its parameters a, b, W
    theta = ansatz.params.copy()
    samples = Gradient(o=ansatz.derivatives(s), e=local_energy(ansatz, ham, s))
    ours = SR(0.05, cfg.diag_shift).step(theta, samples) - theta
    return float(np.max(np.abs(ours - (-0.05 / 2) * flat(delta))))


def relative(energy: float, exact: float) -> float:
    return abs(energy - exact) / abs(exact)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--iterations", type=int, default=400)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tolerance", type=float, default=TOLERANCE,
                    help="relative error above which a final energy is reported as diverged (default 0.01)")
    ap.add_argument("--no-netket", action="store_true", help="run physgen alone")
    args = ap.parse_args()
    print(f"python {platform.python_version()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"CPU affinity {sorted(os.sched_getaffinity(0))}; SR: physgen eta = 0.05, NetKet Sgd(0.025) on 2 Re F")
    warnings, version = [], None
    if not args.no_netket:
        try:
            import netket as nk
        except ImportError:
            nk = None
        if nk is not None:
            diffs = [step_check(nk, dict(hamiltonian=h, lattice="chain", size=8)) for h in ("tfim", "heisenberg")]
            print("SR step check, 8-site chains, same parameters and samples: max |step physgen - step NetKet| = "
                  f"{diffs[0]:.1e} (TFIM), {diffs[1]:.1e} (Heisenberg)")
    print("| problem | exact (s) | physgen E ± error | physgen rel. error | target | physgen wall s | "
          "NetKet E ± error | NetKet rel. error | NetKet wall s (steady) | NetKet compile s | "
          "NetKet wall s with compile | time ratio physgen/NetKet (steady) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.problems.split(","):
        cfg = config(PROBLEMS[name], args.iterations, args.samples)
        exact = exact_reference(cfg)
        ours = physgen_run(cfg, exact, args.seed)
        theirs = None if args.no_netket else netket_timed(cfg, args.seed)
        rel = relative(ours["energy"], exact["energy"])
        if not rel <= args.tolerance:
            warnings.append(f"WARNING: {name}: physgen's E = {ours['energy']:.6f} is {rel:.2g} from the exact "
                            f"{exact['energy']:.6f} (tolerance {args.tolerance:g}): diverged or not converged")
        if theirs is None:
            nk_cells = ["not run"] * 6
        else:
            version = theirs["version"]
            nk_rel = relative(theirs["energy"], exact["energy"])
            if not nk_rel <= args.tolerance:
                warnings.append(f"WARNING: {name}: NetKet's E = {theirs['energy']:.6f} is {nk_rel:.2g} from the "
                                f"exact {exact['energy']:.6f} (tolerance {args.tolerance:g}): diverged or not "
                                "converged")
            nk_cells = [f"{theirs['energy']:.6f} ± {theirs['error']:.2g}", f"{nk_rel:.2e}",
                        f"{theirs['seconds']:.1f}", f"{theirs['compile']:.1f}",
                        f"{theirs['seconds'] + theirs['compile']:.1f}", f"{ours['seconds'] / theirs['seconds']:.2f}"]
        print(f"| {name} | {exact['energy']:.6f} ({exact['seconds']:.1f}) | {ours['energy']:.6f} ± "
              f"{ours['error']:.2g} | {rel:.2e} | {TARGETS[name]:.0e} | {ours['seconds']:.1f} | "
              + " | ".join(nk_cells) + " |", flush=True)
    if version is not None:
        print(f"NetKet {version}")
    for line in warnings:
        print(line, flush=True)


if __name__ == "__main__":
    main()
