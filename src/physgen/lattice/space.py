"""State spaces of a lattice site: what a site holds and how two sites' values give a bond energy.

A lattice Hamiltonian with nearest-neighbour couplings is written once, for every model,

    E(s) = Σ_<ij> J_ij · b(s_i, s_j) + h Σ_i a(s_i),

where the state space supplies the bond function ``b`` and the site function ``a``:

- :class:`Spins`: ``s = ±1`` (``int8``), ``b(s, t) = −s t``, ``a(s) = −s`` (the Ising convention
  ``E = −J Σ s_i s_j − h Σ s_i``);
- :class:`States`: ``s ∈ {0, …, q−1}`` (``int8``), ``b(s, t) = −δ(s, t)``, ``a(s) = −δ(s, 0)`` (the q-state Potts
  model, ``E = −J Σ δ(s_i, s_j) − h Σ δ(s_i, 0)``; Wu, Rev. Mod. Phys. 54, 235, 1982).

The functions take NumPy arrays or torch tensors alike and return float64 arrays or tensors.  ``components``
gives the order-parameter field whose sum over the lattice is the magnetisation.
- :class:`Field`: ``φ ∈ ℝ`` (float64 in chains, ``float32`` in files), ``b(φ, ψ) = −φ ψ``; its site term is the
  model's own polynomial (:meth:`physgen.lattice.model.LatticeModel.site_energy`; the φ⁴ action).
"""
from __future__ import annotations

import math

import numpy as np


def _as_float(x):
    """``x`` as float64 (a NumPy array or a torch tensor), for booleans and integers alike."""
    if isinstance(x, np.ndarray) or np.isscalar(x):
        return np.asarray(x, dtype=np.float64)
    import torch

    return x.to(torch.float64)


class Spins:
    """Ising spins ±1 (data kind ``spins``)."""

    kind = "spins"
    q = 2
    relabeling_symmetric = True   # b(−s, −t) = b(s, t): at h = 0 the spin flip keeps every energy
    values = np.array([-1, 1], dtype=np.int8)

    def bond(self, s, t):
        return -_as_float(s * t)

    def site(self, s):
        return -_as_float(s)

    def index(self, s: np.ndarray) -> np.ndarray:
        """State index 0/1 of the values −1/+1."""
        return (np.asarray(s) > 0).astype(np.int64)

    def random(self, rng: np.random.Generator, shape) -> np.ndarray:
        return (2 * rng.integers(0, 2, size=shape, dtype=np.int8) - 1).astype(np.int8)

    def propose(self, rng: np.random.Generator, s: np.ndarray) -> np.ndarray:
        """A Metropolis proposal at every site: the flipped spin (symmetric)."""
        return (-s).astype(np.int8)

    def components(self, x: np.ndarray) -> np.ndarray:
        """``(N, 1, L, L)`` float64: the spin as the one component of the order-parameter field."""
        return np.asarray(x, dtype=np.float64)[:, None]

    def describe(self) -> str:
        return "spins ±1"


class States:
    """q-state Potts variables 0 … q−1 (data kind ``categorical``)."""

    kind = "categorical"
    relabeling_symmetric = True   # δ is kept by a cyclic shift of the states: at h = 0 so is every energy

    def __init__(self, q: int):
        self.q = int(q)
        self.values = np.arange(self.q, dtype=np.int8)

    def bond(self, s, t):
        return -_as_float(s == t)

    def site(self, s):
        return -_as_float(s == 0)

    def index(self, s: np.ndarray) -> np.ndarray:
        return np.asarray(s).astype(np.int64)

    def random(self, rng: np.random.Generator, shape) -> np.ndarray:
        return rng.integers(0, self.q, size=shape, dtype=np.int8)

    def propose(self, rng: np.random.Generator, s: np.ndarray) -> np.ndarray:
        """A Metropolis proposal at every site: one of the q − 1 other states, uniformly (symmetric)."""
        return ((s + rng.integers(1, self.q, size=s.shape, dtype=np.int8)) % self.q).astype(np.int8)

    def components(self, x: np.ndarray) -> np.ndarray:
        """``(N, q, L, L)`` float64: the order-parameter field of the simplex representation,
        φ_a(x) = √(q/(q−1)) (δ(s_x, a) − 1/q), a = 0 … q−1 (Zia & Wallace, J. Phys. A 8, 1495, 1975), so that
        Σ_a φ_a(x) φ_a(y) = (q δ(s_x, s_y) − 1)/(q − 1): 1 for equal states, −1/(q−1) otherwise (q = 2: s_x s_y of
        Ising spins).  The lattice's order parameter is |m| = |Σ_x φ(x)| / N: 1 when ordered, O(N^−½) when
        disordered."""
        x = np.asarray(x)
        q = self.q
        onehot = (x[:, None] == np.arange(q).reshape(1, q, *([1] * (x.ndim - 1)))).astype(np.float64)
        return math.sqrt(q / (q - 1)) * (onehot - 1.0 / q)

    def magnetization(self, x: np.ndarray) -> np.ndarray:
        """``(N,)`` |m| = |Σ_x φ(x)| / N of lattices ``x (N, L, L)`` (:meth:`components`), from the fractions ρ_a of
        sites in each state: |m|² = (q Σ_a ρ_a² − 1)/(q − 1), without the ``(N, q, L, L)`` field."""
        flat = np.asarray(x).reshape(len(x), -1).astype(np.int64)
        rows = np.repeat(np.arange(len(flat)), flat.shape[1])
        rho = np.bincount(rows * self.q + flat.ravel(), minlength=len(flat) * self.q).reshape(-1, self.q)
        rho = rho / flat.shape[1]
        return np.sqrt(np.maximum((self.q * (rho * rho).sum(1) - 1) / (self.q - 1), 0.0))

    def describe(self) -> str:
        return f"{self.q} states 0..{self.q - 1}"


class Field:
    """A real scalar field φ ∈ ℝ at each site (data kind ``field``): the bond ``b(φ, ψ) = −φ ψ`` of the lattice
    Laplacian's off-diagonal part; the site term comes from the model (a polynomial in φ)."""

    kind = "field"
    q = None
    relabeling_symmetric = True   # b(−φ, −ψ) = b(φ, ψ): an even site term keeps every action under φ -> −φ
    dtype = np.float64

    def bond(self, s, t):
        return -_as_float(s * t)

    def site(self, s):
        return _as_float(s) * 0.0

    def random(self, rng: np.random.Generator, shape) -> np.ndarray:
        return rng.standard_normal(shape)

    def ordered(self, rng: np.random.Generator, count: int, shape) -> np.ndarray:
        """``count`` constant fields ±1 (a random sign each) of ``shape``."""
        sign = rng.choice(np.array([-1.0, 1.0]), size=count)
        return np.broadcast_to(sign.reshape(-1, *([1] * len(shape))), (count, *shape)).copy()

    def components(self, x: np.ndarray) -> np.ndarray:
        """``(N, 1, L, L)`` float64: the field as its own order-parameter component."""
        return np.asarray(x, dtype=np.float64)[:, None]

    def magnetization(self, x: np.ndarray) -> np.ndarray:
        """``(N,)`` |M|/V = |Σ_x φ_x| / V."""
        return np.abs(np.asarray(x, dtype=np.float64).reshape(len(x), -1).mean(1))

    def describe(self) -> str:
        return "real field"
