"""``physgen vmc``: variational Monte Carlo with an RBM wave function for particles in a harmonic trap.

Writes ``DIR/params.safetensors``, ``DIR/report.html`` and, last, ``DIR/vmc.json`` (its presence marks a
complete run).  Every setting is checked before anything is written.
"""
from __future__ import annotations


from physgen.cli.options import Arg, keyed, values, verb
from physgen.cli.quantum_common import output_args, output_dir, print_written, run_and_write
from physgen.constraints import FINITE

EXAMPLE = ("physgen vmc --particles 2 --dim 2 --interaction coulomb --jastrow pade --hidden 4 "
           "--iterations 100 --out vmc-out")


def rows() -> tuple[Arg, ...]:
    """The arguments: a row per :class:`~physgen.quantum.vmc.VMCConfig` field it sets (whose default it takes),
    then the output options."""
    from physgen.quantum.vmc import VMCConfig as C

    return (
        keyed(C, "particles", "--particles", "number of particles N (>= 1)", required=True, default=None),
        keyed(C, "dim", "--dim", "dimension d of space (>= 1)", required=True, default=None),
        keyed(C, "omega", "--omega", "trap frequency ω > 0 (default {default:g})", range=FINITE),
        keyed(C, "interaction", "--interaction", "pair interaction: none (default) or coulomb (1/r, needs d >= 2)",
              choices=("none", "coulomb")),
        keyed(C, "fermions", "--fermions", "closed-shell electrons in 2D (N = 2, 6, 12, 20): Slater determinants × "
              "RBM × Jastrow", action="store_true"),
        keyed(C, "hidden", "--hidden", "hidden units H of the RBM (default {default:g})"),
        keyed(C, "jastrow", "--jastrow", "Padé–Jastrow factor with the electron cusp: auto (default: pade with "
              "--interaction coulomb in d >= 2, else none), none or pade", choices=("auto", "none", "pade")),
        keyed(C, "sigma", "--sigma", "width σ of the RBM's Gaussian (default 1/√ω)", range=FINITE),
        keyed(C, "sampler", "--sampler", "the walkers: metropolis (brute force) or importance (the Langevin drift; "
              "default; drift-limited with --fermions), or another registered psi-particles sampler"),
        keyed(C, "step", "--step", "Metropolis move width (default 2σ) or Langevin time step (default 0.3σ²)",
              range=FINITE),
        keyed(C, "iterations", "--iterations", "optimisation steps (default {default:g})"),
        keyed(C, "samples", "--samples", "samples per iteration (default {default:g})"),
        keyed(C, "walkers", "--walkers", "parallel Markov chains (default {default:g})"),
        keyed(C, "burn_in", "--burn-in", "sweeps discarded per iteration (default {default:g})"),
        keyed(C, "final_samples", "--final-samples", "samples of the final measurement (default 10 × --samples)"),
        keyed(C, "lr", "--lr", "learning rate (default {default:g})", range=FINITE),
        keyed(C, "optimizer", "--optimizer", "gd or adam (default)", choices=("gd", "adam")),
        keyed(C, "init_scale", "--init-scale", "standard deviation of the random initial parameters (default {default:g})"),
        *output_args("vmc.json", "no progress line per iteration"))


def register(sub) -> None:
    verb(sub, "vmc", "variational Monte Carlo: RBM wave function, harmonic trap, optional Coulomb", EXAMPLE, run,
         rows()).set_defaults(locks_out=True)  # one writer per --out directory


def config_from_args(args):
    from physgen.quantum.vmc import VMCConfig

    cfg = values(VMCConfig, rows(), args)
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
