"""Autocorrelation times and Monte Carlo errors of Markov-chain time series.

Convention (Sokal 1997, "Monte Carlo methods in statistical mechanics", §3; Madras & Sokal 1988):

    ρ(t)    = C(t) / C(0),   C(t) = ⟨(x_s − x̄)(x_{s+t} − x̄)⟩
    τ_int   = 1/2 + Σ_{t=1}^{M} ρ(t),   M = smallest window with M ≥ c · τ_int(M)
    Var(x̄) ≈ 2 τ_int σ² / N,    ESS = N / (2 τ_int)

so independent samples have τ_int = 1/2, and samples thinned by 2 τ_int are nearly independent.
"""
from __future__ import annotations

import math

import numpy as np

from physgen.stats.bootstrap import Estimate


def _as_chains(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"expected a series (T,) or chains (C, T), got shape {x.shape}")
    return x


def autocorrelation(x: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation ρ(t), t = 0..T-1, averaged over chains.

    ``x``: ``(T,)`` or ``(C, T)``; each chain is centred on its own mean; FFT with zero padding.
    Returns ``(T,)`` with ρ(0) = 1 (all zeros but ρ(0) for a constant series).
    """
    x = _as_chains(x)
    n = x.shape[1]
    centred = x - x.mean(axis=1, keepdims=True)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(centred, n=size, axis=1)
    acov = np.fft.irfft(f * np.conj(f), n=size, axis=1)[:, :n].mean(axis=0)
    if acov[0] <= 0:
        rho = np.zeros(n)
        rho[0] = 1.0
        return rho
    return acov / acov[0]


def integrated_autocorrelation_time(x: np.ndarray, c: float = 5.0) -> float:
    """τ_int with Sokal's automatic window (see module docstring); ``x`` is ``(T,)`` or ``(C, T)``.

    Returns 0.5 for uncorrelated data.  When the window reaches the end of a short series the
    estimate is a lower bound (the series is too short to measure τ).
    """
    rho = autocorrelation(x)
    tau = 0.5 + np.cumsum(rho[1:])  # tau[M-1] = τ_int with window M
    windows = np.arange(1, len(rho))
    ok = windows >= c * tau
    m = int(np.argmax(ok)) if ok.any() else len(tau) - 1
    return float(max(tau[m], 0.5)) if len(tau) else 0.5


def effective_sample_size(x: np.ndarray, c: float = 5.0) -> float:
    """N / (2 τ_int) over all chains of ``x`` (``(T,)`` or ``(C, T)``)."""
    chains = _as_chains(x)
    return chains.size / (2.0 * integrated_autocorrelation_time(chains, c))


def mean_with_error(x: np.ndarray, tau: float | None = None) -> Estimate:
    """Mean of a correlated series with error σ·sqrt(2 τ_int / N); τ measured when not given."""
    chains = _as_chains(x)
    tau = integrated_autocorrelation_time(chains) if tau is None else float(tau)
    n = chains.size
    value = float(chains.mean())
    error = float(chains.std(ddof=1) * math.sqrt(2.0 * tau / n)) if n > 1 else math.nan
    return Estimate(value, error, value - error, value + error, 0.68, 0)


def _lag_one(tau: float) -> float:
    """Lag-1 autocorrelation r of the exponential model ρ(t) = r^t with integrated time ``tau`` (0 for τ ≤ ½)."""
    tau = float(tau)
    if not math.isfinite(tau) or tau < 0:
        raise ValueError(f"tau: must be a finite number >= 0, got {tau!r}")
    return 0.0 if tau <= 0.5 else (2.0 * tau - 1.0) / (2.0 * tau + 1.0)


def thinned_tau(tau: float, thin: float) -> float:
    """τ_int in stored samples of a series kept every ``thin`` steps, from its τ_int ``tau`` in steps.

    Single-mode (exponential) model ρ(t) = r^t, for which τ_int = ½ (1 + r)/(1 − r), so
    r = (2τ − 1)/(2τ + 1) per step and r^thin per stored sample (Sokal 1997 §3, τ_int of one exponential
    mode).  ``thin = 1`` returns ``tau``; independent data (τ ≤ ½) gives ½.
    """
    if not (math.isfinite(float(thin)) and thin >= 1):
        raise ValueError(f"thin: must be a number >= 1, got {thin!r}")
    r = _lag_one(tau) ** float(thin)
    return 0.5 * (1.0 + r) / (1.0 - r) if r < 1.0 else math.inf


def sum_variance(lengths, tau: float) -> np.ndarray:
    """Var(Σ_{i<ℓ} x_i)/σ² of ℓ consecutive values of a stationary series with τ_int ``tau``, per length.

    Exponential model ρ(k) = r^k (see :func:`thinned_tau`):
    v(ℓ) = ℓ + 2 Σ_{k=1}^{ℓ−1} (ℓ − k) r^k = ℓ + 2 r (ℓ (1 − r) − (1 − r^ℓ)) / (1 − r)²,
    which tends to 2 τ_int ℓ for ℓ ≫ τ and equals ℓ for independent values.  ``lengths``: any shape of
    integers ≥ 0; returns float64 of the same shape.
    """
    length = np.asarray(lengths, dtype=np.float64)
    r = _lag_one(tau)
    if r == 0.0:
        return length.copy()
    return length + 2.0 * r * (length * (1.0 - r) - (1.0 - r ** length)) / (1.0 - r) ** 2
