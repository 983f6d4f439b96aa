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
