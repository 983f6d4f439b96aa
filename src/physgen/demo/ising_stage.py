"""Demo stage: Ising Monte Carlo across Tc, thermodynamics with errors against Onsager."""
from __future__ import annotations

from typing import Any

import numpy as np

from physgen.demo.runner import StageContext

SIZES = {False: 16, True: 8}  # quick? -> lattice size L
TEMPERATURES = (1.5, 1.8, 2.0, 2.1, 2.2, 2.25, 2.3, 2.4, 2.5, 2.7, 3.0, 3.5)
MODEL_TEMPERATURES = {False: (1.5, 1.8, 2.1, 2.25, 2.4, 2.7, 3.0, 3.5), True: (1.5, 2.25, 3.0)}
MONTE_CARLO_SAMPLES = {False: 1000, True: 1000}  # per temperature: the reference of the models' observables
MODEL_SAMPLES = {False: 500, True: 300}  # per temperature, for training and judging the models


def simulate_demo_data(ctx: StageContext):
    """Equilibrated configurations at 12 temperatures, L=16 (quick: L=8) (Wolff: fast near Tc)."""
    from physgen.data import save
    from physgen.data.ising import simulate

    n = MONTE_CARLO_SAMPLES[ctx.quick]
    ds = simulate(SIZES[ctx.quick], list(TEMPERATURES), n, algorithm="wolff", burn_in=200 if ctx.quick else 500,
                  thin=4, seed=ctx.seed, device=ctx.device)
    save(ds, ctx.path("ising.h5"), overwrite=True)
    return ds


def model_subset(ds, quick: bool):
    """The configurations the model stages train on and are judged against (fewer in quick mode)."""
    temps = ds.conditions["temperature"]
    rows = np.concatenate([np.flatnonzero(np.isclose(temps, t))[:MODEL_SAMPLES[quick]]
                           for t in MODEL_TEMPERATURES[quick]])
    return ds.subset(rows)


def thermodynamics_table(ds, seed: int) -> dict[float, dict[str, Any]]:
    """Observables ± bootstrap errors per temperature of a spins dataset."""
    from physgen.physics.observables import thermodynamics

    temps = ds.conditions["temperature"]
    table = {}
    for t in np.unique(temps):
        obs = thermodynamics(ds.samples[temps == t], float(t), rng=seed, n_boot=200)
        table[float(t)] = {k: v.to_json() for k, v in obs.items()}
    return table


def plot_observables(tables: dict[str, dict[float, dict[str, Any]]]):
    """E, |m|, C, χ versus T for each labelled table, with Onsager's infinite-lattice curves."""
    import matplotlib.pyplot as plt

    from physgen.physics import onsager

    keys = [("energy", "energy per spin ⟨e⟩"), ("abs_magnetization", "⟨|m|⟩"),
            ("specific_heat", "specific heat C"), ("susceptibility", "susceptibility χ")]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    grid = np.linspace(1.2, 3.6, 400)
    onsager_curves = {"energy": onsager.energy_per_spin(grid),
                      "abs_magnetization": onsager.spontaneous_magnetization(grid),
                      "specific_heat": onsager.specific_heat(grid)}
    for ax, (key, label) in zip(axes.flat, keys):
        if key in onsager_curves:
            ax.plot(grid, onsager_curves[key], "k-", lw=1, label="Onsager (L=∞)")
        for name, table in tables.items():
            ts = sorted(table)
            vals = [table[t][key]["value"] for t in ts]
            errs = [table[t][key]["error"] or 0.0 for t in ts]
            ax.errorbar(ts, vals, yerr=errs, fmt="o", ms=4, capsize=2, label=name)
        ax.axvline(onsager.T_C, color="grey", ls=":", lw=1)
        ax.set_xlabel("T")
        ax.set_ylabel(label)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_snapshots(ds, temperatures=(1.5, 2.25, 3.5), per_temperature: int = 3):
    """``per_temperature`` configurations (rows) at each of ``temperatures`` (columns; the nearest temperature
    the data hold), black = +1, white = −1, each lattice in a frame so that a uniform one still shows."""
    import matplotlib.pyplot as plt

    temps = ds.conditions["temperature"]
    k = max(1, int(per_temperature))
    fig, axes = plt.subplots(k, len(temperatures), figsize=(2.4 * len(temperatures), 2.4 * k + 0.4), squeeze=False)
    for col, t in enumerate(temperatures):
        nearest = temps[int(np.argmin(np.abs(temps - t)))]
        rows = np.flatnonzero(temps == nearest)[:k]
        axes[0, col].set_title(f"T = {nearest:.3g}")
        for row in range(k):
            ax = axes[row, col]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set(visible=True, color="black", linewidth=1.2)
            if row < len(rows):
                ax.imshow(ds.samples[rows[row]], cmap="gray_r", vmin=-1, vmax=1, interpolation="nearest")
            else:
                ax.set_axis_off()   # fewer configurations at this temperature than rows
    fig.tight_layout()
    return fig


def ising_stage(ctx: StageContext) -> dict[str, Any]:
    from physgen.data import save

    ds = simulate_demo_data(ctx)
    save(model_subset(ds, ctx.quick), ctx.path("model_data.h5"), overwrite=True)
    table = thermodynamics_table(ds, ctx.seed)
    ctx.report.text(f"2D Ising, L={SIZES[ctx.quick]}, periodic, J=1, Wolff cluster updates; {len(ds)} configurations at "
                    f"{len(TEMPERATURES)} temperatures. Errors are bootstrap standard errors; black curves are "
                    "Onsager's exact infinite-lattice results (finite-size effects are visible near Tc).")
    ctx.report.figure(plot_observables({"Monte Carlo": table}), "observables", ctx.path("observables.png"))
    ctx.report.figure(plot_snapshots(ds), "configurations, three per temperature (black = +1)",
                      ctx.path("snapshots.png"))
    tau = ds.attrs.get("tau_int_abs_m")
    rows = [(f"{t:g}", f"{v['energy']['value']:.4f} ± {v['energy']['error']:.4f}",
             f"{v['abs_magnetization']['value']:.4f} ± {v['abs_magnetization']['error']:.4f}",
             f"{v['specific_heat']['value']:.3f}", f"{v['susceptibility']['value']:.3f}")
            for t, v in table.items()]
    ctx.report.table(["T", "⟨e⟩", "⟨|m|⟩", "C", "χ"], rows)
    return {"data": str(ctx.path("ising.h5")), "model_data": str(ctx.path("model_data.h5")), "n": len(ds),
            "tau_int_abs_m": tau,
            "observables": {str(t): v for t, v in table.items()}}
