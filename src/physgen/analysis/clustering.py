"""Clustering of physics configurations: k-means (scikit-learn) and agglomerative clustering (scipy).

k-means minimises the within-cluster sum of squares Σ_k Σ_{i∈C_k} ‖x_i − μ_k‖² (Lloyd's algorithm with
k-means++ seeding, :class:`sklearn.cluster.KMeans`).  Hierarchical clustering merges the two closest
clusters repeatedly; the linkage sets the cluster distance (single: closest pair, complete: farthest
pair, average: mean pair distance, ward: increase of within-cluster variance), see
:func:`scipy.cluster.hierarchy.linkage`.  Its O(N²) memory is why large data sets are first reduced to
at most ``max_points`` points — a random subsample or k-means centroids (the lecture's suggestion; every
sample inherits its centroid's cluster) (Hastie, Tibshirani & Friedman, *Elements of Statistical
Learning*, §14.3; Mehta et al. 2019, Phys. Rep. 810, §X).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.cluster import hierarchy
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances_argmin

from physgen.analysis import features
from physgen.analysis.pca import fit_pca
from physgen.data import Dataset
from physgen.errors import UserError

LINKAGES = ("single", "complete", "average", "ward")


@dataclass
class ClusterResult:
    """Cluster assignment of every sample and per-cluster summaries.

    ``labels`` ``(N,)`` in 0..k−1, ordered by decreasing mean magnetization for spins (else by
    decreasing size); ``centroids`` ``(k, d)`` means of the samples of each cluster in feature space.
    """

    labels: np.ndarray
    centroids: np.ndarray
    magnetization: np.ndarray | None
    temperature: np.ndarray | None
    protocol: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])

    def sizes(self) -> list[int]:
        return [int(v) for v in np.bincount(self.labels, minlength=self.k)]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"k": self.k, "cluster_sizes": self.sizes(), "protocol": self.protocol, **self.extra}
        if self.magnetization is not None:
            m = self.magnetization
            out["cluster_magnetization"] = [_mean(m[self.labels == c]) for c in range(self.k)]
            out["cluster_abs_magnetization"] = [_mean(np.abs(m[self.labels == c])) for c in range(self.k)]
        if self.temperature is not None:
            t = self.temperature
            out["cluster_mean_temperature"] = [_mean(t[self.labels == c]) for c in range(self.k)]
            out["cluster_temperature_counts"] = temperature_counts(self.labels, t, self.k)
        if self.centroids.shape[1] <= 64:
            out["centroids"] = self.centroids.tolist()
        return out


def _mean(v: np.ndarray) -> float | None:
    return float(v.mean()) if v.size else None


def temperature_counts(labels: np.ndarray, temperature: np.ndarray, k: int) -> dict[str, list[int]]:
    """Number of samples of each cluster at each temperature: ``{f"{T:g}": [n_0, …, n_{k−1}]}``."""
    return {f"{t:g}": [int(v) for v in np.bincount(labels[temperature == t], minlength=k)]
            for t in np.unique(temperature)}


def check_k(k: int, n: int, of: str = "samples") -> None:
    """One-line UserError about the parameter ``k`` unless 1 <= k <= n, the number of ``of``."""
    if not 1 <= int(k) <= n:
        raise UserError(f"k = {k} must be between 1 and the number of {of} ({n})", key="k")


def cluster_space(ds: Dataset, on: Literal["raw", "pca"] = "raw", *, n_components: int = 2,
                  standardize: bool = False, seed: int = 0) -> np.ndarray:
    """The points to cluster ``(N, d')``: the flattened samples, or their first ``n_components`` PCA projections."""
    x = features.design_matrix(ds, standardize=standardize)
    if on == "raw":
        return x
    if on == "pca":
        return fit_pca(x, n_components, seed=seed).transform(x).astype(np.float32)
    raise UserError(f"unknown space {on!r}, expected raw or pca", key="on")


def kmeans(x: np.ndarray, k: int, *, seed: int = 0, n_init: int = 10) -> KMeans:
    """``sklearn.cluster.KMeans(k, n_init)`` fitted on ``x`` ``(N, d)`` with k-means++ seeding."""
    check_k(k, len(x))
    return KMeans(n_clusters=int(k), n_init=n_init, random_state=seed).fit(x)


def analyze_kmeans(ds: Dataset, k: int, *, on: Literal["raw", "pca"] = "raw", n_components: int = 2,
                   standardize: bool = False, seed: int = 0, n_init: int = 10) -> ClusterResult:
    """k-means with ``k`` clusters on raw configurations or PCA projections, with physics summaries."""
    check_k(k, len(ds))
    x = cluster_space(ds, on, n_components=n_components, standardize=standardize, seed=seed)
    km = kmeans(x, k, seed=seed, n_init=n_init)
    protocol = {"method": "sklearn.cluster.KMeans", "k": int(k), "on": on, "n_init": int(n_init),
                "init": "k-means++", "standardize": bool(standardize), "seed": int(seed), "n_samples": len(ds)}
    if on == "pca":
        protocol["n_components"] = int(x.shape[1])
    result = _finish(ds, km.labels_, protocol)
    result.extra["inertia"] = float(km.inertia_)
    return result


def analyze_hierarchical(ds: Dataset, linkage: str = "ward", *, k: int | None = None, height: float | None = None,
                         max_points: int = 2000, reduce: Literal["subsample", "kmeans"] = "subsample",
                         on: Literal["raw", "pca"] = "raw", n_components: int = 2, standardize: bool = False,
                         seed: int = 0) -> ClusterResult:
    """Agglomerative clustering (scipy ``linkage``) cut into ``k`` clusters or at ``height``.

    With more than ``max_points`` samples the tree is built on a random subsample (default; the other
    samples go to the cluster of their nearest subsampled point) or on ``max_points`` k-means centroids
    (the lecture's suggestion; each sample inherits the cluster of its centroid).  The centroids enter
    the linkage unweighted, so under strong reduction Ward's cluster sizes are lost: dense ordered
    states collapse into few centroids while scattered disordered samples stay many.  ``result.extra``
    holds the linkage matrix ``Z`` ``(n_points − 1, 4)`` for the dendrogram.
    """
    if linkage not in LINKAGES:
        raise UserError(f"unknown linkage {linkage!r}, expected one of {', '.join(LINKAGES)}", key="linkage")
    features.require_rows(ds, 2, "hierarchical", "a linkage tree")
    if k is not None:
        check_k(k, len(ds))
    x = cluster_space(ds, on, n_components=n_components, standardize=standardize, seed=seed)
    points, assign, how = _reduce(x, max_points, reduce, seed)
    check_k(k or 1, len(points), "points of the reduced tree")
    z = hierarchy.linkage(points.astype(np.float64), method=linkage, metric="euclidean")
    cut = hierarchy.fcluster(z, t=height, criterion="distance") if height is not None else \
        hierarchy.fcluster(z, t=k or 3, criterion="maxclust")
    labels = cut[assign] - 1
    protocol = {"method": "scipy.cluster.hierarchy.linkage", "linkage": linkage, "metric": "euclidean",
                "cut": {"height": height} if height is not None else {"k": int(k or 3)},
                "reduction": how, "tree_points": int(len(points)), "on": on, "standardize": bool(standardize),
                "seed": int(seed), "n_samples": len(ds)}
    result = _finish(ds, labels, protocol)
    result.extra.update({"linkage_matrix": z, "merge_heights_top": [float(h) for h in z[-10:, 2][::-1]]})
    return result


def _reduce(x: np.ndarray, max_points: int, how: str, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Points for the tree ``(n', d)`` and, for every sample, the index of its tree point ``(N,)``."""
    n = len(x)
    if n <= max_points:
        return x, np.arange(n), "none"
    if how == "kmeans":
        km = KMeans(n_clusters=int(max_points), n_init=1, random_state=seed).fit(x)
        return km.cluster_centers_, km.labels_, f"kmeans centroids ({max_points})"
    if how == "subsample":
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(n, size=max_points, replace=False))
        return x[idx], pairwise_distances_argmin(x, x[idx]), f"random subsample ({max_points})"
    raise UserError(f"unknown reduction {how!r}, expected kmeans or subsample", key="reduce")


def _finish(ds: Dataset, labels: np.ndarray, protocol: dict[str, Any]) -> ClusterResult:
    """Relabel clusters in a canonical order and compute centroids in the raw feature space."""
    m = features.magnetization(ds)
    labels = np.asarray(labels, dtype=np.int64)
    k = int(labels.max()) + 1
    x = features.design_matrix(ds)
    centroids = np.stack([x[labels == c].mean(axis=0) if np.any(labels == c) else np.zeros(x.shape[1])
                          for c in range(k)])
    key = (-np.array([m[labels == c].mean() if np.any(labels == c) else -np.inf for c in range(k)])
           if m is not None else -np.bincount(labels, minlength=k).astype(float))
    order = np.argsort(key, kind="stable")
    relabel = np.empty(k, dtype=np.int64)
    relabel[order] = np.arange(k)
    return ClusterResult(relabel[labels], centroids[order].astype(np.float64), m, features.temperature(ds), protocol)
