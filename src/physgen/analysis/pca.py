"""Principal component analysis of physics configurations (a wrapper of ``sklearn.decomposition.PCA``).

For the 2D Ising model across temperatures the first principal component is (up to sign) the uniform
vector w ≈ (1, …, 1)/√N_s, so the PC1 projection is √N_s (m − ⟨m⟩): PCA discovers the order
parameter without being told (Wang 2016, Phys. Rev. B 94, 195105; Mehta et al. 2019, Phys. Rep. 810,
§XII, the 40×40 data set at T = 0.25 … 4.00 where PC1 carries ≈ 52% of the variance).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.decomposition import PCA

from physgen.analysis import features
from physgen.data import Dataset


@dataclass
class PCAResult:
    """Fitted PCA of a dataset.

    ``explained_variance_ratio`` ``(k,)``; ``components`` ``(k, d)`` unit rows; ``projections`` ``(N, k)``
    = (x − mean) @ components.T; ``magnetization``/``temperature`` ``(N,)`` or None; ``pc1_magnetization``
    the Pearson correlation of PC1 with m (None without spins) and its bootstrap interval.
    """

    explained_variance_ratio: np.ndarray
    components: np.ndarray
    mean: np.ndarray
    projections: np.ndarray
    magnetization: np.ndarray | None
    temperature: np.ndarray | None
    pc1_magnetization: dict[str, Any] | None
    protocol: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "explained_variance_ratio": [float(v) for v in self.explained_variance_ratio],
            "cumulative_explained_variance": [float(v) for v in np.cumsum(self.explained_variance_ratio)],
            "protocol": self.protocol,
        }
        if self.pc1_magnetization is not None:
            out["pc1_magnetization_correlation"] = self.pc1_magnetization["value"]
            out["pc1_magnetization_correlation_interval"] = self.pc1_magnetization
        if self.temperature is not None:
            out["pc1_mean_abs_by_temperature"] = _by_temperature(np.abs(self.projections[:, 0]), self.temperature)
        return out


def fit_pca(x: np.ndarray, n_components: int, *, seed: int = 0) -> PCA:
    """``PCA(n_components)`` fitted on ``x`` ``(N, d)``; ``n_components`` is clipped to min(N, d)."""
    k = int(max(1, min(n_components, x.shape[0], x.shape[1])))
    return PCA(n_components=k, random_state=seed).fit(x)


def analyze_pca(ds: Dataset, *, n_components: int = 10, standardize: bool = False, seed: int = 0,
                n_boot: int = 200) -> PCAResult:
    """PCA of ``ds`` with explained-variance ratios, projections and, for spins, corr(PC1, m).

    A component's sign is arbitrary; for spins PC1 is oriented so that r = Pearson(PC1 projection, m)
    ≥ 0, and r → 1 when PC1 is the magnetization direction.  Its interval is a paired bootstrap over
    samples (:func:`physgen.stats.bootstrap`, 68% level, ``n_boot`` resamples).
    """
    features.require_rows(ds, 2, "pca", "PCA")
    x = features.design_matrix(ds, standardize=standardize)
    pca = fit_pca(x, n_components, seed=seed)
    proj = pca.transform(x)
    m = features.magnetization(ds)
    if m is not None and pearson(proj[:, 0], m) < 0:
        pca.components_[0] *= -1
        proj[:, 0] *= -1
    corr = None if m is None else correlation_with_interval(proj[:, 0], m, n_boot=n_boot, seed=seed)
    protocol = {"method": "sklearn.decomposition.PCA", "n_components": int(pca.n_components_),
                "standardize": bool(standardize), "n_samples": len(ds), "n_features": int(x.shape[1]),
                "correlation": "Pearson r of PC1 projection with magnetization per spin",
                "bootstrap_resamples": int(n_boot), "interval_level": 0.68, "seed": int(seed)}
    return PCAResult(pca.explained_variance_ratio_.astype(np.float64), pca.components_.astype(np.float64),
                     pca.mean_.astype(np.float64), proj.astype(np.float64), m,
                     features.temperature(ds), corr, protocol)


def correlation_with_interval(a: np.ndarray, b: np.ndarray, *, n_boot: int = 200, seed: int = 0
                              ) -> dict[str, Any]:
    """Pearson r of ``a`` and ``b`` ``(N,)`` with a paired bootstrap error and 68% interval.

    Pairs (a_i, b_i) are resampled together (one two-column sample) by :func:`physgen.stats.bootstrap`.
    """
    from physgen.stats import bootstrap

    pairs = np.column_stack([np.asarray(a, np.float64), np.asarray(b, np.float64)])
    return bootstrap(lambda p: pearson(p[:, 0], p[:, 1]), pairs, n_boot=n_boot, level=0.68, rng=seed).to_json()


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation ``cov(a, b) / (σ_a σ_b)``; 0.0 when either input is constant."""
    a = np.asarray(a, dtype=np.float64) - np.mean(a)
    b = np.asarray(b, dtype=np.float64) - np.mean(b)
    denom = np.sqrt(np.sum(a * a) * np.sum(b * b))
    return float(np.sum(a * b) / denom) if denom > 0 else 0.0


def _by_temperature(values: np.ndarray, temperature: np.ndarray) -> dict[str, float]:
    """Mean of ``values`` per distinct temperature, keyed by ``f"{T:g}"``."""
    return {f"{t:g}": float(values[temperature == t].mean()) for t in np.unique(temperature)}
