"""2-D toy distributions for quick model checks, sampled with an explicit ``np.random.Generator``.

========  =====================================================================  ==========  ===========
name      distribution                                                           noise       density
========  =====================================================================  ==========  ===========
ring      8 isotropic Gaussians (std = noise) evenly on a circle of radius 2     0.1         analytic
grid      25 isotropic Gaussians (std = noise) on the grid {-2,...,2}^2          0.05        analytic
checker-  uniform on the 8 unit squares of [-2, 2)^2 with floor(x)+floor(y)     (none)      analytic
board     even (the FFJORD checkerboard, Grathwohl et al. 2019)
moons     scikit-learn's two moons (:func:`sklearn.datasets.make_moons`)         0.1         none
spiral    two interleaved arms r = t/pi, angle t (+pi), t = 3 pi sqrt(U),        0.1         none
          plus Gaussian noise of std = noise
========  =====================================================================  ==========  ===========

The ring and grid follow the mixtures of Metz et al. 2017 (unrolled GANs) and Srivastava et al. 2017
(VEEGAN).  :func:`toy_log_density` gives the exact normalised log-density of the analytic ones, for NumPy
arrays or (differentiably) for torch tensors, so samplers (MALA) and energy models can be tested exactly.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from physgen.data.io import Dataset
from physgen.errors import UserError

TOYS = ("ring", "moons", "checkerboard", "spiral", "grid")
ANALYTIC = ("ring", "grid", "checkerboard")
DEFAULT_NOISE = {"ring": 0.1, "grid": 0.05, "checkerboard": None, "moons": 0.1, "spiral": 0.1}
RING_MODES, RING_RADIUS = 8, 2.0
GRID_SIDE = 5  # modes at -2, -1, 0, 1, 2 on each axis
CHECKER_SQUARES = np.array([(i, j) for i in range(-2, 2) for j in range(-2, 2) if (i + j) % 2 == 0], float)


def check_toy(name: str, noise: float | None = None) -> float | None:
    """Validate ``name`` and ``noise``; return the noise to use (the toy's default when None)."""
    if name not in TOYS:
        raise UserError(f"toy NAME: unknown toy {name!r}, expected one of {', '.join(TOYS)}")
    if noise is None:
        return DEFAULT_NOISE[name]
    if name == "checkerboard":
        raise UserError("toy 'checkerboard' is uniform on its squares and takes no noise", key="noise")
    if not math.isfinite(noise) or noise < 0 or (noise == 0 and name in ("ring", "grid")):
        need = "> 0" if name in ("ring", "grid") else ">= 0"
        raise UserError(f"{noise} must be finite and {need} for toy {name!r}", key="noise")
    return float(noise)


def toy_centers(name: str) -> np.ndarray:
    """Mode centres ``(K, 2)`` of the Gaussian mixtures ``ring`` (K = 8) and ``grid`` (K = 25)."""
    if name == "ring":
        angle = 2 * np.pi * np.arange(RING_MODES) / RING_MODES
        return RING_RADIUS * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    if name == "grid":
        axis = np.arange(GRID_SIDE, dtype=float) - (GRID_SIDE - 1) / 2
        return np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    raise UserError(f"toy {name!r} is not a Gaussian mixture (only ring and grid have centres)")


def sample_toy(name: str, n: int, *, rng: np.random.Generator, noise: float | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` points: ``(x, labels)`` with ``x`` float64 ``(n, 2)`` and ``labels`` int64 ``(n,)``.

    Labels are the mixture component (ring, grid), the square (checkerboard), the moon or the arm.
    """
    noise = check_toy(name, noise)
    if int(n) != n or n < 1:
        raise UserError(f"number of samples must be >= 1 (got {n})", key="n")
    n = int(n)
    if name in ("ring", "grid"):
        centers = toy_centers(name)
        labels = rng.integers(0, len(centers), size=n)
        return centers[labels] + noise * rng.standard_normal((n, 2)), labels.astype(np.int64)
    if name == "checkerboard":
        labels = rng.integers(0, len(CHECKER_SQUARES), size=n)
        return CHECKER_SQUARES[labels] + rng.random((n, 2)), labels.astype(np.int64)
    if name == "moons":
        from sklearn.datasets import make_moons

        x, labels = make_moons(n_samples=n, noise=noise, random_state=int(rng.integers(2**31 - 1)))
        return x.astype(np.float64), labels.astype(np.int64)
    return _spiral(n, noise, rng)


def _spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, 2, size=n)
    t = 3 * np.pi * np.sqrt(rng.random(n))
    angle = t + np.pi * labels
    x = (t / np.pi)[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return x + noise * rng.standard_normal((n, 2)), labels.astype(np.int64)


def make_toy(name: str, n: int, *, seed: int = 0, noise: float | None = None) -> Dataset:
    """A continuous float32 ``(n, 2)`` Dataset of toy ``name`` with labels; ``seed`` seeds a PCG64 rng."""
    noise = check_toy(name, noise)
    x, labels = sample_toy(name, n, rng=np.random.default_rng(seed), noise=noise)
    attrs = {"source": f"physgen toy {name}", "toy": name, "seed": int(seed), "noise": noise,
             "feature_names": ["x0", "x1"], "analytic_density": name in ANALYTIC}
    return Dataset(x.astype(np.float32), "continuous", labels=labels, attrs=attrs).validate(f"toy {name}")


def toy_log_density(name: str, x: Any, *, noise: float | None = None) -> Any:
    """Exact normalised log-density ``log p(x)`` of toy ``name`` at points ``x`` ``(N, 2)`` -> ``(N,)``.

    Mixtures (ring, grid): ``log p(x) = logsumexp_k(-|x - mu_k|^2 / (2 s^2)) - log K - log(2 pi s^2)``.
    Checkerboard: ``-log 8`` on the filled squares, ``-inf`` elsewhere.  ``x`` may be a NumPy array
    (float64 result) or a torch tensor (same device and dtype, differentiable for the mixtures).
    """
    noise = check_toy(name, noise)
    if name not in ANALYTIC:
        raise UserError(f"toy {name!r} has no analytic density (analytic: {', '.join(ANALYTIC)})")
    is_torch = type(x).__module__.startswith("torch")
    if not is_torch:
        x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise UserError(f"toy_log_density: points must have shape (N, 2), got {tuple(x.shape)}")
    if name == "checkerboard":
        return _checker_log_density(x, is_torch)
    return _mixture_log_density(x, toy_centers(name), noise, is_torch)


def _mixture_log_density(x: Any, centers: np.ndarray, s: float, is_torch: bool) -> Any:
    const = -math.log(len(centers)) - math.log(2 * math.pi * s * s)
    if is_torch:
        import torch

        mu = torch.as_tensor(centers, dtype=x.dtype, device=x.device)
        d2 = ((x[:, None, :] - mu[None]) ** 2).sum(-1)  # (N, K)
        return torch.logsumexp(-d2 / (2 * s * s), dim=1) + const
    from scipy.special import logsumexp

    d2 = ((x[:, None, :] - centers[None]) ** 2).sum(-1)  # (N, K)
    return logsumexp(-d2 / (2 * s * s), axis=1) + const


def _checker_log_density(x: Any, is_torch: bool) -> Any:
    lib = __import__("torch") if is_torch else np
    cell = lib.floor(x)
    inside = ((x >= -2) & (x < 2)).all(1) & ((cell[:, 0] + cell[:, 1]) % 2 == 0)
    value = lib.full_like(x[:, 0], -math.log(len(CHECKER_SQUARES)))
    return lib.where(inside, value, lib.full_like(value, -math.inf))


MIXTURE_1D = ((-1.0, 0.25, 0.4), (1.5, 0.3, 0.6))  # (mean, std, weight) of the default 1-D mixture


def mixture_1d(n: int, *, seed: int = 0, modes=MIXTURE_1D) -> Dataset:
    """``n`` draws ``(n, 1)`` float32 from the 1-D Gaussian mixture Σ_k w_k N(μ_k, σ_k²) with ``modes`` =
    ``((μ, σ, w), ...)`` (weights summing to 1); ``labels`` are the mode indices."""
    mean, std, weight = (np.array(c, dtype=np.float64) for c in zip(*modes))
    if np.any(std <= 0) or np.any(weight < 0) or not np.isclose(weight.sum(), 1.0):
        raise UserError("modes: each mode is (mean, std > 0, weight >= 0) and the weights sum to 1")
    rng = np.random.default_rng(seed)
    k = rng.choice(len(weight), size=n, p=weight / weight.sum())
    x = (mean[k] + std[k] * rng.standard_normal(n)).astype(np.float32)[:, None]
    return Dataset(x, "continuous", labels=k.astype(np.int64),
                   attrs={"feature_names": ["x"], "source": "1-D Gaussian mixture", "modes": [list(m) for m in modes]})


def mixture_1d_log_density(x: np.ndarray, modes=MIXTURE_1D) -> np.ndarray:
    """Exact log-density of :func:`mixture_1d` at ``x`` (any shape)."""
    from scipy.special import logsumexp
    from scipy.stats import norm

    x = np.asarray(x, dtype=np.float64)[..., None]
    mean, std, weight = (np.array(c, dtype=np.float64) for c in zip(*modes))
    return logsumexp(norm.logpdf(x, mean, std) + np.log(weight), axis=-1)
