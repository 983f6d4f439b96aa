"""The Hamiltonians of the quantum runs: spin-½ lattice models in the σᶻ basis with their connected matrix
elements (``physgen nqs``), and particles in a harmonic trap with optional Coulomb repulsion with the local
energy E_L = Hψ/ψ (``physgen vmc``).

**Spin lattices.**  A configuration is ``s (B, N)`` of ±1 (σᶻ eigenvalues, float64).  Every Hamiltonian
gives, for each configuration, the K configurations it connects to and the matrix elements, ``connected(s) ->
(s' (B, K, N), H_ss' (B, K))``, the first being s itself with the diagonal element; the local energy of a wave
function is then E_L(s) = Σ_k H_ss'_k ψ(s'_k)/ψ(s) (Carleo & Troyer, Science 355, 602 (2017)).

* :class:`TFIM` — transverse-field Ising model, ``H = −J Σ_⟨ij⟩ σᶻ_i σᶻ_j − h Σ_i σˣ_i``; critical at h = J in
  one dimension (Pfeuty, Ann. Phys. 57, 79 (1970)), h ≈ 3.044 J on the square lattice (Blöte & Deng, Phys. Rev. E 66,
  066110 (2002)).
* :class:`Heisenberg` — ``H = J₁ Σ_⟨ij⟩ S_i·S_j + J₂ Σ_⟨⟨ij⟩⟩ S_i·S_j`` with spin operators S = σ/2 (so a
  Pauli-matrix convention, Σ σ·σ, has four times these energies); J₂ = 0 is the Heisenberg model, J₂ ≠ 0
  the J₁–J₂ model.  Since S_i·S_j = ¼σᶻσᶻ + ½(σ⁺_i σ⁻_j + σ⁻_i σ⁺_j), a bond with antiparallel spins connects
  to the configuration with the two spins exchanged, element J/2.

**Marshall sign rule** (Marshall, Proc. R. Soc. A 232, 48 (1955)).  On a bipartite lattice the unitary
rotation by π about z of every spin of one sublattice flips the sign of the exchange elements of the bonds
that join the two sublattices; the rotated Heisenberg ground state is then positive, so a real, positive
ansatz can represent it.  ``marshall=True`` applies that rotation to the Hamiltonian: energies and σᶻ
observables are unchanged.  J₂ bonds join sites of one sublattice and keep their sign (the rule is then
exact only at J₂ = 0).

Both models have Tr H = 0: the infinite-temperature energy E_∞ of the V-score is 0.

**Adding a Hamiltonian** is one class and one registration: a class with ``n_sites``, ``connected(s)`` (above),
``name``, ``conserves_sz`` (True: sampled at total Sᶻ = 0 with exchange moves) and ``e_infinity`` (Tr H / 2^N),
and a builder ``fn(lattice, *, h, J, J2, marshall)`` registered with :func:`register_hamiltonian`; ``physgen nqs
--hamiltonian NAME``, :class:`physgen.quantum.nqs.NQSConfig` and the exact diagonalization then take it.

**The harmonic trap** (:class:`Hamiltonian`) with optional Coulomb repulsion, in natural units ħ = m = e = 1
(and 4πε₀ = 1):

    H = Σ_p (−½ ∇_p² + ½ ω² |r_p|²) + Σ_{p<q} 1/|r_p − r_q|     (the second sum with ``interaction="coulomb"``)

Exact checks: without interaction the ground state has E = ω·N·d/2; two electrons in two dimensions at
ω = 1 have E = 3 exactly (Taut, J. Phys. A 27, 1045 (1994); in 3D at ω = ½, E = 2: Taut, Phys. Rev. A 48,
3561 (1993)).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np

from physgen.config import validate
from physgen.constraints import FINITE, POSITIVE, Constraint
from physgen.errors import UserError
from physgen.quantum.lattice import Lattice


@dataclass(frozen=True)
class HamiltonianEntry:
    """A registered Hamiltonian: ``build(lattice, *, h, J, J2, marshall)`` makes it, ``help`` is its line in
    ``physgen nqs --help``, ``couplings`` the ones of ``h``, ``J``, ``J2`` it reads (a run that sets another is
    refused)."""

    build: Callable[..., Any]
    help: str
    couplings: tuple[str, ...] = ("J",)


#: name -> entry: the Hamiltonians ``physgen nqs --hamiltonian`` offers (:func:`register_hamiltonian`)
HAMILTONIANS: dict[str, HamiltonianEntry] = {}


def register_hamiltonian(name: str, help: str, *, couplings: tuple[str, ...] = ("J",)):
    """Decorator: register ``fn(lattice, *, h, J, J2, marshall) -> Hamiltonian`` under ``name``, reading the
    ``couplings``."""
    def add(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in HAMILTONIANS and HAMILTONIANS[name].build is not fn:
            raise RuntimeError(f"Hamiltonian {name!r} registered twice")
        HAMILTONIANS[name] = HamiltonianEntry(fn, help, tuple(couplings))
        return fn
    return add


@dataclass(frozen=True)
class TFIM:
    """``H = −J Σ_⟨ij⟩ σᶻ_i σᶻ_j − h Σ_i σˣ_i`` on ``lattice``."""

    lattice: Lattice
    h: float = 1.0
    J: float = 1.0
    name = "tfim"
    conserves_sz = False
    e_infinity = 0.0

    constraints: ClassVar[dict[str, Constraint]] = {"h": FINITE, "J": FINITE}

    def __post_init__(self):
        validate(self, None)

    @property
    def n_sites(self) -> int:
        return self.lattice.n_sites

    def connected(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``s (B, N)`` → ``(B, N + 1, N)`` configurations (s, then s with spin i flipped) and elements."""
        b = self.lattice.bonds(1)
        n = s.shape[1]
        diag = -self.J * np.sum(s[:, b[:, 0]] * s[:, b[:, 1]], axis=1)
        flips = np.repeat(s[:, None, :], n + 1, axis=1)
        idx = np.arange(n)
        flips[:, idx + 1, idx] *= -1
        mels = np.concatenate([diag[:, None], np.full((len(s), n), -self.h)], axis=1)
        return flips, mels


@dataclass(frozen=True)
class Heisenberg:
    """``H = J Σ_⟨ij⟩ S_i·S_j + J2 Σ_⟨⟨ij⟩⟩ S_i·S_j`` on ``lattice`` (S = σ/2), Marshall-rotated if ``marshall``."""

    lattice: Lattice
    J: float = 1.0
    J2: float = 0.0
    marshall: bool = False
    name = "heisenberg"
    conserves_sz = True
    e_infinity = 0.0

    constraints: ClassVar[dict[str, Constraint]] = {"J": FINITE, "J2": FINITE}

    def __post_init__(self):
        validate(self, None)
        if self.marshall and not self.lattice.bipartite:
            raise UserError("the Marshall sign rule needs a bipartite lattice "
                            "(an even size with periodic boundaries)", key="marshall")

    @property
    def n_sites(self) -> int:
        return self.lattice.n_sites

    def bond_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(pairs (n_b, 2), couplings (n_b,), exchange signs (n_b,))``."""
        pairs = [self.lattice.bonds(1)]
        couplings = [np.full(len(pairs[0]), float(self.J))]
        if self.J2 != 0.0:
            pairs.append(self.lattice.bonds(2))
            couplings.append(np.full(len(pairs[1]), float(self.J2)))
        p, c = np.concatenate(pairs), np.concatenate(couplings)
        sub = self.lattice.sublattice
        sign = np.where(self.marshall & (sub[p[:, 0]] != sub[p[:, 1]]), -1.0, 1.0)
        return p, c, sign

    def connected(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``s (B, N)`` → ``(B, n_b + 1, N)`` (s, then s with each bond's spins exchanged) and elements
        (``J/2`` times the Marshall sign where the spins differ, else 0)."""
        p, c, sign = self.bond_table()
        si, sj = s[:, p[:, 0]], s[:, p[:, 1]]
        diag = 0.25 * np.sum(c * si * sj, axis=1)
        swapped = np.repeat(s[:, None, :], len(p) + 1, axis=1)
        k = np.arange(1, len(p) + 1)
        swapped[:, k, p[:, 0]], swapped[:, k, p[:, 1]] = sj, si
        off = np.where(si != sj, 0.5 * c * sign, 0.0)
        return swapped, np.concatenate([diag[:, None], off], axis=1)


def make_hamiltonian(name: str, lattice: Lattice, *, h: float = 1.0, J: float = 1.0, J2: float = 0.0,
                     marshall: bool | None = None):
    """The registered Hamiltonian ``name`` (``"tfim"``, ``"heisenberg"``, ``"j1j2"``, ...) on ``lattice``;
    ``marshall=None`` applies the sign rule to the Heisenberg-type models on bipartite lattices with J > 0
    (antiferromagnets)."""
    if name not in HAMILTONIANS:
        raise UserError(f"must be one of {', '.join(HAMILTONIANS)}, got {name!r}", key="hamiltonian")
    return HAMILTONIANS[name].build(lattice, h=h, J=J, J2=J2, marshall=marshall)


@register_hamiltonian("tfim", "transverse-field Ising (the default)", couplings=("h", "J"))
def _tfim(lattice: Lattice, *, h: float, J: float, J2: float, marshall: bool | None) -> TFIM:
    if marshall:
        raise UserError("the Marshall sign rule applies to heisenberg and j1j2 only", key="marshall")
    return TFIM(lattice, h=h, J=J)


def _exchange(name: str, lattice: Lattice, J: float, J2: float, marshall: bool | None) -> Heisenberg:
    if lattice.n_sites % 2:
        raise UserError(f"{name} is sampled at total Sᶻ = 0, which needs an even number of sites "
                        f"(got {lattice.n_sites})", key="size")
    if marshall is None:
        marshall = lattice.bipartite and J > 0
    return Heisenberg(lattice, J=J, J2=J2, marshall=marshall)


@register_hamiltonian("heisenberg", "Heisenberg, S = σ/2")
def _heisenberg(lattice: Lattice, *, h: float, J: float, J2: float, marshall: bool | None) -> Heisenberg:
    return _exchange("heisenberg", lattice, J, 0.0, marshall)


@register_hamiltonian("j1j2", "J1-J2, S = σ/2", couplings=("J", "J2"))
def _j1j2(lattice: Lattice, *, h: float, J: float, J2: float, marshall: bool | None) -> Heisenberg:
    return _exchange("j1j2", lattice, J, J2, marshall)


#: pair interactions of the trap
INTERACTIONS = ("none", "coulomb")


@dataclass(frozen=True)
class Hamiltonian:
    """``omega`` > 0; ``interaction`` in :data:`INTERACTIONS`."""

    omega: float = 1.0
    interaction: str = "none"

    constraints: ClassVar[dict[str, Constraint]] = {"omega": POSITIVE}

    def __post_init__(self):
        validate(self, None)
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
