"""Exact infinite-lattice results for the 2D square-lattice Ising model at h = 0 (Onsager 1944, Yang 1952).

With β = 1/T (k_B = 1), K = βJ and the elliptic modulus q = 2 sinh 2K / cosh² 2K:

* critical temperature   T_c = 2J / ln(1 + √2) ≈ 2.269185 J
* spontaneous magnetization (Yang)   m(T) = [1 − sinh⁻⁴(2K)]^{1/8} for T < T_c, 0 above
* energy per spin   u(T) = −J coth(2K) [1 + (2/π)(2 tanh²(2K) − 1) 𝐊(q)]
* specific heat per spin
  c(T) = (4/π)(K coth 2K)² {𝐊(q) − 𝐄(q) − (1 − tanh² 2K)[π/2 + (2 tanh² 2K − 1) 𝐊(q)]}  (= du/dT)

𝐊, 𝐄 are the complete elliptic integrals of modulus q; SciPy takes the parameter m = q²
(``scipy.special.ellipk(q**2)``).  See Huang, *Statistical Mechanics* (2nd ed.), §15.  All functions
are vectorised over T (scalars in, floats out; arrays in, arrays out); J > 0 (ferromagnet).
"""
from __future__ import annotations

import numpy as np
from scipy.special import ellipe, ellipk

T_C = 2.0 / np.log1p(np.sqrt(2.0))


def _k(T, J: float) -> np.ndarray:
    T = np.asarray(T, dtype=np.float64)
    if J <= 0:
        raise ValueError(f"Onsager's solution here is for a ferromagnet, J > 0 (got J = {J})")
    if np.any(~(T > 0)):
        raise ValueError("temperatures must be > 0")
    return J / T


def _out(x: np.ndarray):
    return float(x) if np.ndim(x) == 0 else x


def critical_temperature(J: float = 1.0) -> float:
    """T_c = 2J / ln(1 + √2)."""
    return float(T_C * J)


def spontaneous_magnetization(T, J: float = 1.0):
    """Yang's m(T) = [1 − sinh⁻⁴(2J/T)]^{1/8} below T_c, 0 at and above T_c."""
    k = _k(T, J)
    inner = 1.0 - np.sinh(2.0 * k) ** -4.0
    return _out(np.where(inner > 0, np.clip(inner, 0.0, None) ** 0.125, 0.0))


def _modulus(k: np.ndarray) -> np.ndarray:
    return np.clip(2.0 * np.sinh(2.0 * k) / np.cosh(2.0 * k) ** 2, 0.0, 1.0)


def energy_per_spin(T, J: float = 1.0):
    """u(T) = −J coth(2K)[1 + (2/π)(2 tanh²2K − 1) 𝐊(q)] (finite at T_c, where u = −√2 J)."""
    k = _k(T, J)
    q = _modulus(k)
    t2 = np.tanh(2.0 * k) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        bracket = (2.0 * t2 - 1.0) * ellipk(q ** 2)      # 0 · ∞ at T_c: the limit is 0
    bracket = np.where(np.isfinite(bracket), bracket, 0.0)
    return _out(-J / np.tanh(2.0 * k) * (1.0 + 2.0 / np.pi * bracket))


def specific_heat(T, J: float = 1.0):
    """c(T) per spin (k_B = 1); diverges logarithmically at T_c (returns +inf there)."""
    k = _k(T, J)
    q = _modulus(k)
    t2 = np.tanh(2.0 * k) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        K1, E1 = ellipk(q ** 2), ellipe(q ** 2)
        braces = K1 - E1 - (1.0 - t2) * (np.pi / 2.0 + (2.0 * t2 - 1.0) * K1)
        c = 4.0 / np.pi * (k / np.tanh(2.0 * k)) ** 2 * braces
    return _out(np.where(np.isfinite(c), c, np.inf))
