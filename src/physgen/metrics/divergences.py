"""Kullback–Leibler and Jensen–Shannon divergences, in nats.

Exact, for discrete distributions given as probability vectors::

    KL(p‖q) = Σ_i p_i ln(p_i / q_i)                     (terms with p_i = 0 contribute 0)
    JS(p, q) = ½ KL(p‖m) + ½ KL(q‖m),   m = (p + q)/2   (0 ≤ JS ≤ ln 2, symmetric)

From samples, via histograms (Cover & Thomas, *Elements of Information Theory*, ch. 2):

* **Binning.**  Edges are shared and come from the *real* sample only: ``bins`` equal-width bins
  spanning [min, max] of the real feature (:func:`numpy.histogram_bin_edges`).  Two extra bins,
  underflow (< first edge) and overflow (> last edge), catch generated values outside the real range,
  so that mass put where the real data have none is penalised instead of dropped.
* **Empty bins.**  Every one of the ``bins + 2`` bins receives a pseudo-count ``alpha`` (default ½, the
  Krichevsky–Trofimov / Jeffreys prior) in *both* histograms before normalising:
  ``p_i = (n_i + α)/(N + Bα)``.  All probabilities are then positive, so KL and JS are always finite
  (never inf/NaN).  The pseudo-count biases KL of two identical distributions by O(B/N), the same order
  as the sampling bias ≈ (B−1)/2 (1/N₁ + 1/N₂) of plug-in estimates (which is why the real-vs-real
  floor is reported beside every value).
* **Discrete features** (spin energies, magnetizations, binary pixels): categories are the union of the
  distinct values seen in either sample (:func:`discrete_divergences`), with the same pseudo-count.

KL is ``KL(real ‖ fake)``: the expected log-likelihood ratio under the real data.
"""
from __future__ import annotations

import itertools

import numpy as np

from physgen.errors import UserError

ALPHA = 0.5
"""Default pseudo-count added to every bin of both histograms (Krichevsky–Trofimov)."""


def _check_probabilities(p: np.ndarray, name: str) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise UserError(f"{name}: expected a non-empty 1-D probability vector, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or abs(p.sum() - 1.0) > 1e-6:
        raise UserError(f"{name}: not a probability vector (entries must be finite, >= 0 and sum to 1)")
    return p


def kl_exact(p: np.ndarray, q: np.ndarray) -> float:
    """Exact KL(p‖q) in nats for probability vectors ``p, q`` of shape ``(K,)``.

    Returns ``inf`` when q puts zero probability where p does not (the mathematically exact value);
    the histogram estimators below never do, thanks to their pseudo-counts.
    """
    p, q = _check_probabilities(p, "p"), _check_probabilities(q, "q")
    if p.shape != q.shape:
        raise UserError(f"p and q have different lengths ({p.size} and {q.size})")
    support = p > 0
    if np.any(q[support] == 0):
        return float("inf")
    return float(np.sum(p[support] * np.log(p[support] / q[support])))


def js_exact(p: np.ndarray, q: np.ndarray) -> float:
    """Exact Jensen–Shannon divergence in nats, ``0 <= JS <= ln 2`` (Lin 1991, IEEE Trans. IT 37:145)."""
    p, q = _check_probabilities(p, "p"), _check_probabilities(q, "q")
    if p.shape != q.shape:
        raise UserError(f"p and q have different lengths ({p.size} and {q.size})")
    m = 0.5 * (p + q)
    return 0.5 * kl_exact(p, m) + 0.5 * kl_exact(q, m)


def smoothed(counts: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Counts ``(..., B)`` -> probabilities ``(n_i + α)/(N + Bα)`` along the last axis."""
    counts = np.asarray(counts, dtype=np.float64) + alpha
    return counts / counts.sum(axis=-1, keepdims=True)


def kl_js_from_counts(cp: np.ndarray, cq: np.ndarray, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """KL(p‖q) and JS(p, q) from histogram counts ``(..., B)`` (last axis = bins), pseudo-count ``alpha``.

    With ``alpha > 0`` both are finite; ``alpha = 0`` gives the plug-in values (KL may be inf/NaN).
    """
    p, q = smoothed(cp, alpha), smoothed(cq, alpha)
    m = 0.5 * (p + q)
    kl = np.sum(p * np.log(p / q), axis=-1)
    js = 0.5 * np.sum(p * np.log(p / m), axis=-1) + 0.5 * np.sum(q * np.log(q / m), axis=-1)
    return np.maximum(kl, 0.0), np.clip(js, 0.0, np.log(2.0))


def histogram_edges(real: np.ndarray, bins: int = 50) -> list[np.ndarray]:
    """Per-feature edges ``(bins + 1,)`` spanning [min, max] of each column of ``real (N, d)``."""
    real = np.asarray(real, dtype=np.float64)
    edges = []
    for col in real.T:
        lo, hi = float(col.min()), float(col.max())
        if lo == hi:  # constant feature: one unit-wide range around the value
            lo, hi = lo - 0.5, hi + 0.5
        edges.append(np.linspace(lo, hi, bins + 1))
    return edges


def bin_index(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each value of ``x (N,)``: 0 underflow, 1..B regular (last edge inclusive), B+1 overflow."""
    x = np.asarray(x, dtype=np.float64)
    idx = np.searchsorted(edges, x, side="right")
    idx[x == edges[-1]] = len(edges) - 1
    return idx


def feature_bins(x: np.ndarray, edges: list[np.ndarray]) -> np.ndarray:
    """Bin indices ``(N, d)`` of every feature of ``x (N, d)`` (see :func:`bin_index`)."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return np.stack([bin_index(x[:, j], e) for j, e in enumerate(edges)], axis=1)


def binned_counts(idx: np.ndarray, n_bins: int) -> np.ndarray:
    """Histograms ``(d, n_bins)`` of integer bin indices ``(N, d)``: one ``bincount`` for all features."""
    n, d = idx.shape
    flat = (idx + n_bins * np.arange(d)[None, :]).ravel()
    return np.bincount(flat, minlength=n_bins * d).reshape(d, n_bins)


def kl_divergence(real: np.ndarray, fake: np.ndarray, *, bins: int = 50, alpha: float = ALPHA) -> np.ndarray:
    """Per-feature histogram KL(real‖fake) in nats, shape ``(d,)``, for samples ``(N, d)`` and ``(M, d)``."""
    return _per_feature(real, fake, bins, alpha)[0]


def js_divergence(real: np.ndarray, fake: np.ndarray, *, bins: int = 50, alpha: float = ALPHA) -> np.ndarray:
    """Per-feature histogram JS(real, fake) in nats, shape ``(d,)``; symmetric given the edges, <= ln 2."""
    return _per_feature(real, fake, bins, alpha)[1]


def _per_feature(real, fake, bins, alpha):
    real, fake = _as_2d(real, "real"), _as_2d(fake, "fake")
    edges = histogram_edges(real, bins)
    cr = binned_counts(feature_bins(real, edges), bins + 2)
    cf = binned_counts(feature_bins(fake, edges), bins + 2)
    return kl_js_from_counts(cr, cf, alpha)


def pair_bins(idx: np.ndarray, pairs: list[tuple[int, int]], n_bins: int) -> np.ndarray:
    """Joint bin index ``(N, n_pairs)`` of feature pairs from per-feature indices ``(N, d)``."""
    return np.stack([idx[:, i] * n_bins + idx[:, j] for i, j in pairs], axis=1)


def feature_pairs(d: int, max_features: int = 8) -> list[tuple[int, int]]:
    """All pairs (i < j) among the first ``max_features`` features."""
    return list(itertools.combinations(range(min(d, max_features)), 2))


def pair_divergences(real: np.ndarray, fake: np.ndarray, *, bins: int = 20, alpha: float = ALPHA,
                     max_features: int = 8) -> dict[tuple[int, int], tuple[float, float]]:
    """2-D histogram (KL, JS) for every feature pair, on a ``(bins+2)²`` grid with shared real edges."""
    real, fake = _as_2d(real, "real"), _as_2d(fake, "fake")
    pairs = feature_pairs(real.shape[1], max_features)
    if not pairs:
        return {}
    edges = histogram_edges(real, bins)
    nb = bins + 2
    cr = binned_counts(pair_bins(feature_bins(real, edges), pairs, nb), nb * nb)
    cf = binned_counts(pair_bins(feature_bins(fake, edges), pairs, nb), nb * nb)
    kl, js = kl_js_from_counts(cr, cf, alpha)
    return {pair: (float(k), float(j)) for pair, k, j in zip(pairs, kl, js)}


def discrete_divergences(real: np.ndarray, fake: np.ndarray, *, alpha: float = ALPHA,
                         decimals: int = 9) -> tuple[float, float]:
    """(KL, JS) of two samples ``(N,)``, ``(M,)`` of a discrete quantity (e.g. energy per spin).

    Categories are the union of distinct values (rounded to ``decimals`` to merge float noise);
    each gets the pseudo-count ``alpha`` in both histograms.
    """
    r = np.round(np.asarray(real, dtype=np.float64), decimals)
    f = np.round(np.asarray(fake, dtype=np.float64), decimals)
    values = np.union1d(r, f)
    cr = np.bincount(np.searchsorted(values, r), minlength=values.size)
    cf = np.bincount(np.searchsorted(values, f), minlength=values.size)
    kl, js = kl_js_from_counts(cr, cf, alpha)
    return float(kl), float(js)


def _as_2d(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 1:
        raise UserError(f"{name}: expected samples of shape (N, d) with N >= 1, got {x.shape}")
    return x
