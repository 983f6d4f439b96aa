"""Local energies and the statistics of one sample: energy, blocking error, variance and V-score.

E_L(s) = Σ_k H_ss'_k ψ(s'_k)/ψ(s) over the Hamiltonian's connected configurations.  The energy is the mean
of Re E_L over all samples; its error is the blocking error (:func:`physgen.stats.blocking.blocking`;
Flyvbjerg & Petersen 1989) of the series of per-sweep means over the walkers.  Blocking underestimates the
error of short series; ``walker_error``, the spread of the B independent walkers' time averages over √B, is
a second estimate that stays right for them (as in :mod:`physgen.vmc.estimators`).  The V-score of Wu et al.,
Science 386, 296 (2024) (arXiv:2302.04919), VarBench's figure of merit, is

    V = N Var(E_L) / (E − E_∞)²,

N the number of sites and E_∞ = Tr H / dim H the infinite-temperature energy (0 for the models here); an
eigenstate has V = 0.
"""
from __future__ import annotations

import numpy as np

from physgen.stats.blocking import blocking

CHUNK = 1 << 21  # connected configurations' entries (K·N per sample) evaluated at once


def local_energy(ansatz, hamiltonian, s: np.ndarray) -> np.ndarray:
    """``E_L`` of configurations ``s (S, N)`` → ``(S,)`` (complex for a complex ansatz)."""
    out = []
    n = s.shape[1]
    step = max(1, CHUNK // (n * (n + 1)))
    for lo in range(0, len(s), step):
        conn, mels = hamiltonian.connected(s[lo:lo + step])
        b, k, _ = conn.shape
        logs = ansatz.log_psi(conn.reshape(b * k, n)).reshape(b, k)
        out.append(np.sum(mels * np.exp(logs - logs[:, :1]), axis=1))
    return np.concatenate(out)


def mean_with_error(values: np.ndarray) -> tuple[float, float]:
    """``values (T, B)``: (mean, blocking error of the per-sweep means)."""
    series = np.asarray(values).mean(axis=1)
    mean = float(series.mean())
    if len(series) < 2:
        return mean, float("nan")
    return mean, float(blocking(series).error)


def energy_statistics(e_local: np.ndarray, n_sites: int, e_infinity: float = 0.0) -> dict:
    """``e_local (T, B)`` → ``energy``, ``error``, ``walker_error``, ``variance``, ``vscore``, ``imaginary``
    (mean of Im E_L)."""
    real = np.real(e_local)
    energy, error = mean_with_error(real)
    walkers = real.mean(axis=0)
    walker_error = float(np.std(walkers, ddof=1) / np.sqrt(len(walkers))) if len(walkers) > 1 else float("nan")
    variance = float(np.var(real))
    denom = (energy - e_infinity) ** 2
    return {"energy": energy, "error": error, "walker_error": walker_error, "variance": variance,
            "vscore": n_sites * variance / denom if denom > 0 else float("nan"),
            "imaginary": float(np.mean(np.imag(e_local)))}
