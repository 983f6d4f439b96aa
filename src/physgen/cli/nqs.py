"""``physgen nqs``: neural quantum states for lattice spin Hamiltonians, checked against exact energies.

Writes ``DIR/params.safetensors``, ``DIR/report.html`` and, last, ``DIR/result.json`` (its presence marks a
complete run).  Every setting is checked before anything is written.
"""
from __future__ import annotations

import numpy as np

from physgen.cli.options import Arg, keyed, values, verb
from physgen.cli.quantum_common import output_args, output_dir, print_written, run_and_write
from physgen.constraints import FINITE, POSITIVE_INT

EXAMPLE = "physgen nqs --hamiltonian tfim --lattice chain --size 10 --h 1 --alpha 2 --iterations 100 --out nqs-out"


def rows() -> tuple[Arg, ...]:
    """The arguments: a row per :class:`~physgen.quantum.nqs.NQSConfig` field it sets (whose default it takes),
    then the output options."""
    from physgen.quantum.hamiltonians import HAMILTONIANS
    from physgen.quantum.nqs import NQSConfig as C

    return (
        keyed(C, "hamiltonian", "--hamiltonian", "; ".join(f"{name}: {entry.help}" for name, entry in HAMILTONIANS.items()),
              choices=tuple(HAMILTONIANS)),
        keyed(C, "lattice", "--lattice", "chain (default) or square", choices=("chain", "square")),
        keyed(C, "size", "--size", "linear size L (N = L or L² sites)", range=POSITIVE_INT, required=True,
              default=None),
        keyed(C, "pbc", "--pbc", "periodic boundaries (default; --no-pbc: open)"),
        keyed(C, "h", "--h", "transverse field of the tfim (default 1)", range=FINITE),
        keyed(C, "J", "--J", "nearest-neighbour coupling (default {default:g})", range=FINITE),
        keyed(C, "J2", "--J2", "next-nearest coupling of j1j2 (default 0)", range=FINITE),
        keyed(C, "ansatz", "--ansatz", "wave function (default rbm)",
              choices=("rbm", "rbm-symmetric", "jastrow", "mean-field")),
        keyed(C, "alpha", "--alpha", "hidden-unit density α (default {default:g})", range=FINITE),
        keyed(C, "complex_params", "--complex", "complex parameters (default real)", action="store_true"),
        keyed(C, "marshall", "--marshall", "Marshall sign rule (default: on for Heisenberg antiferromagnets on "
              "bipartite lattices)"),
        keyed(C, "sampler", "--sampler", "Metropolis moves: flip or exchange (default: exchange where Sᶻ is conserved, "
              "else flip), or another registered psi-spins sampler"),
        keyed(C, "samples", "--samples", "samples per iteration (default {default:g})"),
        keyed(C, "walkers", "--walkers", "parallel Markov chains (default {default:g})"),
        keyed(C, "burn_in", "--burn-in", "sweeps discarded per iteration (default {default:g})"),
        keyed(C, "iterations", "--iterations", "optimisation steps (default {default:g})"),
        keyed(C, "optimizer", "--optimizer", "stochastic reconfiguration (default) or adam", choices=("sr", "adam")),
        Arg("--sr", "same as --optimizer sr", dest="optimizer", action="store_const", const="sr"),
        keyed(C, "lr", "--lr", "learning rate (default 0.05 sr, 0.01 adam)", range=FINITE),
        keyed(C, "diag_shift", "--diag-shift", "diagonal shift of SR (default {default:g})", range=FINITE),
        keyed(C, "init_scale", "--init-scale", "standard deviation of the random initial parameters (default {default:g})"),
        keyed(C, "final_samples", "--final-samples", "samples of the final run (default 10 × --samples)"),
        Arg("--no-exact", "skip the exact diagonalization", action="store_true"),
        *output_args("result.json", "no progress lines"))


def register(sub) -> None:
    verb(sub, "nqs", "neural quantum states: RBM ansätze for spin Hamiltonians against exact energies", EXAMPLE, run,
         rows()).set_defaults(locks_out=True)


def config_from_args(args):
    from physgen.quantum.nqs import NQSConfig

    return values(NQSConfig, rows(), args, exact_max_states=0 if args.no_exact else 1 << 20)


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
