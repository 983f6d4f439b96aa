"""Variational Monte Carlo with an RBM wave function: the course's quantum project, with exact checks.

ψ(x) = F(x), the marginal of a Gaussian–binary RBM over the particle coordinates (``physgen.quantum``), is
optimised with Adam on the energy ⟨E_L⟩ sampled from |ψ|²; errors are blocking errors.

1. one particle in 1D: the exact Gaussian parameters give E = ω/2 with zero variance, and Adam finds them
   from a random start;
2. two non-interacting particles in 2D: E → 2;
3. two electrons in 2D at ω = 1 (exact E = 3, Taut 1994): the RBM alone, and the RBM times a Padé–Jastrow
   factor with the electron cusp; the one-body density beside the non-interacting one, and the full HTML
   report of the Jastrow run (``coulomb_jastrow/report.html``);
4. brute-force Metropolis against importance sampling on the trained two-electron wave function, at equal
   numbers of sweeps: acceptance, blocking error, time and efficiency 1/(error²·time).

    python examples/vmc_harmonic.py [--quick] [--out DIR] [--seed S]
"""
from __future__ import annotations

import numpy as np

from _common import Gallery, parser

NAME = "vmc_harmonic"


def run(cfg, seed):
    from physgen.quantum import run_vmc

    return run_vmc(cfg, np.random.default_rng(seed))


def summary(res, exact: float) -> dict:
    f = res.final
    return {"energy": f.energy, "error": f.error, "walker_error": f.walker_error, "variance": f.variance,
            "acceptance": f.acceptance,
            "relative_deviation": (f.energy - exact) / exact, "seconds": res.seconds}


def text(s: dict) -> str:
    return (f"E = {s['energy']:.5f} ± {s['error']:.1g} (var {s['variance']:.2g}, "
            f"{100 * s['relative_deviation']:+.2f} % from exact, {s['seconds']:.1f} s)")


def energy_figure(g: Gallery, runs: dict) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4 * len(runs), 3.4), layout="constrained")
    for ax, (title, (res, exact)) in zip(fig.subplots(1, len(runs)), runs.items()):
        it = res.history
        ax.errorbar([r["iteration"] for r in it], [r["energy"] for r in it], yerr=[r["error"] for r in it],
                    fmt="o-", ms=1.5, lw=0.7, capsize=1)
        ax.axhline(exact, color="k", ls="--", lw=0.8)
        ax.set(title=title, xlabel="iteration", ylabel="energy")
    g.save(fig, "energy_vs_iteration")


def density_figure(g: Gallery, runs: dict) -> None:
    from matplotlib.figure import Figure

    from physgen.quantum.estimators import one_body_density
    from physgen.quantum.exact import noninteracting_density

    fig = Figure(figsize=(6, 3.6))
    ax = fig.subplots()
    for label, res in runs.items():
        rho = one_body_density(res.final.positions, bins=40)
        ax.plot(rho["centres"], rho["density"], "o-", ms=2, lw=0.8, label=label)
    r = np.linspace(0, 3.5, 200)
    ax.plot(r, noninteracting_density(r, 2, 2, 1.0), "k--", lw=0.8, label="non-interacting exact")
    ax.set(xlabel="r", ylabel="ρ(r)", title="One-body density, two particles in 2D, ω = 1")
    ax.legend()
    g.save(fig, "one_body_density")


def sampler_figure(g: Gallery, rows: list[dict]) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 3.4), layout="constrained")
    axes = fig.subplots(1, 3)
    for name, marker in (("metropolis", "o-"), ("importance", "s-")):
        sel = [r for r in rows if r["sampler"] == name]
        steps = [r["step"] for r in sel]
        axes[0].plot(steps, [r["acceptance"] for r in sel], marker, label=name)
        axes[1].plot(steps, [r["error"] for r in sel], marker, label=name)
        axes[2].plot(steps, [r["efficiency"] for r in sel], marker, label=name)
    for ax, ylabel in zip(axes, ("acceptance", "blocking error of E", "1/(error² · seconds)")):
        ax.set(xscale="log", xlabel="step: width (Metropolis), Δt (importance)", ylabel=ylabel)
    axes[0].legend()
    g.save(fig, "sampler_comparison")


def main(argv=None) -> dict:
    args = parser(NAME, __doc__).parse_args(argv)
    g = Gallery(NAME, args)
    from physgen.quantum import Hamiltonian, RBMWaveFunction, VMCConfig
    from physgen.quantum.estimators import compare_samplers, estimate
    from physgen.quantum.report import write_outputs
    from physgen.quantum.samplers import Importance, start

    iters, samples = (40, 2000) if args.quick else (200, 10_000)
    final = 10 * samples

    # 1. one particle in 1D
    exact_wf = RBMWaveFunction.gaussian(1, 1, 2, omega=1.0)
    rng = np.random.default_rng(args.seed)
    est = estimate(exact_wf, Hamiltonian(1.0), Importance(0.3), start(exact_wf, 100, rng), 50, rng)
    g.record("one_particle_1d_exact_parameters", {"energy": est.energy, "variance": est.variance},
             f"E = {est.energy:.12f}, variance {est.variance:.1e}")
    common = dict(iterations=iters, samples=samples, final_samples=final, init_scale=0.3, lr=0.05)
    res1 = run(VMCConfig(particles=1, dim=1, **common), args.seed)
    g.record("one_particle_1d_optimised", summary(res1, 0.5), text(summary(res1, 0.5)))

    # 2. two non-interacting particles in 2D
    res2 = run(VMCConfig(particles=2, dim=2, **common), args.seed)
    g.record("two_particles_2d_optimised", summary(res2, 2.0), text(summary(res2, 2.0)))

    # 3. two electrons in 2D, omega = 1
    coulomb = dict(particles=2, dim=2, interaction="coulomb", hidden=4, iterations=iters, samples=samples,
                   final_samples=final, lr=0.02, init_scale=0.1)
    rbm = run(VMCConfig(jastrow="none", **coulomb), args.seed)
    g.record("two_electrons_2d_rbm", summary(rbm, 3.0), text(summary(rbm, 3.0)))
    pade = run(VMCConfig(jastrow="pade", **coulomb), args.seed)
    g.record("two_electrons_2d_rbm_pade_jastrow", summary(pade, 3.0), text(summary(pade, 3.0)))
    g.record("pade_jastrow_beta", float(np.exp(pade.wavefunction.jastrow.log_beta)))
    pade.extras["seed"] = args.seed
    write_outputs(g.out / "coulomb_jastrow", pade)
    energy_figure(g, {"1 particle, 1D": (res1, 0.5), "2 particles, 2D": (res2, 2.0),
                      "2 electrons, 2D (RBM)": (rbm, 3.0), "2 electrons, 2D (RBM × Jastrow)": (pade, 3.0)})
    density_figure(g, {"non-interacting (VMC)": res2, "Coulomb, RBM × Jastrow": pade})

    # 4. Metropolis against importance sampling at equal sweeps
    settings = [("metropolis", s) for s in (0.5, 1.0, 2.0, 3.0, 4.0)] + \
               [("importance", s) for s in (0.01, 0.05, 0.1, 0.3, 0.5, 1.0)]
    rows = compare_samplers(pade.wavefunction, Hamiltonian(1.0, "coulomb"), settings, walkers=100,
                            sweeps=200 if args.quick else 2000, burn_in=50, rng=np.random.default_rng(args.seed))
    g.record("sampler_comparison", rows, "\n" + "\n".join(
        f"    {r['sampler']:<10s} step {r['step']:<5g} acceptance {r['acceptance']:.3f}  E = {r['energy']:.5f} ± "
        f"{r['error']:.1e}  {r['seconds']:.2f} s  efficiency {r['efficiency']:.3g}" for r in rows))
    best = {name: max((r for r in rows if r["sampler"] == name), key=lambda r: r["efficiency"])
            for name in ("metropolis", "importance")}
    g.record("best_efficiency_importance_over_metropolis",
             best["importance"]["efficiency"] / best["metropolis"]["efficiency"])
    sampler_figure(g, rows)
    return g.finish()


if __name__ == "__main__":
    main()
