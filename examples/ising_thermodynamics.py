"""The 2D Ising Monte Carlo engine against exact results, and critical slowing down.

1. Thermodynamics versus T (⟨e⟩, ⟨|m|⟩, C, χ with bootstrap errors) on an L×L lattice (Wolff) against
   Onsager's infinite-lattice solution (Onsager 1944; Yang 1952 for m(T)).
2. L = 4 checkerboard Metropolis against exact enumeration of all 65,536 states
   (``physgen.physics.exact.ExactIsing``): ⟨e⟩, ⟨|m|⟩, C per temperature, deviations in standard errors,
   and the full |m| distribution near Tc.
3. Metropolis versus Wolff integrated autocorrelation times of |m| and e at Tc for several L (Sokal's
   window, ``physgen.stats``); τ ∝ L^z with z ≈ 2.17 for Metropolis and z ≈ 0.25 for Wolff
   (Wolff 1989; Sokal 1997).

    python examples/ising_thermodynamics.py [--quick] [--out DIR] [--seed S]
"""
from __future__ import annotations

import warnings

import numpy as np

from _common import Gallery, parser

NAME = "ising_thermodynamics"
KEYS = (("energy", "energy per spin ⟨e⟩"), ("abs_magnetization", "⟨|m|⟩"),
        ("specific_heat", "specific heat C"), ("susceptibility", "susceptibility χ"))


def simulate(*args, **kwargs):
    """``physgen.data.ising.simulate`` with its thinning warning silenced (τ is what we measure here)."""
    from physgen.data.ising import ThinningWarning, simulate as run

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ThinningWarning)
        return run(*args, **kwargs)


def versus_onsager(g: Gallery, quick: bool, seed: int) -> None:
    from matplotlib.figure import Figure

    from physgen.physics import onsager
    from physgen.physics.observables import thermodynamics_by_temperature

    temps = [1.5, 2.0, 2.2, 2.27, 2.35, 2.5, 3.0, 3.5] if quick else \
        [1.5, 1.8, 2.0, 2.1, 2.2, 2.25, 2.27, 2.3, 2.35, 2.4, 2.5, 2.7, 3.0, 3.5]
    size = 16 if quick else 32
    ds = simulate(size, temps, 100 if quick else 1000, algorithm="wolff", burn_in=50 if quick else 300,
                  thin=2 if quick else 4, chains=20, seed=seed)
    table = thermodynamics_by_temperature(ds, rng=seed, n_boot=200)
    exact_e = onsager.energy_per_spin(np.array(temps))
    pulls = [(table[t]["energy"].value - u) / max(table[t]["energy"].error, 1e-12) for t, u in zip(temps, exact_e)]
    g.record("onsager_lattice", {"size": size, "n_per_T": int(ds.attrs["n_samples_per_temperature"])})
    g.record("energy_vs_onsager", {f"{t:g}": [table[t]["energy"].value, table[t]["energy"].error, float(u)]
                                   for t, u in zip(temps, exact_e)}, "[MC, error, Onsager] per T")
    g.record("energy_max_abs_deviation_low_T",
             max(abs(table[t]["energy"].value - u) for t, u in zip(temps, exact_e) if abs(t - onsager.T_C) > 0.4))
    g.record("energy_pulls", [round(p, 2) for p in pulls])
    g.record("abs_m_vs_onsager", {f"{t:g}": [table[t]["abs_magnetization"].value,
                                             float(onsager.spontaneous_magnetization(t))] for t in temps})
    peak = max(temps, key=lambda t: table[t]["specific_heat"].value)
    g.record("specific_heat_peak_T", peak)
    fig = Figure(figsize=(10, 7))
    grid = np.linspace(1.3, 3.6, 400)
    curves = {"energy": onsager.energy_per_spin(grid), "abs_magnetization": onsager.spontaneous_magnetization(grid),
              "specific_heat": onsager.specific_heat(grid)}
    for ax, (key, label) in zip(fig.subplots(2, 2).flat, KEYS):
        if key in curves:
            ax.plot(grid, curves[key], "k-", lw=1, label="Onsager (L = ∞)")
        ax.errorbar(temps, [table[t][key].value for t in temps], yerr=[table[t][key].error for t in temps],
                    fmt="o", ms=4, capsize=2, label=f"Wolff MC, L = {size}")
        ax.axvline(onsager.T_C, color="grey", ls=":", lw=1)
        ax.set(xlabel="T", ylabel=label)
        ax.legend(fontsize=8)
    fig.tight_layout()
    g.save(fig, "thermodynamics_vs_onsager")


def versus_exact(g: Gallery, quick: bool, seed: int) -> None:
    """L = 4 Metropolis against exact enumeration; chi-square of the |m| histogram at T = 2.27."""
    from matplotlib.figure import Figure
    from scipy import stats as sps

    from physgen.physics.exact import ExactIsing
    from physgen.physics.observables import thermodynamics_by_temperature, magnetization

    temps = [1.5, 2.0, 2.27, 2.5, 3.0, 4.0]
    n = 2000 if quick else 20000
    ds = simulate(4, temps, n, algorithm="metropolis", burn_in=200, thin=5, chains=50, seed=seed)
    table = thermodynamics_by_temperature(ds, rng=seed, n_boot=200)
    rows, worst = {}, 0.0
    for t in temps:
        ex = ExactIsing(4, t)
        row = {}
        for key, exact in (("energy", ex.mean_energy), ("abs_magnetization", ex.mean_abs_m),
                           ("specific_heat", ex.specific_heat)):
            est = table[t][key]
            row[key] = {"mc": est.value, "error": est.error, "exact": exact}
            worst = max(worst, abs(est.value - exact) / est.error)
        rows[f"{t:g}"] = row
    g.record("exact_L4", rows, "MC vs exact per T (see results.json)")
    g.record("exact_L4_max_pull", worst, f"{worst:.2f} standard errors (largest over T and observables)")
    ex = ExactIsing(4, 2.27)
    levels, probs = ex.abs_m_distribution()
    m = np.abs(magnetization(ds.samples[ds.conditions["temperature"] == 2.27]))
    counts = np.array([np.sum(np.isclose(m, v)) for v in levels])
    chi2 = sps.chisquare(counts, probs * counts.sum())
    g.record("exact_L4_abs_m_chi2_pvalue", float(chi2.pvalue))
    fig = Figure(figsize=(11, 3.6))
    ax1, ax2, ax3 = fig.subplots(1, 3)
    grid = np.linspace(1.2, 4.2, 100)
    exacts = [ExactIsing(4, t) for t in grid]
    for ax, key, attr in ((ax1, "energy", "mean_energy"), (ax2, "abs_magnetization", "mean_abs_m")):
        ax.plot(grid, [getattr(e, attr) for e in exacts], "k-", lw=1, label="exact enumeration")
        ax.errorbar(temps, [rows[f"{t:g}"][key]["mc"] for t in temps],
                    yerr=[rows[f"{t:g}"][key]["error"] for t in temps], fmt="o", ms=4, label="Metropolis")
        ax.set(xlabel="T", ylabel=dict(KEYS)[key], title="L = 4"), ax.legend(fontsize=8)
    ax3.bar(levels, probs, width=0.04, color="0.6", label="exact")
    ax3.plot(levels, counts / counts.sum(), "o", color="tab:red", label=f"Metropolis (n = {counts.sum()})")
    ax3.set(xlabel="|m|", ylabel="probability", title=f"T = 2.27, χ² p = {chi2.pvalue:.2f}"), ax3.legend(fontsize=8)
    fig.tight_layout()
    g.save(fig, "metropolis_vs_exact_L4")


def autocorrelation_times(g: Gallery, quick: bool, seed: int) -> None:
    """τ_int of |m| and e at Tc for both algorithms and several L, from series of every sweep."""
    from matplotlib.figure import Figure

    from physgen.physics.onsager import T_C

    sizes = [8, 16] if quick else [8, 16, 32, 64]
    chains = 8
    taus: dict[str, dict[str, list[float]]] = {}
    for algo in ("metropolis", "wolff"):
        taus[algo] = {"abs_m": [], "energy": []}
        for L in sizes:
            # |m| and e are recorded after every sweep whatever the thinning, so a long thinning keeps
            # the series long (``sweeps`` per chain) and the stored snapshots few (10 per chain)
            sweeps = (400 if quick else 400 * L) if algo == "metropolis" else (200 if quick else 2000)
            ds = simulate(L, [float(T_C)], 10 * chains, algorithm=algo, burn_in=200 if quick else 1000,
                          thin=sweeps // 10, chains=chains, seed=seed)
            taus[algo]["abs_m"].append(float(ds.attrs["tau_int_abs_m"][0]))
            taus[algo]["energy"].append(float(ds.attrs["tau_int_energy"][0]))
    g.record("tau_int_at_Tc", {"sizes": sizes, "chains": chains, **taus})
    z = {a: float(np.polyfit(np.log(sizes), np.log(taus[a]["abs_m"]), 1)[0]) for a in taus}
    g.record("dynamic_exponent_fit_abs_m", z, ", ".join(f"{a}: z ≈ {v:.2f}" for a, v in z.items())
             + " (literature 2.17 and 0.25)")
    ratio = [m / w for m, w in zip(taus["metropolis"]["abs_m"], taus["wolff"]["abs_m"])]
    g.record("tau_ratio_metropolis_over_wolff", [round(r, 2) for r in ratio])
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for algo, marker in (("metropolis", "o"), ("wolff", "s")):
        for obs, ls in (("abs_m", "-"), ("energy", "--")):
            ax.loglog(sizes, taus[algo][obs], marker + ls, label=f"{algo}, {obs} (z fit {z[algo]:.2f})"
                      if obs == "abs_m" else f"{algo}, {obs}")
    ax.set(xlabel="L", ylabel="τ_int (sweeps)", title="critical slowing down at Tc"), ax.legend(fontsize=8)
    g.save(fig, "autocorrelation_times")


def main(argv=None) -> dict:
    args = parser(NAME, __doc__).parse_args(argv)
    g = Gallery(NAME, args)
    versus_onsager(g, args.quick, args.seed)
    versus_exact(g, args.quick, args.seed)
    autocorrelation_times(g, args.quick, args.seed)
    return g.finish()


if __name__ == "__main__":
    main()
