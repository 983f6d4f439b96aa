"""Wasserstein-1 distances: per feature (scipy) and sliced, for the joint distribution.

Per feature, ``W1(P, Q) = ∫ |F_P(t) − F_Q(t)| dt`` (:func:`scipy.stats.wasserstein_distance`); for two
samples of equal size N it equals ``(1/N) Σ_i |x_(i) − y_(i)|`` on the sorted samples, which
:func:`w1_equal_size` evaluates for all features at once (used inside bootstraps).
Kansal et al. 2023 (arXiv:2211.10295) recommend W1 of individual physics features with bootstrap errors.

Sliced W1 (Bonneel et al. 2015, J. Math. Imaging Vis. 51:22): the mean of the 1-D W1 of projections on
``n_projections`` random unit directions θ ~ uniform on S^{d−1}, ``SW1 = E_θ W1(θ·X, θ·Y)``; zero iff
the distributions agree.
"""
from __future__ import annotations

import numpy as np

from physgen.errors import UserError


def _pair(real, fake) -> tuple[np.ndarray, np.ndarray]:
    real = np.asarray(real, dtype=np.float64)
    fake = np.asarray(fake, dtype=np.float64)
    real, fake = real.reshape(len(real), -1), fake.reshape(len(fake), -1)
    if real.shape[1] != fake.shape[1]:
        raise UserError(f"samples have different numbers of features ({real.shape[1]} and {fake.shape[1]})")
    if len(real) < 1 or len(fake) < 1:
        raise UserError("Wasserstein distance needs at least one sample on each side")
    return real, fake


def wasserstein(real, fake) -> np.ndarray:
    """Per-feature W1 ``(d,)`` between samples ``(N, d)`` and ``(M, d)`` (any N, M), via scipy."""
    import scipy.stats  # imported where used: commands that never call this skip loading scipy.stats

    real, fake = _pair(real, fake)
    return np.array([scipy.stats.wasserstein_distance(real[:, j], fake[:, j]) for j in range(real.shape[1])])


def w1_equal_size(real, fake) -> np.ndarray:
    """Per-feature W1 ``(d,)`` for equal-size samples ``(N, d)``: mean |sorted difference| (vectorised)."""
    real, fake = _pair(real, fake)
    if len(real) != len(fake):
        raise UserError(f"w1_equal_size needs equal sample sizes, got {len(real)} and {len(fake)}")
    return np.abs(np.sort(real, axis=0) - np.sort(fake, axis=0)).mean(axis=0)


def random_directions(d: int, n_projections: int = 128, rng: int | np.random.Generator = 0) -> np.ndarray:
    """``(d, n_projections)`` unit vectors, uniform on the sphere (normalised Gaussians)."""
    theta = np.random.default_rng(rng).standard_normal((d, n_projections))
    return theta / np.linalg.norm(theta, axis=0, keepdims=True)


def sliced_wasserstein(real, fake, *, n_projections: int = 128, rng: int | np.random.Generator = 0,
                       directions: np.ndarray | None = None) -> float:
    """Sliced W1 between ``(N, d)`` and ``(M, d)`` samples; ``directions (d, P)`` overrides the random ones."""
    real, fake = _pair(real, fake)
    theta = directions if directions is not None else random_directions(real.shape[1], n_projections, rng)
    pr, pf = real @ theta, fake @ theta
    if len(pr) == len(pf):
        return float(w1_equal_size(pr, pf).mean())
    return float(wasserstein(pr, pf).mean())
