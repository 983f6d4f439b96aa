"""Figures and the HTML report of ``physgen thermo``: F, U, S and C per spin against temperature (importance-
sampled points with bootstrap errors over the exact finite-lattice curve and Onsager's infinite lattice), ⟨|m|⟩
and χ likewise, and a table of every temperature.  The exact curves are those of :mod:`physgen.physics.thermo`
(enumeration for L ≤ 4, Kaufman 1949 at h = 0 otherwise; Onsager 1944), evaluated on a grid of temperatures."""
from __future__ import annotations

import numpy as np

from physgen.physics import thermo as P
from physgen.report.html import Report

PANELS = (("free_energy", "F / N"), ("energy", "U / N"), ("entropy", "S / N"), ("specific_heat", "C"))
MAGNETIC = (("abs_magnetization", "⟨|m|⟩"), ("susceptibility", "χ"))
GRID = 81               # temperatures of an exact curve


def _plt():
    from physgen.report.html import pyplot

    return pyplot()


def temperature_grid(temperatures: list[float]) -> np.ndarray:
    """``(GRID,)`` temperatures spanning the measured ones with a margin of 10% (±20% around a single one)."""
    lo, hi = min(temperatures), max(temperatures)
    lo, hi = (0.8 * lo, 1.2 * hi) if hi == lo else (lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
    return np.linspace(max(lo, 1e-3 * hi), hi, GRID)


def exact_curves(result: dict, grid: np.ndarray) -> tuple[dict | None, dict | None]:
    """``({quantity: (GRID,)}, …)`` of the finite-lattice reference and of Onsager on ``grid`` (None where none
    applies: the Ising model's only; another lattice model's exact values are those of thermo.json)."""
    from physgen.lattice import registry

    ham, shape = result["hamiltonian"], tuple(result["lattice"])
    if ham.get("model", "ising") != "ising" or len(shape) != 2 or shape[0] != shape[1]:
        return None, None   # another physgen.lattice model: its exact values are in the table
    model = registry.build("ising", shape[0], params={"J": ham["J"], "h": ham["h"]}, boundary=ham["boundary"])

    def curve(values_at) -> dict | None:
        rows = [values_at(float(t)) for t in grid]
        if rows[0] is None:
            return None
        return {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0] if k != "method"}

    closed = model.reference_method() in ("enumeration", "kaufman")   # (the transfer matrix: at its T only)
    return curve(model.exact) if closed else None, curve(model.infinite_lattice)


def _panel(ax, key: str, label: str, result: dict, grid: np.ndarray, finite: dict | None, inf: dict | None) -> None:
    temps = np.array([r["temperature"] for r in result["temperatures"]])
    rows, cols = result["lattice"]
    if finite is not None and key in finite:
        ax.plot(grid, finite[key], color="k", lw=1.2, label=f"exact {rows}×{cols} ({result['reference']})")
    if inf is not None and key in inf:
        ax.plot(grid, np.where(np.isfinite(inf[key]), inf[key], np.nan), color="0.5", ls="--", lw=1.0,
                label="Onsager, L = ∞")
    est = [r["estimates"].get(key) for r in result["temperatures"]]
    if all(e is not None for e in est):
        ax.errorbar(temps, [e["value"] for e in est], yerr=[e["error"] or 0.0 for e in est], fmt="o", ms=4,
                    color="C1", capsize=2, label=f"{result['family']} (importance sampling)")
        if key == "specific_heat" and finite is not None:   # Onsager's C diverges at T_c: frame the finite lattice
            top = max(np.nanmax(finite[key]), max(e["value"] + (e["error"] or 0.0) for e in est))
            ax.set_ylim(0.0, 1.25 * top)
    else:
        ax.text(0.5, 0.5, "not estimated (unnormalised q)", transform=ax.transAxes, ha="center", color="0.4")
    ax.set_xlabel("T")
    ax.set_ylabel(label)


def figure(result: dict, panels, grid: np.ndarray, curves: tuple[dict | None, dict | None]):
    """One row or a 2×2 block of panels ``(quantity, axis label)`` against temperature."""
    plt = _plt()
    shape = (2, 2) if len(panels) == 4 else (1, len(panels))
    fig, axes = plt.subplots(*shape, figsize=(5.0 * shape[1], 3.6 * shape[0]), squeeze=False)
    for ax, (key, label) in zip(axes.ravel(), panels):
        _panel(ax, key, label, result, grid, *curves)
    fullest = max(axes.ravel()[:len(panels)], key=lambda ax: len(ax.get_legend_handles_labels()[0]))
    fullest.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _cell(entry: dict | None) -> str:
    if entry is None:
        return "–"
    err = entry.get("error")
    return f"{entry['value']:.5g}" + (f" ± {err:.2g}" if err is not None else "")


def _exact_cell(values: dict | None, key: str) -> str:
    return "–" if values is None or key not in values else f"{values[key]:.5g}"


def table_rows(result: dict) -> list[list]:
    """Per temperature and quantity (labelled as :data:`physgen.physics.thermo.LABELS`): estimate ± error, exact,
    z = (estimate − exact)/error, Onsager, and the ESS."""
    rows = []
    for r in result["temperatures"]:
        for key in P.QUANTITIES:
            if key in r["estimates"] or (r["exact"] and key in r["exact"]):
                z = P.z_score(r["estimates"].get(key), r["exact"], key)
                rows.append([f"{r['temperature']:g}", P.LABELS[key], _cell(r["estimates"].get(key)),
                             _exact_cell(r["exact"], key), "–" if z is None else f"{z:+.1f}",
                             _exact_cell(r["onsager"], key), f"{r['ess']:.0f} ({r['ess_fraction']:.1%})"])
    return rows


def thermo_report(result: dict, *, plots: bool = True) -> Report:
    """The report of a ``thermo.json`` ``result``."""
    rows, cols = result["lattice"]
    ham = result["hamiltonian"]
    rep = Report(f"physgen thermo: {result['family']} on the {rows}×{cols} Ising lattice")
    rep.text(f"Run {result['run']} ({result['checkpoint']} checkpoint, step {result['checkpoint_step']}); "
             f"J = {ham['J']:g}, h = {ham['h']:g}, {ham['boundary']} boundary; {result['n']} draws per temperature, "
             f"{result['n_boot']} bootstrap resamples, seed {result['seed']}.")
    rep.text(result["note"], cls="note")
    rep.text(f"Exact reference: {result['reference'] or 'none for this lattice and field'}; Onsager's infinite "
             f"lattice where h = 0. Units: {result['units']}.", cls="note")
    if plots:
        grid = temperature_grid([r["temperature"] for r in result["temperatures"]])
        curves = exact_curves(result, grid)
        rep.section("Free energy, energy, entropy and specific heat")
        rep.figure(figure(result, PANELS, grid, curves), alt="F, U, S, C against T")
        rep.section("Magnetisation and susceptibility")
        rep.figure(figure(result, MAGNETIC, grid, curves), alt="|m| and chi against T")
    rep.section("Every temperature")
    rep.table(["T", "quantity", "estimate", "exact", "z", "Onsager (L = ∞)", "ESS"], table_rows(result))
    return rep
