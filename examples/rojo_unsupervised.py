"""Rojo lecture: unsupervised learning and tree ensembles on toy data and on 2D Ising configurations.

Reproduces, with physgen's public API (``physgen.analysis``, ``physgen.stats``, ``physgen.data``):

1. k-means on 2D data (the 8-Gaussian ring toy) and on Ising configurations (3 clusters: m ≈ +1, −1, 0);
2. single versus complete linkage dendrograms (two moons: single linkage follows the chains, complete
   linkage cuts them; on Ising single linkage chains into one giant cluster);
3. bagging versus a single decision tree: variance of the prediction over refits (Breiman 1996);
4. bootstrap confidence intervals of ⟨|m|⟩(T) (68% and 95%) against Onsager;
5. random-forest phase classification, accurate away from Tc and worse in the critical region;
6. PCA of Ising: PC1 carries most of the variance and is the magnetization (Wang 2016; Mehta et al. 2019).

    python examples/rojo_unsupervised.py [--quick] [--out DIR] [--seed S]
"""
from __future__ import annotations

import numpy as np

from _common import Gallery, parser

NAME = "rojo_unsupervised"


def ising_data(quick: bool, seed: int):
    """Ising configurations across Tc (Wolff, random starts): L = 16 quick, 32 full; T = 0.25 … 4.0."""
    from physgen.data.ising import simulate

    temps = np.linspace(1.0, 3.5, 6) if quick else np.arange(1, 17) * 0.25
    size, n = (16, 40) if quick else (32, 100)
    return simulate(size, [float(t) for t in temps], n, algorithm="wolff", burn_in=30 if quick else 100,
                    thin=3 if quick else 5, chains=20, seed=seed)


def kmeans_toy(g: Gallery, seed: int, quick: bool) -> None:
    """k-means with k = 8 on the ring of 8 Gaussians, and the 'elbow' of the inertia versus k."""
    from matplotlib.figure import Figure
    from sklearn.metrics import adjusted_rand_score

    from physgen.analysis import kmeans
    from physgen.data.toys import make_toy

    toy = make_toy("ring", 400 if quick else 2000, seed=seed, noise=0.2)
    x = toy.samples.astype(np.float64)
    ks = list(range(1, 13))
    fits = {k: kmeans(x, k, seed=seed, n_init=4 if quick else 10) for k in ks}
    ari = adjusted_rand_score(toy.labels, fits[8].labels_)
    g.record("kmeans_ring_ari_k8", ari, f"{ari:.3f} (adjusted Rand index vs the true mode)")
    g.record("kmeans_ring_inertia", {k: float(f.inertia_) for k, f in fits.items()})
    fig = Figure(figsize=(10, 4))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.scatter(x[:, 0], x[:, 1], c=fits[8].labels_, cmap="tab10", s=5)
    ax1.scatter(*fits[8].cluster_centers_.T, c="k", marker="x", s=60, label="centroids")
    ax1.set(title=f"k-means, k = 8 on the ring toy (ARI {ari:.2f})", aspect="equal"), ax1.legend(fontsize=8)
    ax2.plot(ks, [fits[k].inertia_ for k in ks], "o-")
    ax2.axvline(8, color="grey", ls=":")
    ax2.set(xlabel="k", ylabel="within-cluster sum of squares", title="elbow at the true number of modes")
    g.save(fig, "kmeans_toy")


def kmeans_ising(g: Gallery, ds, seed: int) -> None:
    from physgen.analysis import analyze_kmeans
    from physgen.analysis.plots import cluster_section
    from physgen.report import Report

    result = analyze_kmeans(ds, 3, seed=seed)
    summary = result.to_json()
    g.record("kmeans_ising_cluster_magnetization", [round(v, 4) for v in summary["cluster_magnetization"]])
    g.record("kmeans_ising_cluster_sizes", summary["cluster_sizes"])
    report = Report("k-means")
    cluster_section(report, result, ds, "k-means on Ising", save_dir=g.out, prefix="kmeans_ising")
    g.figures += ["kmeans_ising_centroids.png", "kmeans_ising_histograms.png"]


def linkage_comparison(g: Gallery, ds, seed: int, quick: bool) -> None:
    """Single vs complete linkage on two moons (purity) and on Ising (cluster sizes), with dendrograms."""
    from matplotlib.figure import Figure
    from scipy.cluster import hierarchy
    from sklearn.metrics import adjusted_rand_score

    from physgen.analysis import analyze_hierarchical
    from physgen.data.toys import make_toy

    moons = make_toy("moons", 300 if quick else 600, seed=seed, noise=0.06)
    fig = Figure(figsize=(12, 7.5))
    axes = fig.subplots(2, 3)
    for row, method in enumerate(("single", "complete")):
        toy = analyze_hierarchical(moons, method, k=2, seed=seed)
        ari = adjusted_rand_score(moons.labels, toy.labels)
        g.record(f"{method}_linkage_moons_ari", ari, f"{ari:.3f}")
        ising = analyze_hierarchical(ds, method, k=3, max_points=400, seed=seed)
        g.record(f"{method}_linkage_ising_sizes", ising.sizes())
        x = moons.samples
        axes[row, 0].scatter(x[:, 0], x[:, 1], c=toy.labels, cmap="coolwarm", s=5)
        axes[row, 0].set(title=f"{method} linkage, two moons (ARI {ari:.2f})")
        for ax, res, what in ((axes[row, 1], toy, "moons"), (axes[row, 2], ising, "Ising")):
            z = res.extra["linkage_matrix"]
            hierarchy.dendrogram(z, ax=ax, truncate_mode="lastp", p=30, no_labels=True,
                                 color_threshold=0.5 * (z[-2 if what == "moons" else -3, 2] + z[-1 if what == "moons"
                                                                                              else -2, 2]))
            ax.set(title=f"{method} linkage dendrogram ({what})", ylabel="merge distance")
    fig.tight_layout()
    g.save(fig, "linkage_single_vs_complete")


def forests(g: Gallery, ds, seed: int, quick: bool) -> None:
    from physgen.analysis import analyze_forest
    from physgen.analysis.plots import forest_section
    from physgen.report import Report

    res = analyze_forest(ds, "phase", n_estimators=20 if quick else 50, variance_repeats=5,
                         variance_estimators=10 if quick else 25, n_boot=100, seed=seed)
    out = res.to_json()
    g.record("forest_noncritical_accuracy", out["noncritical_accuracy"])
    g.record("forest_critical_accuracy", out["critical_accuracy"])
    g.record("forest_oob_score", out["oob_score"])
    var = out["bagging_variance"]
    g.record("tree_prediction_variance", var["tree"]["prediction_variance"])
    g.record("bagging_prediction_variance", var["bagging"]["prediction_variance"])
    g.record("tree_accuracy_mean_std", [var["tree"]["accuracy_mean"], var["tree"]["accuracy_std"]])
    g.record("bagging_accuracy_mean_std", [var["bagging"]["accuracy_mean"], var["bagging"]["accuracy_std"]])
    forest_section(Report("forest"), res, ds, save_dir=g.out)
    g.figures += ["forest_accuracy_importances.png", "forest_bagging_variance.png"]


def bootstrap_intervals(g: Gallery, ds, seed: int) -> None:
    """⟨|m|⟩ per temperature with 68% and 95% percentile-bootstrap intervals (physgen.stats.bootstrap)."""
    from matplotlib.figure import Figure

    from physgen.physics import onsager
    from physgen.physics.observables import magnetization
    from physgen.stats import bootstrap

    temps = ds.conditions["temperature"]
    rng = np.random.default_rng(seed)
    rows = {}
    for t in np.unique(temps):
        m = np.abs(magnetization(ds.samples[temps == t]))
        e68 = bootstrap(np.mean, m, n_boot=1000, level=0.68, rng=rng)
        e95 = bootstrap(np.mean, m, n_boot=1000, level=0.95, rng=rng)
        rows[f"{t:g}"] = {"value": e68.value, "error": e68.error, "ci68": [e68.ci_low, e68.ci_high],
                          "ci95": [e95.ci_low, e95.ci_high]}
    g.record("abs_m_bootstrap", rows, "; ".join(f"T={k}: {v['value']:.3f}±{v['error']:.3f}"
                                                 for k, v in list(rows.items())[:4]) + " ...")
    ts = np.array([float(k) for k in rows])
    val = np.array([r["value"] for r in rows.values()])
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for level, colour in (("ci95", "0.8"), ("ci68", "tab:blue")):
        lo, hi = np.array([r[level] for r in rows.values()]).T
        ax.fill_between(ts, lo, hi, color=colour, alpha=0.6, label=f"{level[2:]}% bootstrap interval")
    ax.plot(ts, val, "ko", ms=3, label=f"Monte Carlo, L = {ds.attrs['size']}")
    grid = np.linspace(ts.min(), ts.max(), 300)
    ax.plot(grid, onsager.spontaneous_magnetization(grid), "r-", lw=1, label="Onsager (L = ∞)")
    ax.set(xlabel="T", ylabel="⟨|m|⟩", title="bootstrap confidence intervals"), ax.legend(fontsize=8)
    g.save(fig, "bootstrap_abs_m")


def pca(g: Gallery, ds, seed: int) -> None:
    from physgen.analysis import analyze_pca
    from physgen.analysis.plots import pca_section
    from physgen.report import Report

    res = analyze_pca(ds, n_components=10, seed=seed, n_boot=100)
    g.record("pca_explained_variance_ratio", [round(float(v), 5) for v in res.explained_variance_ratio[:5]])
    g.record("pc1_fraction", float(res.explained_variance_ratio[0]))
    g.record("pc1_magnetization_correlation", res.pc1_magnetization["value"])
    pca_section(Report("pca"), res, ds, save_dir=g.out)
    g.figures += ["pca_variance_projections.png", "pca_pc1.png"]


def main(argv=None) -> dict:
    args = parser(NAME, __doc__).parse_args(argv)
    g = Gallery(NAME, args)
    ds = ising_data(args.quick, args.seed)
    g.record("ising", {"size": ds.attrs["size"], "n": len(ds), "temperatures": ds.attrs["temperatures"]})
    kmeans_toy(g, args.seed, args.quick)
    kmeans_ising(g, ds, args.seed)
    linkage_comparison(g, ds, args.seed, args.quick)
    forests(g, ds, args.seed, args.quick)
    bootstrap_intervals(g, ds, args.seed)
    pca(g, ds, args.seed)
    return g.finish()


if __name__ == "__main__":
    main()
