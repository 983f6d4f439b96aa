"""``physgen vmc``: variational Monte Carlo with an RBM wave function for particles in a harmonic trap.

Writes ``DIR/params.safetensors``, ``DIR/report.html`` and, last, ``DIR/vmc.json`` (its presence marks a
complete run).  Every setting is checked before anything is written.
"""
from __future__ import annotations

import argparse

from physgen.cli.common import add_verb, finite_float, nonneg_int
from physgen.cli.quantum_common import add_output_options, output_dir, print_written, run_and_write

EXAMPLE = ("physgen vmc --particles 2 --dim 2 --interaction coulomb --jastrow pade --hidden 4 "
           "--iterations 100 --out vmc-out")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid int") from None


def register(sub) -> None:
    p = add_verb(sub, "vmc", "variational Monte Carlo: RBM wave function, harmonic trap, optional Coulomb",
                 EXAMPLE, run)
    p.set_defaults(locks_out=True)  # one writer per --out directory
    p.add_argument("--particles", type=_int, required=True, help="number of particles N (>= 1)")
    p.add_argument("--dim", type=_int, required=True, help="dimension d of space (>= 1)")
    p.add_argument("--omega", type=finite_float, default=1.0, help="trap frequency ω > 0 (default 1)")
    p.add_argument("--interaction", choices=("none", "coulomb"), default="none",
                   help="pair interaction: none (default) or coulomb (1/r, needs d >= 2)")
    p.add_argument("--fermions", action="store_true",
                   help="closed-shell electrons in 2D (N = 2, 6, 12, 20): Slater determinants × RBM × Jastrow")
    p.add_argument("--hidden", type=_int, default=2, help="hidden units H of the RBM (default 2)")
    p.add_argument("--jastrow", choices=("auto", "none", "pade"), default="auto",
                   help="Padé–Jastrow factor with the electron cusp: auto (default: pade with --interaction "
                        "coulomb in d >= 2, else none), none or pade")
    p.add_argument("--sigma", type=finite_float, default=None, help="width σ of the RBM's Gaussian (default 1/√ω)")
    p.add_argument("--sampler", choices=("metropolis", "importance"), default="importance",
                   help="brute-force Metropolis or importance sampling with the Langevin drift (default; "
                        "drift-limited with --fermions)")
    p.add_argument("--step", type=finite_float, default=None,
                   help="Metropolis move width (default 2σ) or Langevin time step (default 0.3σ²)")
    p.add_argument("--iterations", type=_int, default=50, help="optimisation steps (default 50)")
    p.add_argument("--samples", type=_int, default=10_000, help="samples per iteration (default 10000)")
    p.add_argument("--walkers", type=_int, default=100, help="parallel Markov chains (default 100)")
    p.add_argument("--burn-in", type=nonneg_int, default=10, help="sweeps discarded per iteration (default 10)")
    p.add_argument("--final-samples", type=_int, default=None,
                   help="samples of the final measurement (default 10 × --samples)")
    p.add_argument("--lr", type=finite_float, default=0.05, help="learning rate (default 0.05)")
    p.add_argument("--optimizer", choices=("gd", "adam"), default="adam", help="gd or adam (default)")
    p.add_argument("--init-scale", type=finite_float, default=0.01,
                   help="standard deviation of the random initial parameters (default 0.01)")
    add_output_options(p, "vmc.json", "no progress line per iteration")


def config_from_args(args):
    from physgen.quantum.vmc import VMCConfig

    cfg = VMCConfig(particles=args.particles, dim=args.dim, omega=args.omega, interaction=args.interaction,
                    hidden=args.hidden, jastrow=args.jastrow, sigma=args.sigma, sampler=args.sampler,
                    step=args.step, iterations=args.iterations, samples=args.samples, walkers=args.walkers,
                    burn_in=args.burn_in, lr=args.lr, optimizer=args.optimizer, init_scale=args.init_scale,
                    final_samples=args.final_samples, fermions=args.fermions)
    cfg.validate()
    _check_memory(cfg)
    return cfg


def _check_memory(cfg) -> None:
    """Refuse sample counts whose per-sweep energy series (float64, and a copy for the blocking analysis) and
    walker arrays (positions and a few same-sized work arrays, float64) do not fit in memory."""
    from physgen.memory_guard import require

    need = 16 * max(cfg.sweeps, cfg.final_sweeps) + 64 * cfg.walkers * cfg.particles * cfg.dim
    require(need, what=f"--samples {cfg.samples} --final-samples {cfg.final_samples or 10 * cfg.samples} "
            f"--walkers {cfg.walkers}", reduce="lower --samples, --final-samples or --walkers")


def run(args) -> int:
    from physgen.quantum.vmc import run_vmc

    cfg = config_from_args(args)
    out = output_dir(args, "vmc.json")

    def progress(rec: dict) -> None:
        print(f"iteration {rec['iteration'] + 1}/{cfg.iterations}: E = {rec['energy']:.6f} ± {rec['error']:.2g}"
              f"  var {rec['variance']:.3g}  acceptance {rec['acceptance']:.3f}", flush=True)

    data = run_and_write(run_vmc, cfg, args, out, progress)
    fin = data["final"]
    exact = data["exact_energy"]
    line = f"final: E = {fin['energy']:.6f} ± {fin['error']:.2g} (variance {fin['variance']:.3g})"
    if exact:
        line += f"; exact {exact['value']:g}"
    print(line)
    print_written(out, "vmc.json")
    return 0
