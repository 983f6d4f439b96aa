"""Figures and report sections for the analyses (matplotlib, embedded by :class:`physgen.report.Report`).

Each ``*_section(report, result, ds, save_dir=None)`` appends a titled section with a table of the
numbers and its figures; with ``save_dir`` every figure is also written there as a PNG.  Used by
``physgen analyze`` and by the demo report.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure

from physgen.analysis import features
from physgen.analysis.clustering import ClusterResult
from physgen.analysis.forests import ForestResult
from physgen.analysis.pca import PCAResult
from physgen.data import Dataset
from physgen.report import Report

MODEL_ORDER: Sequence[str] = ("random_forest", "bagging", "tree")


def _add(report: Report, fig: Figure, name: str, save_dir: str | Path | None) -> None:
    report.figure(fig, alt=name, save_as=None if save_dir is None else Path(save_dir) / f"{name}.png")


def _weights_axes(fig: Figure, ax, weights: np.ndarray, ds: Dataset, title: str) -> None:
    """Draw ``weights`` ``(d,)`` as an L×W image for lattices/images, else as bars per feature."""
    shape = features.lattice_shape(ds)
    if shape is not None:
        lim = float(np.max(np.abs(weights))) or 1.0
        signed = bool(np.min(weights) < 0)  # importances are >= 0: sequential map; weights: diverging
        im = ax.imshow(weights.reshape(shape), cmap="RdBu_r" if signed else "viridis",
                       vmin=-lim if signed else 0.0, vmax=lim)
        fig.colorbar(im, ax=ax, shrink=0.8)
        ax.set_xticks([]), ax.set_yticks([])
    else:
        names = features.feature_labels(ds)[: weights.size]
        ax.bar(range(weights.size), weights, color="tab:blue")
        if weights.size <= 30:
            ax.set_xticks(range(weights.size), names, rotation=45 if weights.size > 6 else 0)
    ax.set_title(title)


def _scatter_coloured(fig: Figure, ax, x: np.ndarray, y: np.ndarray, ds: Dataset) -> None:
    """Scatter coloured by temperature, else by label, else plain."""
    t = features.temperature(ds)
    colour, label = (t, "temperature") if t is not None else (ds.labels, "label") if ds.labels is not None \
        else (None, None)
    if colour is None:
        ax.scatter(x, y, s=4, alpha=0.7)
        return
    sc = ax.scatter(x, y, c=colour, s=4, cmap="coolwarm" if label == "temperature" else "tab10", alpha=0.7)
    fig.colorbar(sc, ax=ax, label=label)


def pca_section(report: Report, result: PCAResult, ds: Dataset, save_dir: str | Path | None = None) -> Report:
    """Explained variance, PC1–PC2 scatter, PC1 vs magnetization, first component's weights."""
    evr = result.explained_variance_ratio
    report.section("Principal component analysis", anchor="pca")
    rows = [[f"PC{i + 1}", float(v), float(c)] for i, (v, c) in enumerate(zip(evr, np.cumsum(evr)))]
    report.table(["component", "explained variance ratio", "cumulative"], rows)
    if result.pc1_magnetization is not None:
        c = result.pc1_magnetization
        interval = "" if c["ci_low"] is None else f" (68% bootstrap interval {c['ci_low']:.6f} to {c['ci_high']:.6f})"
        report.text(f"Pearson correlation of the PC1 projection with the magnetization: r = {c['value']:.6f}"
                    f"{interval}; PC1 is oriented along +m.")
    fig = Figure(figsize=(11, 3.6))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.bar(np.arange(1, evr.size + 1), evr, label="ratio")
    ax1.plot(np.arange(1, evr.size + 1), np.cumsum(evr), "k.-", label="cumulative")
    ax1.set(xlabel="component", ylabel="explained variance ratio", ylim=(0, 1.02)), ax1.legend()
    proj = result.projections
    _scatter_coloured(fig, ax2, proj[:, 0], proj[:, 1] if proj.shape[1] > 1 else np.zeros(len(proj)), ds)
    ax2.set(xlabel="PC1", ylabel="PC2", title="projections")
    _add(report, fig, "pca_variance_projections", save_dir)
    fig = Figure(figsize=(11, 3.8))
    ax1, ax2 = fig.subplots(1, 2)
    if result.magnetization is not None:
        _scatter_coloured(fig, ax1, result.magnetization, proj[:, 0], ds)
        ax1.set(xlabel="magnetization per spin m", ylabel="PC1 projection", title="PC1 vs magnetization")
    else:
        ax1.hist(proj[:, 0], bins=50, color="tab:gray")
        ax1.set(xlabel="PC1 projection", ylabel="count", title="PC1 distribution")
    _weights_axes(fig, ax2, result.components[0], ds, "PC1 weights")
    _add(report, fig, "pca_pc1", save_dir)
    return report


def cluster_section(report: Report, result: ClusterResult, ds: Dataset, title: str,
                    save_dir: str | Path | None = None, prefix: str = "kmeans") -> Report:
    """Sizes, per-cluster magnetization/temperature, centroid images and histograms."""
    report.section(title, anchor=prefix)
    summary = result.to_json()
    header = ["cluster", "size"] + (["mean m", "mean |m|"] if "cluster_magnetization" in summary else []) \
        + (["mean T"] if "cluster_mean_temperature" in summary else [])
    rows = []
    for c in range(result.k):
        row: list[Any] = [c, summary["cluster_sizes"][c]]
        for key in ("cluster_magnetization", "cluster_abs_magnetization", "cluster_mean_temperature"):
            if key in summary:
                row.append(summary[key][c] if summary[key][c] is not None else "-")
        rows.append(row)
    report.table(header, rows)
    _centroid_figure(report, result, ds, save_dir, prefix)
    _cluster_hist_figure(report, result, ds, save_dir, prefix)
    return report


def _centroid_figure(report: Report, result: ClusterResult, ds: Dataset, save_dir, prefix: str) -> None:
    k = min(result.k, 8)
    fig = Figure(figsize=(2.8 * k + 1, 2.8))
    axes = np.atleast_1d(fig.subplots(1, k))
    for c, ax in enumerate(axes):
        _weights_axes(fig, ax, result.centroids[c], ds, f"centroid {c}")
    _add(report, fig, f"{prefix}_centroids", save_dir)


def _cluster_hist_figure(report: Report, result: ClusterResult, ds: Dataset, save_dir, prefix: str) -> None:
    """Histograms stacked by cluster: m and T when known, labels when present, else the first features."""
    panels = [(v, lab) for v, lab in ((result.magnetization, "magnetization per spin m"),
                                      (result.temperature, "temperature"),
                                      (ds.labels, "label")) if v is not None]
    if not panels and features.lattice_shape(ds) is None:
        x, names = features.design_matrix(ds), features.feature_labels(ds)
        panels = [(x[:, j].astype(np.float64), names[j]) for j in range(min(3, x.shape[1]))]
    fig = Figure(figsize=(5 * max(len(panels), 1), 3.6))
    axes = np.atleast_1d(fig.subplots(1, max(len(panels), 1)))
    if not panels:
        axes[0].bar(range(result.k), result.sizes())
        axes[0].set(xlabel="cluster", ylabel="size")
    for ax, (values, label) in zip(axes, panels):
        distinct = np.unique(values)
        discrete = label in ("temperature", "label") and distinct.size <= 40
        ax.hist([values[result.labels == c] for c in range(result.k)], bins=_edges(distinct) if discrete else 40,
                stacked=True, label=[f"cluster {c}" for c in range(result.k)])
        ax.set(xlabel=label, ylabel="count"), ax.legend(fontsize=8)
    _add(report, fig, f"{prefix}_histograms", save_dir)


def _edges(distinct: np.ndarray) -> np.ndarray:
    """Bin edges centred on sorted distinct values."""
    if distinct.size == 1:
        return np.array([distinct[0] - 0.5, distinct[0] + 0.5])
    mid = (distinct[1:] + distinct[:-1]) / 2
    return np.concatenate([[2 * distinct[0] - mid[0]], mid, [2 * distinct[-1] - mid[-1]]])


def dendrogram_figure(report: Report, z: np.ndarray, linkage: str, save_dir=None, p: int = 30,
                      k: int | None = None, height: float | None = None) -> None:
    """scipy dendrogram of the linkage matrix ``z`` (the last ``p`` merges when the tree is large),
    coloured below the cut (``height``, or between the merges that leave ``k`` clusters) with the cut drawn."""
    from scipy.cluster import hierarchy

    if height is None and k is not None and 2 <= k <= len(z):
        height = 0.5 * (z[-k, 2] + z[-k + 1, 2])
    truncate = len(z) + 1 > p
    fig = Figure(figsize=(10, 4))
    ax = fig.subplots()
    hierarchy.dendrogram(z, ax=ax, truncate_mode="lastp" if truncate else None, p=p,
                         no_labels=not truncate and len(z) + 1 > 60, color_threshold=height,
                         above_threshold_color="0.4", leaf_rotation=90)
    if height is not None:
        ax.axhline(height, color="k", ls="--", lw=1)
    ax.set(title=f"dendrogram ({linkage} linkage)" + (" — leaves: (size) of merged groups" if truncate else ""),
           ylabel="merge distance")
    _add(report, fig, "hierarchical_dendrogram", save_dir)


def forest_section(report: Report, result: ForestResult, ds: Dataset, save_dir=None) -> Report:
    """Accuracy table, accuracy vs temperature, feature-importance image, bagging-vs-tree variance."""
    report.section("Decision-tree ensembles", anchor="forest")
    if result.protocol.get("critical_region"):
        report.text(f"Critical region: {result.protocol['critical_region']} with Tc = {result.protocol['tc']:.5f}"
                    + ("" if result.protocol["train_on_critical"] else "; it is not used for training."))
    rows = []
    for name, acc in result.accuracy.items():
        row = [name, acc["test"]["value"]]
        row += [acc[k]["value"] if acc.get(k) else "-" for k in ("noncritical", "critical")]
        rows.append(row + [result.oob[name] if result.oob[name] is not None else "-"])
    report.table(["model", "test accuracy", "away from Tc", "critical region", "OOB score"], rows)
    fig = Figure(figsize=(11, 3.8))
    ax1, ax2 = fig.subplots(1, 2)
    _accuracy_vs_t(ax1, result)
    _weights_axes(fig, ax2, result.importances, ds, "random-forest feature importances")
    _add(report, fig, "forest_accuracy_importances", save_dir)
    if result.variance is not None:
        _variance_figure(report, result.variance, save_dir)
    return report


def _accuracy_vs_t(ax, result: ForestResult) -> None:
    if result.per_temperature is None:
        names = list(result.accuracy)
        ax.bar(names, [result.accuracy[n]["test"]["value"] for n in names])
        ax.set(ylabel="test accuracy", ylim=(0, 1.02))
        return
    temps = np.array([float(k) for k in result.per_temperature])
    for name in MODEL_ORDER:
        ax.plot(temps, [result.per_temperature[k][name] for k in result.per_temperature], "o-", label=name, ms=3)
    tc, hw = result.protocol.get("tc"), result.protocol.get("critical_half_width")
    if tc is not None:
        ax.axvline(tc, color="k", ls="--", lw=1, label="Tc")
        ax.axvspan(tc - hw, tc + hw, color="0.85", label="critical region")
    ax.set(xlabel="temperature", ylabel="test accuracy"), ax.legend(fontsize=8)


def _variance_figure(report: Report, variance: dict[str, Any], save_dir) -> None:
    fig = Figure(figsize=(10, 3.4))
    ax1, ax2 = fig.subplots(1, 2)
    names = ["tree", "bagging"]
    ax1.bar(names, [variance[n]["prediction_variance"] for n in names], color=["tab:orange", "tab:blue"])
    ax1.set(ylabel="variance of predicted probability", title=f"over {variance['n_repeats']} training resamples")
    ax2.boxplot([variance[n]["accuracies"] for n in names])
    ax2.set_xticks([1, 2], ["single tree", f"bagging ({variance['n_estimators']} trees)"])
    ax2.set(ylabel="test accuracy")
    _add(report, fig, "forest_bagging_variance", save_dir)
