"""Multiple-histogram (Ferrenberg–Swendsen) reweighting of Boltzmann samples to other temperatures.

Samples ``x_i`` drawn at inverse temperatures ``β_k`` (``n_k`` of them at each) from ``p_k(x) = e^{−β_k E(x)}/Z_k``
pool into one sample of the mixture ``Σ_k (n_k/N) p_k``.  Weighting sample ``i`` by

    w_i(β) = e^{−β E_i} / Σ_k n_k e^{−β_k E_i − f_k},        f_k = log Z_k,

gives the Boltzmann ensemble at any ``β`` (self-normalised: ``⟨A⟩_β ≈ Σ_i w_i A_i / Σ_i w_i``), where the
``f_k`` solve the self-consistent equations ``f_k = log Σ_i w_i(β_k)`` (Ferrenberg & Swendsen 1989, PRL 63,
1195; the same estimator as MBAR, Shirts & Chodera 2008).  Only the energies are needed: the model's
Hamiltonian is known, so ensembles between the simulated temperatures follow from physics, not from fitting.
Reliable where the ensembles overlap; :func:`effective_sample_size` measures it.
"""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp


def free_energies(energies: np.ndarray, betas: np.ndarray, *, tol: float = 1e-10, max_iter: int = 100_000
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``(β_k (K,), f_k (K,))``: the distinct inverse temperatures of the samples and their ``log Z_k``
    (up to one common constant; ``f_0 = 0``) from total energies ``E_i (N,)`` and each sample's ``β`` ``(N,)``."""
    E, b = np.asarray(energies, np.float64), np.asarray(betas, np.float64)
    levels, counts = np.unique(b, return_counts=True)
    f = np.zeros(len(levels))
    for _ in range(max_iter):
        new = logsumexp(-np.outer(E, levels) - _log_mixture(E, levels, counts, f)[:, None], axis=0)
        new -= new[0]
        if np.max(np.abs(new - f)) < tol:
            return levels, new
        f = new
    raise RuntimeError(f"Ferrenberg-Swendsen iteration did not converge in {max_iter} steps "
                       "(temperatures without overlapping energy histograms?)")


def log_weights(energies: np.ndarray, betas: np.ndarray, beta: float,
                fit: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """``(N,)`` normalised log-weights ``log(w_i/Σw)`` of the pooled samples for the ensemble at ``beta``
    (``fit``: :func:`free_energies` of the same samples, computed when omitted)."""
    E = np.asarray(energies, np.float64)
    levels, f = free_energies(E, betas) if fit is None else fit
    counts = np.array([np.sum(np.asarray(betas) == lv) for lv in levels])
    lw = -beta * E - _log_mixture(E, levels, counts, f)
    return lw - logsumexp(lw)


def effective_sample_size(log_w: np.ndarray) -> float:
    """Kish's effective sample size ``(Σw)²/Σw²`` of (log-)weights."""
    return float(np.exp(2 * logsumexp(log_w) - logsumexp(2 * log_w)))


def _log_mixture(E: np.ndarray, levels: np.ndarray, counts: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``log Σ_k n_k e^{−β_k E_i − f_k}`` ``(N,)``: the pooled sample's (unnormalised) density."""
    return logsumexp(-np.outer(E, levels) - f + np.log(counts), axis=1)
