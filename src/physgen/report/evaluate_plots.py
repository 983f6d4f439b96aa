"""Figures and the HTML report of ``physgen evaluate``.

* per-feature histograms, real vs generated, with a generated/real ratio panel and the KL/JS values
  annotated (the thesis figure; same edges as the KL metric: ``bins`` over the real range)
* 2-D pair histograms, real beside generated
* observables versus temperature (spin data): Monte Carlo (real), generated, Onsager's infinite-lattice
  energy, spontaneous magnetization and specific heat
* sample grids for spin / image / binary data
* the metrics table with real-data floors
"""
from __future__ import annotations

import numpy as np

from physgen.data import Dataset
from physgen.report.html import Report

MAX_FEATURES = 12
MAX_PAIRS = 6


def _plt():
    from physgen.report.html import pyplot

    return pyplot()


def feature_histograms(real: np.ndarray, fake: np.ndarray, names: list[str], result: dict, bins: int = 50):
    """Figure: one column per feature (≤ 12): normalised histograms on top, fake/real ratio below."""
    plt = _plt()
    d = min(real.shape[1], MAX_FEATURES)
    fig, axes = plt.subplots(2, d, figsize=(3.2 * d, 4.2), squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1], "hspace": 0.05})
    for j in range(d):
        edges = np.histogram_bin_edges(real[:, j], bins)
        hr, _ = np.histogram(real[:, j], edges)
        hf, _ = np.histogram(fake[:, j], edges)
        centers, width = 0.5 * (edges[1:] + edges[:-1]), np.diff(edges)
        dr, df = hr / (hr.sum() * width), hf / (max(hf.sum(), 1) * width)
        top, bot = axes[0, j], axes[1, j]
        top.stairs(dr, edges, label="real", color="k")
        top.stairs(df, edges, label="generated", color="C1")
        top.set_xticklabels([])
        top.set_title(_annotation(result, names[j]), fontsize=8)
        ratio, err = _ratio(hr, hf)
        bot.errorbar(centers, ratio, yerr=err, fmt=".", ms=3, color="C1")
        bot.axhline(1.0, color="k", lw=0.8)
        bot.set_ylim(0.5, 1.5)
        bot.set_xlabel(names[j])
        if j == 0:
            top.set_ylabel("density"), bot.set_ylabel("gen/real"), top.legend(fontsize=8, loc="upper right")
    return fig


def jet_views(real: Dataset, fake: Dataset) -> tuple[tuple, tuple]:
    """``(real particles, fake particles, names)`` ``(n, 3)`` of every unmasked particle, and the jets'
    ``(mass/p_T, Σ p_T,rel, multiplicity)`` ``(N, 3)`` with names, for point clouds."""
    from physgen.metrics.jetnet import RELATIVE, jet_mass, relative_coordinates

    def views(ds):
        rel, mask = relative_coordinates(ds.samples, ds.feature_names), ds.mask.astype(bool)
        jets = np.stack([jet_mass(rel, mask), (rel[..., 2] * mask).sum(axis=1), mask.sum(axis=1)], axis=1)
        return rel[mask], jets
    (pr, jr), (pf, jf) = views(real), views(fake)
    return (pr, pf, list(RELATIVE)), (jr, jf, ["jet_mass", "jet_pt_rel", "multiplicity"])


def _ratio(hr: np.ndarray, hf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ratio of normalised counts fake/real with Poisson errors (NaN where real is empty)."""
    nr, nf = hr.sum(), max(hf.sum(), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (hf / nf) / (hr / nr)
        err = ratio * np.sqrt(1.0 / np.maximum(hf, 1) + 1.0 / hr)
    ratio[hr == 0] = np.nan
    return ratio, err


def _annotation(result: dict, name: str) -> str:
    parts = []
    for key in ("kl", "js"):
        pf = (result.get(key) or {}).get("per_feature") or {}
        if name in pf:
            parts.append(f"{key.upper()} {pf[name]['value']:.3g} (floor {pf[name]['floor']:.2g})")
    return "\n".join(parts)


def _span(x: np.ndarray) -> list[float]:
    """The range [min, max] of ``x``, widened by ±0.5 where every value is the same."""
    lo, hi = float(x.min()), float(x.max())
    return [lo, hi] if hi > lo else [lo - 0.5, hi + 0.5]


def pair_plots(real: np.ndarray, fake: np.ndarray, names: list[str], bins: int = 40):
    """Figure: 2-D histograms of feature pairs (≤ 6), real (top row) and generated (bottom row)."""
    plt = _plt()
    pairs = [(i, j) for i in range(min(real.shape[1], 4)) for j in range(i + 1, min(real.shape[1], 4))][:MAX_PAIRS]
    fig, axes = plt.subplots(2, len(pairs), figsize=(3.2 * len(pairs), 6.2), squeeze=False)
    for k, (i, j) in enumerate(pairs):
        rng_xy = [_span(real[:, i]), _span(real[:, j])]
        for row, (x, label) in enumerate(((real, "real"), (fake, "generated"))):
            ax = axes[row, k]
            inside = ((x[:, i] >= rng_xy[0][0]) & (x[:, i] <= rng_xy[0][1])
                      & (x[:, j] >= rng_xy[1][0]) & (x[:, j] <= rng_xy[1][1]))
            if inside.any():
                ax.hist2d(x[inside, i], x[inside, j], bins=bins, range=rng_xy, cmap="viridis", density=True)
            else:
                ax.set_xlim(rng_xy[0]), ax.set_ylim(rng_xy[1])
                ax.text(0.5, 0.5, "no sample in the\ndata's range", ha="center", va="center", transform=ax.transAxes)
            outside = 1.0 - inside.mean() if len(x) else 0.0
            title = f"{label} ({outside:.0%} outside)" if outside > 0 else label
            ax.set_xlabel(names[i]), ax.set_ylabel(names[j]), ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def observables_vs_temperature(result: dict, model=None):
    """Figure: ⟨e⟩, ⟨|m|⟩, C, χ, U₄, ξ₂ versus T — MC (real), generated, and for the Ising ``model`` at h = 0
    (None: J = 1 on an infinite lattice) Onsager's infinite-lattice curves and, where the lattice has one, the
    exact finite-lattice curve of ⟨e⟩ and C (:meth:`~physgen.lattice.model.LatticeModel.exact`: Kaufman, or
    enumeration for L ≤ 4).  Another lattice ``model`` (:mod:`physgen.lattice`) has its own T_c marked where
    known."""
    from physgen.metrics.observables import OBSERVABLES
    from physgen.physics import onsager

    plt = _plt()
    per_t = result["observables"]["by_temperature"]
    temps = np.array([float(t) for t in per_t])
    order = np.argsort(temps)
    keys = [list(per_t)[i] for i in order]
    fig, axes = plt.subplots(1, len(OBSERVABLES), figsize=(3.4 * len(OBSERVABLES), 3.2))
    grid = np.linspace(max(temps.min() * 0.9, 0.05), temps.max() * 1.05, 300)
    curves = {"energy": onsager.energy_per_spin, "abs_magnetization": onsager.spontaneous_magnetization,
              "specific_heat": onsager.specific_heat}
    exact, J = None, 1.0 if model is None else float(model.values.get("J", 1.0))
    if model is None:
        t_c = onsager.T_C
    elif model.name != "ising":
        curves, t_c = {}, model.critical_temperature()
    else:
        t_c = model.critical_temperature()
        if model.h:
            curves = {}
        if model.reference_method() in ("enumeration", "kaufman"):
            coarse = np.linspace(grid[0], grid[-1], 60)
            values = [model.exact(float(t)) for t in coarse]
            exact = (coarse, {k: np.array([v[k] for v in values]) for k in ("energy", "specific_heat")},
                     f"exact ({values[0]['method']}, {model.size}×{model.size})")
    for ax, name in zip(axes, OBSERVABLES):
        for who, style in (("real", dict(fmt="o", color="k", label="Monte Carlo")),
                           ("fake", dict(fmt="s", color="C1", mfc="none", label="generated"))):
            vals = [per_t[k]["observables"][name][who] for k in keys]
            ax.errorbar(temps[order], [np.nan if v["value"] is None else v["value"] for v in vals],
                        yerr=[v["error"] or 0.0 for v in vals],
                        ms=4, capsize=2, **style)
        if name in curves:
            with np.errstate(all="ignore"):
                ax.plot(grid, np.asarray(curves[name](grid, J=J), float), "b-", lw=0.8, label="Onsager (L=∞)")
        if exact is not None and name in exact[1]:
            ax.plot(exact[0], exact[1][name], "g--", lw=0.9, label=exact[2])
        if t_c is not None:
            ax.axvline(t_c, color="grey", ls=":", lw=0.8)
        ax.set_xlabel("T"), ax.set_title(name.replace("_", " "), fontsize=10)
    for ax in (axes[0], axes[2]):
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def correlation_plots(result: dict, max_panels: int = 8):
    """Figure: spin–spin correlation G(r), real vs generated, one panel per temperature (≤ 8)."""
    plt = _plt()
    per_t = result["observables"]["by_temperature"]
    keys = sorted(per_t, key=float)
    keys = [keys[i] for i in np.linspace(0, len(keys) - 1, min(len(keys), max_panels)).astype(int)]
    fig, axes = plt.subplots(1, len(keys), figsize=(2.8 * len(keys), 2.8), squeeze=False)
    for ax, key in zip(axes[0], keys):
        c = per_t[key]["correlation"]
        ax.plot(c["r"], c["real"], "ko-", ms=3, label="Monte Carlo")
        ax.plot(c["r"], c["fake"], "s--", color="C1", mfc="none", ms=3, label="generated")
        ax.set_title(f"T = {float(key):g}", fontsize=9), ax.set_xlabel("r")
    axes[0, 0].set_ylabel("G(r)"), axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def temperature_rows(result: dict) -> list[list]:
    """Rows ``[T, n_real, n_fake, z per observable..., KL(e) (floor), KL(|m|) (floor)]``."""
    from physgen.metrics.observables import OBSERVABLES

    rows = []
    per_t = result["observables"]["by_temperature"]
    for key in sorted(per_t, key=float):
        e = per_t[key]
        zs = [_fmt(e["observables"][name]["difference"]["z"]) for name in OBSERVABLES]
        dist = [f"{_fmt(e['distributions'][q]['kl'])} ({_fmt(e['distributions'][q]['kl_floor'])})"
                for q in ("energy", "abs_magnetization")]
        rows.append([key, e["n_real"], e["n_fake"], *zs, *dist])
    return rows


def field_rows(result: dict) -> list[list]:
    """Rows ``[T, observable, real ± error, generated ± error, z, floor z]`` of a field evaluation."""
    rows = []
    per_t = result["observables"]["by_temperature"]
    for key in sorted(per_t, key=float):
        for name, e in per_t[key]["observables"].items():
            cells = [f"{_fmt(e[s]['value'])} ± {_fmt(e[s]['error'])}" for s in ("real", "fake")]
            rows.append([key, name, *cells, _fmt(e["difference"]["z"]), _fmt((e["floor"] or {}).get("z"))])
    return rows


def overlap_rows(result: dict) -> list[list]:
    """Rows ``[T, ⟨q²⟩ real, ⟨q²⟩ generated, z, g real, g generated, z, KL(P(q))]`` of a spin glass's overlap
    (empty where the evaluation has none)."""
    rows = []
    per_t = result["observables"]["by_temperature"]
    for key in sorted(per_t, key=float):
        o = per_t[key].get("overlap")
        if not o or "skipped" in o:
            continue
        cells = [f"{_fmt(o[q][side]['value'])} ± {_fmt(o[q][side]['error'])}" if k < 2 else _fmt(o[q]["difference"]["z"])
                 for q in ("q2", "binder") for k, side in enumerate(("real", "fake", "z"))]
        rows.append([key, *cells, _fmt(o["kl"])])
    return rows


def sample_grid(real: Dataset, fake: Dataset, n: int = 8):
    """Figure: ``n`` real (top) and ``n`` generated (bottom) samples as images."""
    plt = _plt()
    fig, axes = plt.subplots(2, n, figsize=(1.4 * n, 3.1), squeeze=False)
    for row, ds in enumerate((real, fake)):
        idx = np.linspace(0, len(ds) - 1, n).astype(int)
        for ax, i in zip(axes[row], idx):
            img = np.asarray(ds.samples[i], float)
            if img.ndim == 1:
                side = int(round(np.sqrt(img.size)))
                img = img.reshape(side, -1) if side * side == img.size else img[None, :]
            ax.imshow(img if img.ndim == 2 else img.reshape(img.shape[0], -1), cmap="gray", interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
        axes[row, 0].set_ylabel("real" if row == 0 else "generated")
    return fig


def metrics_rows(result: dict) -> list[list]:
    """Rows ``[metric, value, error, floor, floor error, value/floor]`` of the metrics table."""
    rows = []
    for name, e in result.items():
        if name.startswith("_"):
            continue
        v, f = e.get("value"), e.get("floor")
        ratio = v / f if (v is not None and f not in (None, 0)) else "—"
        rows.append([name, _fmt(v), _fmt(e.get("error")), _fmt(f), _fmt(e.get("floor_error")),
                     ratio if isinstance(ratio, str) else f"{ratio:.3g}"])
    return rows


def _fmt(v) -> str:
    return "—" if v is None else f"{v:.4g}"


def evaluation_report(real: Dataset, fake: Dataset, result: dict, *, plots: bool = True) -> Report:
    """The ``physgen evaluate`` report: table with floors, then the figures that suit the data kind."""
    from physgen.metrics.evaluate import tabular_view

    meta = result["_meta"]
    rep = Report(f"physgen evaluate: {meta['fake']['name']} vs {meta['real']['name']}")
    rep.text(f"real: {meta['real']['name']} (N={meta['real']['n']}, kind {meta['real']['kind']}); generated: "
             f"{meta['fake']['name']} (N={meta['fake']['n']}); {meta['n_per_side']} rows per side after the "
             f"real/real split; seed {meta['seed']}.", cls="note")
    for w in meta.get("warnings", []):
        rep.text(f"warning: {w}", cls="fail")
    rep.section("Metrics", "metrics")
    rep.text("value = real half A vs generated; floor = real half A vs real half B at the same size. "
             "A value near its floor is within the noise of the real data.", cls="note")
    rep.table(["metric", "value", "error", "floor (real vs real)", "floor error", "value / floor"],
              metrics_rows(result))
    if not plots:
        return rep
    if real.kind == "pointcloud":
        particles, jets = jet_views(real, fake)
        rep.section("Particle and jet distributions", "jets")
        rep.figure(feature_histograms(*particles, result), "particle features (every particle of every jet)")
        rep.figure(feature_histograms(*jets, result), "jet mass over jet p_T, jet p_T,rel and multiplicity")
        return rep
    from physgen.lattice.registry import model_of

    model = model_of(real)
    tr, names = tabular_view(real, model)
    tf, _ = tabular_view(fake, model)
    if real.kind in ("continuous", "spins"):
        rep.section("Per-feature distributions", "features")
        rep.figure(feature_histograms(tr, tf, names, result), "per-feature histograms with ratio panels")
        if tr.shape[1] >= 2:
            rep.section("Feature pairs", "pairs").figure(pair_plots(tr, tf, names), "2-D pair histograms")
    if real.kind == "field" and isinstance(result.get("observables"), dict) \
            and result["observables"].get("by_temperature"):
        rep.section("Field observables", "observables")
        rep.text("z = (generated − Monte Carlo)/σ per observable (blocked jackknife errors); the floor compares "
                 "the two halves of the Monte Carlo rows.", cls="note")
        rep.table(["T", "observable", "Monte Carlo", "generated", "z", "floor z"], field_rows(result))
    elif isinstance(result.get("observables"), dict) and result["observables"].get("by_temperature"):
        rep.section("Observables versus temperature", "observables")
        rep.text("z = (generated − Monte Carlo)/σ per observable; KL of the energy and |m| distributions "
                 "(exact categories) with the real-half floor in brackets.", cls="note")
        rep.table(["T", "N real", "N gen", "z ⟨e⟩", "z ⟨|m|⟩", "z C", "z χ", "z U₄", "z ξ₂", "KL(e)", "KL(|m|)"],
                  temperature_rows(result))
        rep.figure(observables_vs_temperature(result, model),
                   "observables vs temperature")
        rep.figure(correlation_plots(result), "spin-spin correlation function")
        overlap = overlap_rows(result)
        if overlap:
            rep.section("Overlap of independent replicas", "overlap")
            rep.text("q = (1/N) Σ s_i s′_i of two independent samples; g = (3 − ⟨q⁴⟩/⟨q²⟩²)/2.", cls="note")
            rep.table(["T", "⟨q²⟩ real", "⟨q²⟩ gen", "z", "g real", "g gen", "z", "KL(P(q))"], overlap)
    if real.kind != "continuous":
        rep.section("Samples", "samples").figure(sample_grid(real, fake), "real and generated samples")
    return rep
