"""``physgen nqs``: neural quantum states for lattice spin Hamiltonians, checked against exact energies.

Writes ``DIR/params.safetensors``, ``DIR/report.html`` and, last, ``DIR/result.json`` (its presence marks a
complete run).  Every setting is checked before anything is written.
"""
from __future__ import annotations

import argparse

import numpy as np

from physgen.cli.common import add_verb, finite_float, nonneg_int, positive_int
from physgen.cli.quantum_common import add_output_options, output_dir, print_written, run_and_write

EXAMPLE = "physgen nqs --hamiltonian tfim --lattice chain --size 10 --h 1 --alpha 2 --iterations 100 --out nqs-out"


def register(sub) -> None:
    p = add_verb(sub, "nqs", "neural quantum states: RBM ansätze for spin Hamiltonians against exact energies",
                 EXAMPLE, run)
    p.set_defaults(locks_out=True)
    from physgen.quantum.hamiltonians import HAMILTONIANS

    p.add_argument("--hamiltonian", choices=tuple(HAMILTONIANS), default="tfim",
                   help="; ".join(f"{name}: {entry.help}" for name, entry in HAMILTONIANS.items()))
    p.add_argument("--lattice", choices=("chain", "square"), default="chain", help="chain (default) or square")
    p.add_argument("--size", type=positive_int, required=True, help="linear size L (N = L or L² sites)")
    p.add_argument("--pbc", action=argparse.BooleanOptionalAction, default=True,
                   help="periodic boundaries (default; --no-pbc: open)")
    p.add_argument("--h", type=finite_float, help="transverse field of the tfim (default 1)")
    p.add_argument("--J", type=finite_float, default=1.0, help="nearest-neighbour coupling (default 1)")
    p.add_argument("--J2", type=finite_float, help="next-nearest coupling of j1j2 (default 0)")
    p.add_argument("--ansatz", choices=("rbm", "rbm-symmetric", "jastrow", "mean-field"), default="rbm",
                   help="wave function (default rbm)")
    p.add_argument("--alpha", type=finite_float, default=1.0, help="hidden-unit density α (default 1)")
    p.add_argument("--complex", dest="complex_params", action="store_true", help="complex parameters (default real)")
    p.add_argument("--marshall", action=argparse.BooleanOptionalAction, default=None,
                   help="Marshall sign rule (default: on for Heisenberg antiferromagnets on bipartite lattices)")
    p.add_argument("--sampler", choices=("flip", "exchange"), default=None,
                   help="Metropolis moves (default: exchange where Sᶻ is conserved, else flip)")
    p.add_argument("--samples", type=positive_int, default=1000, help="samples per iteration (default 1000)")
    p.add_argument("--walkers", type=positive_int, default=50, help="parallel Markov chains (default 50)")
    p.add_argument("--burn-in", type=nonneg_int, default=2, help="sweeps discarded per iteration (default 2)")
    p.add_argument("--iterations", type=positive_int, default=300, help="optimisation steps (default 300)")
    p.add_argument("--optimizer", choices=("sr", "adam"), default="sr",
                   help="stochastic reconfiguration (default) or adam")
    p.add_argument("--sr", dest="optimizer", action="store_const", const="sr", help="same as --optimizer sr")
    p.add_argument("--lr", type=finite_float, default=None, help="learning rate (default 0.05 sr, 0.01 adam)")
    p.add_argument("--diag-shift", type=finite_float, default=0.01, help="diagonal shift of SR (default 0.01)")
    p.add_argument("--init-scale", type=finite_float, default=0.01,
                   help="standard deviation of the random initial parameters (default 0.01)")
    p.add_argument("--final-samples", type=positive_int, default=None,
                   help="samples of the final run (default 10 × --samples)")
    p.add_argument("--no-exact", action="store_true", help="skip the exact diagonalization")
    add_output_options(p, "result.json", "no progress lines")


def config_from_args(args):
    from physgen.quantum.nqs import NQSConfig

    return NQSConfig(hamiltonian=args.hamiltonian, lattice=args.lattice, size=args.size, pbc=args.pbc, h=args.h,
                     J=args.J, J2=args.J2, ansatz=args.ansatz, alpha=args.alpha, complex_params=args.complex_params,
                     marshall=args.marshall, sampler=args.sampler, samples=args.samples, walkers=args.walkers,
                     burn_in=args.burn_in, iterations=args.iterations, optimizer=args.optimizer, lr=args.lr,
                     diag_shift=args.diag_shift, init_scale=args.init_scale, final_samples=args.final_samples,
                     exact_max_states=0 if args.no_exact else 1 << 20)


def _check_memory(cfg) -> None:
    """Refuse sample counts whose configurations (float64), local-energy and derivative arrays do not fit."""
    from physgen.memory_guard import require

    n = cfg.size ** (1 if cfg.lattice == "chain" else 2)
    params = int(max(cfg.alpha, 1) * n * (n + 2)) + n * n
    need = 8 * n * cfg.final_sweeps * cfg.walkers * 3 + 16 * cfg.samples * params * 2
    require(need, what=f"--samples {cfg.samples} --final-samples {cfg.final_samples or 10 * cfg.samples}",
            reduce="lower --samples, --final-samples or --alpha")


def run(args) -> int:
    from physgen.quantum.nqs import run_nqs

    cfg = config_from_args(args)
    cfg.build(np.random.default_rng(args.seed))
    _check_memory(cfg)
    out = output_dir(args, "result.json")

    def progress(rec: dict) -> None:
        rel = f"  rel. error {rec['relative_error']:.2e}" if "relative_error" in rec else ""
        print(f"iteration {rec['iteration'] + 1}/{cfg.iterations}: E = {rec['energy']:.6f} ± {rec['error']:.2g}"
              f"  var {rec['variance']:.3g}{rel}", flush=True)

    data = run_and_write(run_nqs, cfg, args, out, progress)
    fin, exact = data["final"], data["exact"]
    line = f"final: E = {fin['energy']:.8g} ± {fin['error']:.2g} (variance {fin['variance']:.3g}, V-score " \
           f"{fin['vscore']:.3g})"
    if exact:
        line += f"; exact {exact['energy']:.10g}, relative error {fin['relative_error']:.2e}"
    print(line)
    print_written(out, "result.json")
    return 0
