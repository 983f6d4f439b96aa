"""RBMs on the 2D Ising model: thermodynamics versus T against Monte Carlo, and hidden units needed near Tc.

Following Torlai & Melko 2016 (Phys. Rev. B 94, 165134): one spin RBM per temperature
(``physgen.training.train("rbm", ..., condition="temperature")`` trains them side by side; physgen's
defaults: PCD-1 with the global spin flip, SGD with momentum).

1. Thermodynamics: RBMs trained on Wolff Monte Carlo configurations of an L×L lattice at several
   temperatures are sampled by block Gibbs; ⟨e⟩, ⟨|m|⟩, C and χ of the samples (bootstrap errors)
   are compared with those of the training data and with Onsager's curves.
2. Hidden units: on the 4×4 lattice the exact distribution is known (65,536 states,
   ``physgen.physics.exact``) and so is the RBM's (enumerating its 16 visible units), so the exact
   KL(p_Ising ‖ p_RBM) can be measured as a function of the number of hidden units at each T.  Deep in
   the ordered phase one hidden unit suffices (it encodes the sign of m); from Tc upwards the KL keeps
   falling until 8-16 hidden units (measured numbers in examples/README.md).

    python examples/rbm_ising.py [--quick] [--out DIR] [--seed S]
"""
from __future__ import annotations

import warnings

import numpy as np

from _common import Gallery, parser

NAME = "rbm_ising"
KEYS = (("energy", "⟨e⟩"), ("abs_magnetization", "⟨|m|⟩"), ("specific_heat", "C"), ("susceptibility", "χ"))


def monte_carlo(out, quick: bool, seed: int):
    from physgen.data import save
    from physgen.data.ising import ThinningWarning, simulate

    temps = [1.8, 2.27, 2.6, 3.2] if quick else [1.5, 1.8, 2.0, 2.2, 2.27, 2.4, 2.6, 3.0, 3.5]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ThinningWarning)
        ds = simulate(8, temps, 500 if quick else 2000, algorithm="wolff", burn_in=100, thin=3, chains=20, seed=seed)
    save(ds, out / "data" / "ising_L8.h5", overwrite=True)
    return ds


def thermodynamics_vs_t(g: Gallery, quick: bool, seed: int) -> None:
    from matplotlib.figure import Figure

    from physgen.physics import onsager
    from physgen.physics.observables import thermodynamics_by_temperature
    from physgen.training import load_run, train

    ds = monte_carlo(g.out, quick, seed)
    epochs = 20 if quick else 50
    train("rbm", data=g.out / "data" / "ising_L8.h5", out=g.out / "run_L8", overwrite=True, epochs=epochs, seed=seed,
          condition="temperature", sets=["model.filters=0", "model.n_hidden=64", "train.progress=false"])
    run = load_run(g.out / "run_L8", which="latest")
    temps = sorted(set(ds.conditions["temperature"].tolist()))
    n = 500 if quick else 2000
    mc = thermodynamics_by_temperature(ds, rng=seed, n_boot=200)
    rbm = {}
    for t in temps:
        fake = run.sample(n, seed=seed, condition={"temperature": t}, burn_in=200 if quick else 1000)
        rbm.update(thermodynamics_by_temperature(fake, rng=seed, n_boot=200))
    table = {f"{t:g}": {k: {"mc": mc[t][k].value, "mc_error": mc[t][k].error, "rbm": rbm[t][k].value,
                            "rbm_error": rbm[t][k].error} for k, _ in KEYS} for t in temps}
    g.record("thermodynamics_L8", table, "MC vs RBM per T (see results.json)")
    g.record("energy_abs_deviation_max", max(abs(v["energy"]["rbm"] - v["energy"]["mc"]) for v in table.values()))
    g.record("abs_m_abs_deviation_max", max(abs(v["abs_magnetization"]["rbm"] - v["abs_magnetization"]["mc"])
                                            for v in table.values()))
    fig = Figure(figsize=(10, 7))
    grid = np.linspace(1.4, 3.6, 300)
    curves = {"energy": onsager.energy_per_spin(grid), "abs_magnetization": onsager.spontaneous_magnetization(grid)}
    for ax, (key, label) in zip(fig.subplots(2, 2).flat, KEYS):
        if key in curves:
            ax.plot(grid, curves[key], "k-", lw=0.8, label="Onsager (L = ∞)")
        for src, fmt, lab in ((mc, "o", "Monte Carlo (training data)"), (rbm, "s", "RBM samples")):
            ax.errorbar(temps, [src[t][key].value for t in temps], yerr=[src[t][key].error for t in temps],
                        fmt=fmt, ms=4, capsize=2, mfc="none" if fmt == "s" else None, label=lab)
        ax.axvline(onsager.T_C, color="grey", ls=":", lw=1)
        ax.set(xlabel="T", ylabel=label)
    fig.axes[0].legend(fontsize=8)
    fig.suptitle(f"L = 8 Ising: one RBM per temperature (64 hidden, {epochs} epochs PCD-1)")
    fig.tight_layout()
    g.save(fig, "thermodynamics_rbm_vs_mc")


def exact_data(out, temps, n: int, seed: int):
    """``n`` exact 4×4 configurations per temperature, drawn from the enumerated Boltzmann distribution."""
    from physgen.data import Dataset, save
    from physgen.physics.exact import exact_ensembles

    states, temperatures = exact_ensembles(4, temps, n, seed)
    ds = Dataset(states, "spins", {"temperature": temperatures},
                 attrs={"source": "exact enumeration", "size": 4, "J": 1.0, "h": 0.0})
    return save(ds, out / "data" / "exact_L4.h5", overwrite=True)


def hidden_units(g: Gallery, quick: bool, seed: int) -> None:
    from matplotlib.figure import Figure

    from physgen.models.rbm.partition import exact_log_prob_all
    from physgen.physics.exact import ExactIsing
    from physgen.physics.onsager import T_C
    from physgen.training import load_run, train

    temps = [1.5, round(float(T_C), 4), 3.5] if quick else [1.5, 2.0, round(float(T_C), 4), 2.6, 3.5]
    hidden = [1, 4, 16] if quick else [1, 2, 4, 8, 16]
    path = exact_data(g.out, temps, 2000 if quick else 4000, seed)
    kl = {f"{t:g}": [] for t in temps}
    for m in hidden:
        run_dir = g.out / f"run_L4_h{m}"
        train("rbm", data=path, out=run_dir, overwrite=True, epochs=20 if quick else 30, seed=seed,
              condition="temperature", sets=["model.filters=0", f"model.n_hidden={m}", "train.progress=false"])
        model = load_run(run_dir, which="latest").model
        for t in temps:
            p = ExactIsing(4, t).probabilities
            q = exact_log_prob_all(model.energy(model.condition_index({"temperature": t})).detach()).double().numpy()
            kl[f"{t:g}"].append(float(np.sum(p * (np.log(p) - q))))
    g.record("hidden_units", hidden)
    g.record("exact_kl_by_temperature", kl, "; ".join(f"T={t}: " + ", ".join(f"{v:.3f}" for v in vals)
                                                     for t, vals in kl.items()))
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for t, vals in kl.items():
        ax.semilogy(hidden, vals, "o-", label=f"T = {t}")
    ax.set(xscale="log", xlabel="hidden units", ylabel="KL(p_exact ‖ p_RBM) (nats)",
           title="4×4 Ising: exact KL vs hidden units")
    ax.set_xticks(hidden, [str(h) for h in hidden])
    ax.legend(fontsize=8)
    g.save(fig, "kl_vs_hidden_units")


def main(argv=None) -> dict:
    args = parser(NAME, __doc__).parse_args(argv)
    g = Gallery(NAME, args)
    (g.out / "data").mkdir(exist_ok=True)
    hidden_units(g, args.quick, args.seed)
    thermodynamics_vs_t(g, args.quick, args.seed)
    return g.finish()


if __name__ == "__main__":
    main()
