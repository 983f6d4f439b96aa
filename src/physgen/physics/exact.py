"""Exact enumeration of the periodic L×L Ising model for L ≤ 4 (2^16 = 65,536 states), float64.

E(s) = −J Σ_<ij> s_i s_j − h Σ_i s_i with the 2L² bonds (each site to its right and down neighbour,
periodic), p(s) = exp(−E(s)/T) / Z.  Per-spin conventions (N_s = L²) match
:mod:`physgen.physics.observables`:

    e = E/N_s,  m = Σs/N_s,  C = N_s (⟨e²⟩ − ⟨e⟩²)/T²,  χ = N_s (⟨m²⟩ − ⟨|m|⟩²)/T.

Every state is enumerated at once (vectorised NumPy); log Z via log-sum-exp, so any T > 0 is safe.
Reference for the method: Newman & Barkema, *Monte Carlo Methods in Statistical Physics* (1999), §1.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import logsumexp

from physgen.errors import UserError

MAX_SIZE = 4


@lru_cache(maxsize=4)
def _enumerate(L: int) -> tuple[np.ndarray, np.ndarray]:
    """All states (2^(L²), L, L) int8 (state k has spin i = +1 iff bit i of k is 1) and their Σs."""
    n = L * L
    codes = np.arange(2 ** n, dtype=np.int64)
    bits = (codes[:, None] >> np.arange(n)) & 1
    states = (2 * bits - 1).astype(np.int8).reshape(-1, L, L)
    total = states.sum((1, 2), dtype=np.int64)
    for a in (states, total):
        a.flags.writeable = False
    return states, total


class ExactIsing:
    """Exact thermodynamics of the L×L periodic Ising model at temperature T (L ≤ 4).

    Attributes: ``log_z``, ``probabilities`` (2^(L²),), ``states`` (2^(L²), L, L) int8, ``energies``
    (per spin), ``magnetizations`` (per spin), ``mean_energy``, ``mean_m``, ``mean_abs_m``,
    ``specific_heat``, ``susceptibility``.
    """

    def __init__(self, L: int, T: float, J: float = 1.0, h: float = 0.0):
        if not (isinstance(L, (int, np.integer)) and 2 <= L <= MAX_SIZE):
            raise UserError(f"L: exact enumeration needs 2 <= L <= {MAX_SIZE}, got {L!r}")
        if not (np.isfinite(T) and T > 0):
            raise UserError(f"T: must be finite and > 0, got {T!r}")
        self.L, self.T, self.J, self.h = int(L), float(T), float(J), float(h)
        from physgen.lattice import registry

        self.states, total = _enumerate(self.L)
        n = self.L * self.L
        energy = registry.build("ising", self.L, params={"J": self.J, "h": self.h}).energy(self.states)  # (2^n,)
        log_w = -energy / self.T
        self.log_z = float(logsumexp(log_w))
        self.probabilities = np.exp(log_w - self.log_z)
        self.energies = energy / n
        self.magnetizations = total / n

    def _mean(self, x: np.ndarray) -> float:
        return float(np.dot(self.probabilities, x))

    def sample_indices(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n,)`` indices of independent exact draws from the Boltzmann distribution (into ``states``,
        ``energies``, ``magnetizations``)."""
        return rng.choice(len(self.probabilities), n, p=self.probabilities)

    @property
    def n_spins(self) -> int:
        return self.L * self.L

    @property
    def mean_energy(self) -> float:
        return self._mean(self.energies)

    @property
    def mean_m(self) -> float:
        return self._mean(self.magnetizations)

    @property
    def mean_abs_m(self) -> float:
        return self._mean(np.abs(self.magnetizations))

    @property
    def specific_heat(self) -> float:
        e = self.energies
        return self.n_spins * (self._mean(e ** 2) - self.mean_energy ** 2) / self.T ** 2

    @property
    def susceptibility(self) -> float:
        m = self.magnetizations
        return self.n_spins * (self._mean(m ** 2) - self.mean_abs_m ** 2) / self.T

    def binder(self) -> float:
        """U = 1 − ⟨m⁴⟩ / (3⟨m²⟩²)."""
        m = self.magnetizations
        return 1.0 - self._mean(m ** 4) / (3.0 * self._mean(m ** 2) ** 2)

    def correlation_length(self) -> float:
        """Second-moment correlation length ξ₂ = sqrt(χ'(0)/χ'(k₁) − 1) / (2 sin(π/L)) from the exact
        correlations G(d) = ⟨s_0 s_d⟩ over every displacement d: χ'(k) = Σ_d G(d) cos(k·d), k₁ = (2π/L, 0)
        (the same quantity as :func:`physgen.physics.observables.second_moment_length`, by another route)."""
        s = self.states.astype(np.float64)
        g = np.tensordot(self.probabilities, s[:, :1, :1] * s, axes=1)          # (L, L): G(dx, dy)
        k0, k1 = g.sum(), float(np.sum(g * np.cos(2 * np.pi * np.arange(self.L) / self.L)[None, :]))
        return float(np.sqrt(k0 / k1 - 1.0) / (2.0 * np.sin(np.pi / self.L)))

    def _distribution(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys = np.round(values * self.n_spins).astype(np.int64)       # exact integers: no float ties
        levels, inverse = np.unique(keys, return_inverse=True)
        return levels / self.n_spins, np.bincount(inverse, weights=self.probabilities)

    def energy_distribution(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct per-spin energies (K,) ascending and their probabilities (K,)."""
        bonds_plus = self.energies * self.n_spins
        keys = np.unique(bonds_plus.round(9), return_inverse=True)
        return keys[0] / self.n_spins, np.bincount(keys[1], weights=self.probabilities)

    def abs_m_distribution(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct |m| values (K,) ascending and their probabilities (K,)."""
        return self._distribution(np.abs(self.magnetizations))

    def correlation(self) -> tuple[np.ndarray, np.ndarray]:
        """Exact G(r) = ⟨s_(0,0) s_(0,r)⟩ (= ⟨s_(0,0) s_(r,0)⟩ by symmetry), r = 0..L//2."""
        r = np.arange(self.L // 2 + 1)
        s = self.states.astype(np.float64)
        g = np.array([self._mean(s[:, 0, 0] * (s[:, 0, k] + s[:, k, 0]) / 2.0) for k in r])
        return r, g


def exact_ensembles(L: int, temperatures, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` independent exact configurations at each temperature: ``(states (K·n, L, L) int8, T (K·n,))``
    (a training or test set whose distribution is known exactly)."""
    rng = np.random.default_rng(seed)
    states = []
    for t in temperatures:
        ising = ExactIsing(L, t)
        states.append(ising.states[ising.sample_indices(n, rng)])
    return np.concatenate(states), np.repeat(np.asarray(temperatures, dtype=np.float64), n)
