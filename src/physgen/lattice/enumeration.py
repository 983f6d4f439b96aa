"""Exact thermodynamics of any small lattice model by summing over all q^(L²) configurations.

The reference the transfer matrix (:mod:`physgen.lattice.transfer`) is tested against, and the exact distribution
samplers are tested against: ``states (q^N, L, L)``, their energies and Boltzmann probabilities, in float64 with
log-sum-exp.  q^N ≤ 2^18 (a 4×4 lattice of spins, 3×3 of four Potts states).
"""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from physgen.errors import UserError
from physgen.lattice.model import LatticeModel
from physgen.lattice.transfer import Exact

MAX_STATES = 2 ** 18


def states(model: LatticeModel) -> np.ndarray:
    """``(q^N, L, L)`` int8: every configuration, in the order of its base-q digits (first site most significant)."""
    q, n = model.space.q, model.n_sites
    if q ** n > MAX_STATES:
        raise UserError(f"{model.name}: enumeration covers at most {MAX_STATES} configurations, this lattice has {q}^{n}")
    digits = np.stack(np.meshgrid(*[np.arange(q)] * n, indexing="ij"), -1).reshape(-1, n)
    return model.space.values[digits].reshape(-1, model.size, model.size)


def boltzmann(model: LatticeModel, T: float) -> tuple[np.ndarray, np.ndarray, float]:
    """All configurations, their total energies and ``log Z`` at temperature ``T``."""
    x = states(model)
    e = model.energy(x)
    return x, e, float(logsumexp(-e / T))


def solve(model: LatticeModel, temperatures) -> list[Exact]:
    """The per-site thermodynamics of :func:`physgen.lattice.transfer.solve`, by enumeration."""
    out = []
    x, e, _ = boltzmann(model, 1.0)
    n = model.n_sites
    for T in temperatures:
        T = float(T)
        log_z = float(logsumexp(-e / T))
        p = np.exp(-e / T - log_z)
        u = float(p @ e)
        var = float(p @ (e - u) ** 2)
        f = -T * log_z / n
        out.append(Exact(T, log_z, f, u / n, (u / n - f) / T, var / T ** 2 / n))
    return out
