"""Closed-shell electrons in a two-dimensional quantum dot: variational Monte Carlo with Slater determinants.

ψ = det↑ · det↓ · F · e^J (``physgen vmc --fermions``): Slater determinants of the lowest oscillator
orbitals for each spin, the Gaussian–binary RBM marginal F and a Padé–Jastrow factor with the cusp of each
pair, optimised with Adam on the energy ⟨E_L⟩ sampled from |ψ|² (drift-limited importance sampling);
errors are blocking errors.

1. non-interacting N = 6 and N = 12 from the exact parameters (W = a = b = 0, σ = 1/√ω): every local
   energy is E = ω Σ_shells 2(n + 1)² (10 and 28 at ω = 1), so the variance is zero;
2. N = 6 with Coulomb repulsion at ω = 1, trained from those parameters, against the diffusion Monte
   Carlo energy 20.15932 (Pedersen Lohne, Hagen, Hjorth-Jensen, Kvaal & Pederiva, Phys. Rev. B 84,
   115302 (2011)): a variational energy lies above it;
3. the energy against the iteration beside the reference, and the radial one-body density of the
   interacting dot beside the exact non-interacting one (the Coulomb repulsion pushes the electrons out);
   the full HTML report of the Coulomb run in ``coulomb/report.html``.

The full run uses the settings of the N = 6 row of docs/vmc.md's table (``physgen vmc --fermions
--particles 6 --dim 2 --interaction coulomb --init-scale 0 --lr 0.01 --iterations 100 --samples 2000
--final-samples 40000``, seed 0).

    python examples/vmc_quantum_dot.py [--quick] [--out DIR] [--seed S]
"""
from __future__ import annotations

import math

import numpy as np

from _common import Gallery, parser

NAME = "vmc_quantum_dot"
OMEGA = 1.0


def closed_shell_density(r: np.ndarray, n_particles: int, omega: float) -> np.ndarray:
    """Radial one-body density of the non-interacting closed-shell ground state, normalised to N:
    ρ₀(r) = 2 Σ_{(n_x, n_y) occupied} |φ_{n_x n_y}(r, 0)|² with the normalised oscillator orbitals
    φ = (ω/π)^{1/2} H_{n_x}(√ω x) H_{n_y}(√ω y) e^{−ω r²/2} / (2^{n_x+n_y} n_x! n_y!)^{1/2} (closed shells
    are isotropic, so the value on the x axis is the radial density)."""
    from numpy.polynomial.hermite import hermval

    from physgen.quantum.slater import orbitals

    r = np.asarray(r, dtype=float)
    total = np.zeros_like(r)
    for nx, ny in orbitals(n_particles):
        hx = hermval(math.sqrt(omega) * r, [0] * nx + [1])
        hy = hermval(0.0, [0] * ny + [1])
        total += (hx * hy) ** 2 / (2 ** (nx + ny) * math.factorial(nx) * math.factorial(ny))
    return 2 * omega / math.pi * np.exp(-omega * r ** 2) * total


def settings(cfg) -> dict:
    keys = ("particles", "omega", "interaction", "hidden", "jastrow", "sampler", "iterations", "samples",
            "walkers", "final_samples", "lr", "optimizer", "init_scale")
    return {k: getattr(cfg, k) for k in keys}


def summary(res, reference: float) -> dict:
    f = res.final
    return {"energy": f.energy, "error": f.error, "walker_error": f.walker_error, "variance": f.variance,
            "acceptance": f.acceptance, "reference": reference,
            "relative_deviation": (f.energy - reference) / reference, "relative_error": f.error / reference,
            "seconds": res.seconds, "settings": settings(res.config)}


def energy_figure(g: Gallery, res, reference: float, quick: bool) -> None:
    from matplotlib.figure import Figure

    it = res.history
    x = [r["iteration"] + 1 for r in it]
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    for ax in (left, right):
        ax.errorbar(x, [r["energy"] for r in it], yerr=[r["error"] for r in it], fmt="o-", ms=2, lw=0.7,
                    capsize=1, label="⟨E_L⟩ ± blocking error")
        ax.axhline(reference, color="k", ls="--", lw=0.8, label=f"diffusion Monte Carlo {reference:g}")
        ax.set(xlabel="iteration", ylabel="energy")
    f = res.final
    right.axhline(f.energy, color="C3", lw=0.8, label=f"final {f.energy:.4f} ± {f.error:.1g}")
    right.axhspan(f.energy - f.error, f.energy + f.error, color="C3", alpha=0.2)
    tail = [r["energy"] for r in it[len(it) // 2:]]
    right.set_ylim(reference - 0.02, max(max(tail), f.energy) + 0.03)
    left.set_title(f"Six electrons, ω = {OMEGA:g}: all iterations" + (" (quick run)" if quick else ""))
    right.set_title("zoom on the reference")
    left.legend()
    right.legend(loc="lower left")
    g.save(fig, "energy_vs_iteration")


def density_figure(g: Gallery, runs: dict) -> None:
    from matplotlib.figure import Figure

    from physgen.quantum.estimators import one_body_density

    fig = Figure(figsize=(6, 3.8), layout="constrained")
    ax = fig.subplots()
    for label, res in runs.items():
        rho = one_body_density(res.final.positions, bins=40)
        ax.plot(rho["centres"], rho["density"], "o-", ms=2, lw=0.8, label=label)
    r = np.linspace(0, 3.5, 200)
    ax.plot(r, closed_shell_density(r, 6, OMEGA), "k--", lw=0.8, label="non-interacting exact")
    ax.set(xlabel="r", ylabel="ρ(r)", title=f"One-body density, six electrons in 2D, ω = {OMEGA:g}")
    ax.legend()
    g.save(fig, "one_body_density")


def density_deviation(res, n_particles: int) -> float:
    """∫|ρ_VMC − ρ₀| d²r / N, the fraction of the density that differs from the non-interacting closed-shell
    ρ₀ (radial histogram of the final run, 40 bins): sampling noise without interaction, the spread of the
    density by the repulsion with it."""
    from physgen.quantum.estimators import one_body_density

    rho = one_body_density(res.final.positions, bins=40)
    c, d = np.array(rho["centres"]), np.array(rho["density"])
    width = c[1] - c[0]
    ring = np.pi * ((c + width / 2) ** 2 - (c - width / 2) ** 2)
    return float(np.sum(np.abs(d - closed_shell_density(c, n_particles, OMEGA)) * ring) / n_particles)


def main(argv=None) -> dict:
    args = parser(NAME, __doc__).parse_args(argv)
    g = Gallery(NAME, args)
    from physgen.quantum import VMCConfig, run_vmc
    from physgen.quantum.exact import DMC_REFERENCE
    from physgen.quantum.report import write_outputs
    from physgen.quantum.slater import noninteracting_energy

    def run(cfg):
        return run_vmc(cfg, np.random.default_rng(args.seed))

    # 1. non-interacting closed shells at the exact parameters; gradient descent keeps them there (the
    #    gradient is zero up to rounding; Adam would rescale that rounding noise to steps of size ~lr)
    free = {}
    for n in (6, 12):
        cfg = VMCConfig(particles=n, dim=2, omega=OMEGA, fermions=True, init_scale=0.0, optimizer="gd", lr=0.01,
                        iterations=2 if args.quick else 10, samples=1000 if args.quick else 2000,
                        final_samples=4000 if args.quick else 40_000)
        free[n] = run(cfg)
        exact = noninteracting_energy(n, OMEGA)
        s = summary(free[n], exact)
        g.record(f"noninteracting_n{n}", s, f"E = {s['energy']:.12f} (exact {exact:g}), variance {s['variance']:.1e}, "
                                           f"{s['seconds']:.1f} s")
    g.record("noninteracting_n6_density_l1", density_deviation(free[6], 6))

    # 2. six electrons with Coulomb repulsion, from the non-interacting parameters
    reference = DMC_REFERENCE[(6, OMEGA)]
    budget = (dict(iterations=50, samples=2000, lr=0.05, final_samples=20_000) if args.quick else
              dict(iterations=100, samples=2000, lr=0.01, final_samples=40_000))
    cfg = VMCConfig(particles=6, dim=2, omega=OMEGA, interaction="coulomb", fermions=True, hidden=2,
                    init_scale=0.0, **budget)
    res = run(cfg)
    s = summary(res, reference)
    g.record("coulomb_n6", s, f"E = {s['energy']:.5f} ± {s['error']:.1g} (var {s['variance']:.2g}), "
                              f"{100 * s['relative_deviation']:+.3f} ± {100 * s['relative_error']:.3f} % "
                              f"from DMC {reference}, {s['seconds']:.1f} s")
    g.record("coulomb_n6_sigmas_above_reference", (s["energy"] - reference) / s["error"])
    g.record("coulomb_n6_density_l1", density_deviation(res, 6))
    g.record("pade_jastrow_beta", float(np.exp(res.wavefunction.jastrow.log_beta)))
    res.extras["seed"] = args.seed
    write_outputs(g.out / "coulomb", res)

    # 3. figures
    energy_figure(g, res, reference, args.quick)
    density_figure(g, {"non-interacting (VMC)": free[6], "Coulomb, Slater × RBM × Jastrow": res})
    return g.finish()


if __name__ == "__main__":
    main()
