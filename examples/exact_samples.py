"""Exact Boltzmann samples from a learned model: an RBM as the proposal of a Metropolis–Hastings chain.

An RBM trained on Wolff lattices at three temperatures gets the means nearly right and the fluctuations
wrong. Its block-Gibbs sweeps, accepted with the Boltzmann weight e^{−H/T} (``Run.sample(..., mcmc=True)``, the
``physgen sample --mcmc`` of the command line), give a chain whose stationary law is exact whatever the
model's quality (Liu et al., PRB 95, 041101, 2017; Albergo, Kanwar & Shanahan, PRD 100, 034515, 2019).
Each observable (⟨e⟩, ⟨|m|⟩, C, χ, U₄) of the plain samples and of the chain is compared with an independent
Wolff run as z = (sample − Wolff)/σ, σ from block-bootstrap errors that respect each file's chains
(:func:`physgen.physics.observables.thermodynamics_report`); the chain's z should be O(1), the plain
samples' need not be. Then the cost: acceptance and effectively independent samples.

    python examples/exact_samples.py [--quick] [--out DIR] [--seed S]
"""
from __future__ import annotations

import warnings

import numpy as np

from _common import Gallery, parser

NAME = "exact_samples"
JUDGED = (("energy", "⟨e⟩"), ("abs_magnetization", "⟨|m|⟩"), ("specific_heat", "C"), ("susceptibility", "χ"),
          ("binder", "U₄"))


def observables(ds, t: float, seed: int) -> dict:
    """``{name: Estimate}`` of the rows of ``ds`` at ``t``, errors from the chains the file records."""
    from physgen.physics.observables import thermodynamics_by_temperature

    by_t = thermodynamics_by_temperature(ds, rng=seed)
    return by_t[min(by_t, key=lambda k: abs(k - t))]


def main(argv=None) -> dict:
    from matplotlib.figure import Figure

    from physgen.data import save
    from physgen.data.ising import ThinningWarning, simulate
    from physgen.training import load_run, train

    args = parser(NAME, __doc__).parse_args(argv)
    g = Gallery(NAME, args)
    quick, seed = args.quick, args.seed
    L, temps = (8, (1.8, 2.269, 3.0)) if quick else (16, (1.8, 2.269185, 3.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ThinningWarning)
        data = simulate(L, temps, 500 if quick else 1000, algorithm="wolff", seed=seed)
        reference = simulate(L, temps, 2000 if quick else 10000, algorithm="wolff", thin=10, seed=seed + 1)
    save(data, g.out / "ising.h5", overwrite=True)
    train("rbm", data=g.out / "ising.h5", out=g.out / "rbm", overwrite=True, seed=seed, condition="temperature",
          steps=2000 if quick else None, sets=["train.progress=false"])
    run = load_run(g.out / "rbm")
    n = 2000 if quick else 10000
    z = {"plain": {}, "mcmc": {}}
    for t in temps:
        ref = observables(reference, t, seed)
        plain = run.sample(n, condition={"temperature": t}, seed=seed)
        chain = run.sample(n, condition={"temperature": t}, seed=seed, mcmc=True)
        for kind, ds in (("plain", plain), ("mcmc", chain)):
            est = observables(ds, t, seed)
            z[kind][f"{t:g}"] = {k: (est[k].value - ref[k].value) / float(np.hypot(est[k].error, ref[k].error))
                                 for k, _ in JUDGED}
        g.record(f"mcmc_acceptance_T{t:g}", float(chain.attrs["mcmc_acceptance"]))
        g.record(f"mcmc_independent_T{t:g}", float(chain.attrs["mcmc_n_effective"]))
    for kind in ("plain", "mcmc"):
        g.record(f"z_{kind}", z[kind], "; ".join(f"T={t}: " + ", ".join(f"{lab} {v[k]:+.1f}" for k, lab in JUDGED)
                                                 for t, v in z[kind].items()))
        g.record(f"max_abs_z_{kind}", max(abs(v) for row in z[kind].values() for v in row.values()))
    fig = Figure(figsize=(9, 3.6))
    axes = fig.subplots(1, len(temps), sharey=True)
    x = np.arange(len(JUDGED))
    for ax, t in zip(axes, temps):
        for shift, kind, label in ((-0.2, "plain", "rbm samples"), (0.2, "mcmc", "rbm --mcmc")):
            ax.bar(x + shift, [z[kind][f"{t:g}"][k] for k, _ in JUDGED], 0.4, label=label)
        ax.axhspan(-3, 3, color="grey", alpha=0.15)
        ax.set_xticks(x, [lab for _, lab in JUDGED]), ax.set_title(f"T = {t:g}")
    axes[0].set_ylabel("z against Wolff"), axes[0].legend(fontsize=8)
    g.save(fig, "z_plain_vs_mcmc")
    return g.finish()


if __name__ == "__main__":
    main()
