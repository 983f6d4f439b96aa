"""The harmonic trap with optional Coulomb repulsion, and the local energy E_L = Hψ/ψ.

Natural units ħ = m = e = 1 (and 4πε₀ = 1):

    H = Σ_p (−½ ∇_p² + ½ ω² |r_p|²) + Σ_{p<q} 1/|r_p − r_q|     (the second sum with ``interaction="coulomb"``)

Exact checks: without interaction the ground state has E = ω·N·d/2; two electrons in two dimensions at
ω = 1 have E = 3 exactly (Taut, J. Phys. A 27, 1045 (1994); in 3D at ω = ½, E = 2: Taut, Phys. Rev. A 48,
3561 (1993)).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physgen.errors import UserError

INTERACTIONS = ("none", "coulomb")


@dataclass(frozen=True)
class Hamiltonian:
    """``omega`` > 0; ``interaction`` in :data:`INTERACTIONS`."""

    omega: float = 1.0
    interaction: str = "none"

    def __post_init__(self):
        if not (np.isfinite(self.omega) and self.omega > 0):
            raise UserError(f"must be > 0, got {self.omega}", key="omega")
        if self.interaction not in INTERACTIONS:
            raise UserError(f"must be one of {', '.join(INTERACTIONS)}, got {self.interaction!r}", key="interaction")

    def trap(self, x: np.ndarray) -> np.ndarray:
        """``½ ω² Σ |r|²`` for positions ``(B, N, d)`` → ``(B,)``."""
        return 0.5 * self.omega ** 2 * np.sum(x.reshape(len(x), -1) ** 2, axis=1)

    def repulsion(self, x: np.ndarray) -> np.ndarray:
        """``Σ_{p<q} 1/r_pq`` → ``(B,)`` (zeros without interaction)."""
        n = x.shape[1]
        if self.interaction == "none" or n < 2:
            return np.zeros(len(x))
        p, q = np.triu_indices(n, k=1)
        r = np.linalg.norm(x[:, p, :] - x[:, q, :], axis=-1)
        return np.sum(1.0 / r, axis=1)

    def potential(self, x: np.ndarray) -> np.ndarray:
        return self.trap(x) + self.repulsion(x)

    def local_energy(self, wf, x: np.ndarray) -> np.ndarray:
        """``E_L(x) = −½ ∇²ψ/ψ + V(x)``, ``(B,)``; the kinetic part is the wave function's closed form."""
        return wf.kinetic(x) + self.potential(x)
