"""Single-site Metropolis for any lattice model, colour class by colour class, many chains at once.

Sites of one colour of a proper colouring of the bond graph (:meth:`LatticeModel.colouring`: the checkerboard on
the square lattice, three sublattices on the triangular one) share no bond, so any of them can be updated at
once: a site proposes a new value (a flipped spin, or one of the q − 1 other Potts states: symmetric proposals) and
accepts it with probability min(1, exp(−β ΔE)), ΔE from :meth:`LatticeModel.local_energy`.  Detailed balance
holds for each colour's update (Metropolis et al., J. Chem. Phys. 21, 1087, 1953; Newman & Barkema 1999, §3.1).

Each pass over a colour attempts a random half of its sites (each with probability ½), and a sweep makes two
passes over the colours, N single-site attempts on average.  Updating every site of a colour at once can make the
sweep reducible, because a move with ΔE < 0 is then certain: on the 3×3 triangular antiferromagnet all sites of
one sublattice share the same six neighbours, and a sweep never leaves the set of states of energy −1.  With
random halves every subset of a colour moves with positive probability, so the chain is irreducible on any
lattice.
"""
from __future__ import annotations

import numpy as np

from physgen.lattice.model import LatticeModel


class Metropolis:
    """Metropolis sweeps of ``model`` on chains ``x (C, L, L)`` at inverse temperatures ``beta (C,)``."""

    def __init__(self, model: LatticeModel):
        self.model = model
        colours = model.colouring()
        self.masks = [colours == c for c in range(int(colours.max()) + 1)]
        self.accepted = 0.0
        self.attempts = 0

    def sweep(self, x: np.ndarray, beta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One sweep; returns the new configurations (``x`` is not modified)."""
        x = x.copy()
        b = np.asarray(beta, dtype=np.float64)[:, None, None]
        for mask in self.masks + self.masks:
            mask = mask & (rng.random(x.shape) < 0.5)
            proposal = self.model.space.propose(rng, x)
            delta = self.model.local_energy(x, proposal) - self.model.local_energy(x, x)
            accept = mask & (rng.random(x.shape) < np.exp(-b * np.maximum(delta, 0.0)))
            x = np.where(accept, proposal, x)
            self.accepted += float(accept.sum())
            self.attempts += int(mask.sum())
        return x

    @property
    def acceptance(self) -> float:
        return self.accepted / max(self.attempts, 1)
