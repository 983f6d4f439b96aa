"""Exact and reference ground-state energies of the quantum runs.

**Spins on a lattice** (:func:`exact_energy`): Lanczos on the sparse Hamiltonian, and the free-fermion 1D TFIM.
:func:`exact_ground_state` builds H in the σᶻ basis — the full 2^N space, or for Hamiltonians that conserve
total Sᶻ the Sᶻ = 0 sector of C(N, N/2) states — as a ``scipy.sparse`` matrix from the Hamiltonian's own
connected elements, and finds its lowest eigenvalue with ``scipy.sparse.linalg.eigsh`` (implicitly
restarted Lanczos, ARPACK).  The basis state with bit i set has σᶻ_i = +1.

:func:`tfim_chain_energy` is the closed form of the periodic transverse-field Ising chain
H = −J Σ σᶻ_i σᶻ_{i+1} − h Σ σˣ_i (Pfeuty, Ann. Phys. 57, 79 (1970)).  The Jordan–Wigner fermions of the
sector that holds the ground state (even fermion parity) obey antiperiodic boundary conditions, so their
momenta are k = 2π(n + ½)/N, n = 0 … N−1, and

    E₀ = −½ Σ_k ε_k,      ε_k = 2 √(J² + h² − 2Jh cos k),

for any N ≥ 2 (at odd N the unpaired mode k = π enters with its sign, −½·2(h + J), which is −½ε_π for
h, J ≥ 0; the formula is for J ≥ 0, h ≥ 0).

**Particles in a harmonic trap** (:func:`exact_trap_energy`): without interaction E = ω·N·d/2, with fermions
in closed shells ω Σ 2(n+1)² (:func:`physgen.quantum.slater.noninteracting_energy`), and for two electrons
with Coulomb repulsion at (d, ω) = (2, 1) → 3 or (3, ½) → 2 (closed-form solutions; the relative wave function
is (1 + r/(d − 1)) exp(−ω r²/4); Taut, J. Phys. A 27, 1045 (1994) and Phys. Rev. A 48, 3561 (1993)).
:func:`noninteracting_density` is the one-body density of the non-interacting ground state, N Gaussians of
variance 1/2ω per coordinate; :data:`DMC_REFERENCE` holds diffusion Monte Carlo energies of closed-shell
quantum dots (:func:`reference_energy`).
"""
from __future__ import annotations

import math
from itertools import combinations

import numpy as np

from physgen.errors import UserError, as_written

CHUNK = 1 << 22  # connected elements per block when building H


# -- spins on a lattice --------------------------------------------------------------------------------------------
def basis(n_sites: int, sz_zero: bool) -> np.ndarray:
    """Basis states as sorted integers: all 2^N, or the C(N, N/2) with N/2 bits set."""
    if not sz_zero:
        return np.arange(1 << n_sites, dtype=np.int64)
    states = [sum(1 << i for i in c) for c in combinations(range(n_sites), n_sites // 2)]
    return np.sort(np.array(states, dtype=np.int64))


def to_spins(states: np.ndarray, n_sites: int) -> np.ndarray:
    """Integers ``(S,)`` → ±1 ``(S, N)`` (bit i set ↔ σᶻ_i = +1)."""
    return ((states[:, None] >> np.arange(n_sites)) & 1).astype(np.float64) * 2 - 1


def to_states(spins: np.ndarray) -> np.ndarray:
    """±1 ``(..., N)`` → integers ``(...)``."""
    return np.sum((spins > 0).astype(np.int64) << np.arange(spins.shape[-1]), axis=-1)


def sparse_hamiltonian(hamiltonian, sz_zero: bool | None = None):
    """``(H as scipy.sparse.csr_matrix, basis)``; ``sz_zero=None``: the Sᶻ = 0 sector when H conserves Sᶻ."""
    from scipy import sparse

    n = hamiltonian.n_sites
    sz_zero = hamiltonian.conserves_sz if sz_zero is None else sz_zero
    states = basis(n, sz_zero)
    rows, cols, vals = [], [], []
    k = hamiltonian.connected(to_spins(states[:1], n))[1].shape[1]
    step = max(1, CHUNK // (k * n))
    for lo in range(0, len(states), step):
        conn, mels = hamiltonian.connected(to_spins(states[lo:lo + step], n))
        keep = mels != 0
        target = to_states(conn[keep])
        col = target if not sz_zero else np.searchsorted(states, target)
        rows.append(np.nonzero(keep)[0] + lo)
        cols.append(col)
        vals.append(mels[keep])
    dim = len(states)
    h = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(dim, dim))
    return h, states


def exact_ground_state(hamiltonian, *, max_states: int = 1 << 20) -> tuple[float, np.ndarray, np.ndarray]:
    """``(E₀, ground state (D,), basis (D,))`` by Lanczos; refuses Hilbert spaces above ``max_states``."""
    from scipy.sparse.linalg import eigsh

    n = hamiltonian.n_sites
    dim = math.comb(n, n // 2) if hamiltonian.conserves_sz else 2 ** n
    if dim > max_states:
        raise UserError(f"{n} sites have a {dim:,}-state space, more than the {max_states:,} "
                        "handled by exact diagonalization", key="max_states")
    from physgen.memory_guard import require

    k = hamiltonian.connected(to_spins(np.zeros(1, np.int64), n))[1].shape[1]
    require(dim * k * 40, what=f"exact diagonalization of {n} sites ({dim:,} states)",
            reduce=f"use a smaller lattice or skip the exact energy ({as_written('no_exact')})")
    h, states = sparse_hamiltonian(hamiltonian)
    if dim <= 64:  # ARPACK needs k < dim; a dense solver for tiny spaces
        w, v = np.linalg.eigh(h.toarray())
        return float(w[0]), v[:, 0], states
    v0 = np.ones(dim) / math.sqrt(dim)  # fixed start: the same answer on every call
    w, v = eigsh(h, k=1, which="SA", v0=v0, tol=1e-12)
    return float(w[0]), v[:, 0], states


def tfim_chain_energy(n_sites: int, h: float, J: float = 1.0) -> float:
    """Ground-state energy of the periodic TFIM chain of ``n_sites`` (see the module docstring)."""
    if n_sites < 2 or h < 0 or J < 0:
        raise UserError(f"the free-fermion formula of the transverse-field Ising chain needs N >= 2, h >= 0 and "
                        f"J >= 0 (got N = {n_sites}, h = {h}, J = {J})")
    k = 2 * np.pi * (np.arange(n_sites) + 0.5) / n_sites
    eps = 2 * np.sqrt(np.maximum(J ** 2 + h ** 2 - 2 * J * h * np.cos(k), 0.0))
    return float(-0.5 * np.sum(eps))


def exact_energy(hamiltonian, *, max_states: int = 1 << 20) -> tuple[float, str] | None:
    """``(E₀, method)`` where it can be had: the closed form for the periodic TFIM chain, else Lanczos
    within ``max_states``; None above it."""
    lat = hamiltonian.lattice
    if hamiltonian.name == "tfim" and lat.kind == "chain" and lat.pbc and hamiltonian.h >= 0 and hamiltonian.J >= 0:
        return tfim_chain_energy(lat.n_sites, hamiltonian.h, hamiltonian.J), "free fermions (Pfeuty 1970)"
    n = hamiltonian.n_sites
    dim = math.comb(n, n // 2) if hamiltonian.conserves_sz else 2 ** n
    if dim > max_states:
        return None
    sector = ", Sᶻ = 0 sector" if hamiltonian.conserves_sz else ""
    return exact_ground_state(hamiltonian, max_states=max_states)[0], f"exact diagonalization (Lanczos{sector})"


# -- particles in a harmonic trap ----------------------------------------------------------------------------------
EXACT_NOTE = {"trap": "ω·N·d/2 (no interaction)",
              "taut": "two electrons with Coulomb repulsion, exact (Taut, J. Phys. A 27, 1045 (1994))"}


def exact_trap_energy(config) -> tuple[float, str] | None:
    """The exact ground-state energy of a ``physgen vmc`` run's settings where one is known: no interaction,
    or two electrons with (d, ω) = (2, 1) → 3 or (3, ½) → 2 (closed-form solutions; the relative wave function
    is (1 + r/(d − 1)) exp(−ω r²/4))."""
    if getattr(config, "fermions", False) and config.interaction == "none":
        from physgen.quantum.slater import noninteracting_energy

        return noninteracting_energy(config.particles, config.omega), "ω Σ 2(n+1)² over the filled shells (no interaction)"
    if config.interaction == "none" or config.particles == 1:
        return 0.5 * config.omega * config.particles * config.dim, EXACT_NOTE["trap"]
    if config.particles == 2 and (config.dim, config.omega) in {(2, 1.0), (3, 0.5)}:
        return (3.0 if config.dim == 2 else 2.0), EXACT_NOTE["taut"]
    return None


# Diffusion Monte Carlo energies of closed-shell quantum dots, (N, ω) → E (Pedersen Lohne, Hagen,
# Hjorth-Jensen, Kvaal & Pederiva, Phys. Rev. B 84, 115302 (2011)).
DMC_REFERENCE = {(6, 1.0): 20.15932, (6, 0.5): 11.78484, (6, 0.1): 3.55385, (12, 1.0): 65.70010}


def reference_energy(config) -> dict | None:
    """The diffusion Monte Carlo energy of ``config`` (2D electrons with Coulomb repulsion) where tabulated."""
    value = DMC_REFERENCE.get((config.particles, float(config.omega)))
    if not (getattr(config, "fermions", False) and config.interaction == "coulomb" and config.dim == 2 and value):
        return None
    return {"value": value, "source": "diffusion Monte Carlo (Pedersen Lohne et al., Phys. Rev. B 84, 115302 (2011))"}


def noninteracting_density(coords: np.ndarray, n: int, dim: int, omega: float) -> np.ndarray:
    """ρ₀ = N (ω/π)^{d/2} exp(−ω r²) (radial or along x)."""
    return n * (omega / math.pi) ** (dim / 2) * np.exp(-omega * np.asarray(coords) ** 2)
