"""Chains and square lattices: sites, bonds, sublattices and the translation group (that of
:class:`physgen.physics.lattice.Torus`, shared with the lattice models and the augmentation).

Sites are numbered ``i = x`` on a chain of ``L`` sites and ``i = x + L·y`` on an ``L × L`` square lattice.
``bonds(1)`` are the nearest-neighbour pairs, ``bonds(2)`` the next-nearest ones (``i, i+2`` on a chain,
the diagonals on the square lattice), each pair once.  With periodic boundaries a lattice needs ``L ≥ 3``
(nearest neighbours) or ``L ≥ 5`` on a chain with next-nearest bonds, so that no pair appears twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from physgen.errors import UserError
from physgen.physics.lattice import Torus

LATTICES = ("chain", "square")


@dataclass(frozen=True)
class Lattice:
    """``kind`` in :data:`LATTICES`, linear size ``size`` (L), periodic boundaries if ``pbc``."""

    kind: str = "chain"
    size: int = 4
    pbc: bool = True

    def __post_init__(self):
        if self.kind not in LATTICES:
            raise UserError(f"must be one of {', '.join(LATTICES)}, got {self.kind!r}", key="lattice")
        least = 3 if self.pbc else 2
        if int(self.size) < least:
            raise UserError(f"must be >= {least} ({'periodic' if self.pbc else 'open'} boundaries), "
                            f"got {self.size}", key="size")

    @property
    def dim(self) -> int:
        return 1 if self.kind == "chain" else 2

    @property
    def n_sites(self) -> int:
        return self.size ** self.dim

    @cached_property
    def torus(self) -> Torus:
        """The periodic lattice of the same sites (its coordinates in reverse order: ``(y, x)``)."""
        return Torus((self.size,) * self.dim)

    @cached_property
    def coords(self) -> np.ndarray:
        """Integer coordinates ``(N, d)`` of the sites, ``(x, y)``."""
        return self.torus.coords[:, ::-1].copy()

    def index(self, coords: np.ndarray) -> np.ndarray:
        """Site numbers of coordinates ``(..., d)`` (taken modulo L)."""
        return self.torus.index(np.asarray(coords)[..., ::-1])

    def _pairs(self, shifts) -> np.ndarray:
        pairs = set()
        for shift in shifts:
            target = self.coords + np.asarray(shift)
            inside = np.all((target >= 0) & (target < self.size), axis=1) if not self.pbc else \
                np.ones(self.n_sites, bool)
            for i, j in zip(np.arange(self.n_sites)[inside], self.index(target[inside])):
                if i != j:
                    pairs.add((min(i, j), max(i, j)))
        return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)

    def bonds(self, order: int = 1) -> np.ndarray:
        """Pairs ``(n_bonds, 2)`` of nearest (``order=1``) or next-nearest (``order=2``) neighbours."""
        if self.dim == 1:
            return self._pairs([(order,)])
        return self._pairs([(1, 0), (0, 1)] if order == 1 else [(1, 1), (1, -1)])

    @property
    def bipartite(self) -> bool:
        """True when nearest-neighbour bonds join the two sublattices only (even L with periodic boundaries)."""
        return not self.pbc or self.size % 2 == 0

    @cached_property
    def sublattice(self) -> np.ndarray:
        """``(N,)`` 0/1: the parity of the sum of the coordinates."""
        return np.sum(self.coords, axis=1) % 2

    @cached_property
    def translations(self) -> np.ndarray:
        """``(G, N)`` permutations: row g maps site i to the site translated by the g-th lattice vector
        (all L^d translations; periodic boundaries only)."""
        if not self.pbc:
            raise UserError("a translation-symmetric ansatz needs periodic boundaries", key="ansatz")
        return self.torus.translations

    @cached_property
    def momenta(self) -> np.ndarray:
        """``(N, d)`` the lattice momenta q = 2π n/L, n = 0 … L−1 per direction (periodic lattice)."""
        return 2 * np.pi * self.coords / self.size
