"""Parallel tempering (replica exchange) over a temperature ladder, for any lattice model.

R replicas at inverse temperatures β_1 > β_2 > … > β_R each make a Metropolis sweep
(:mod:`physgen.lattice.metropolis`); then neighbouring pairs (k, k+1), even pairs and odd pairs in alternate
sweeps, exchange configurations with probability min(1, exp((β_k − β_k+1)(E_k − E_k+1))), which keeps the product
of the R Boltzmann distributions invariant (Hukushima & Nemoto, J. Phys. Soc. Jpn. 65, 1604, 1996; Earl & Deem,
PCCP 7, 3910, 2005).  Several independent ladders run side by side.  The acceptance of each pair is recorded.
"""
from __future__ import annotations

import numpy as np

from physgen.lattice.metropolis import Metropolis
from physgen.lattice.model import LatticeModel


def ladder(temperatures, replicas: int) -> np.ndarray:
    """The ladder's temperatures, ascending: the requested ones plus geometrically spaced ones, ``replicas`` in
    all (at least the requested count), from the lowest requested temperature T_lo to max(highest, 2 T_lo), so that
    the hottest replicas decorrelate fast."""
    wanted = np.unique(np.asarray(temperatures, dtype=np.float64))
    extra = max(int(replicas) - len(wanted), 0)
    if extra == 0:
        return wanted
    lo, hi = wanted[0], max(wanted[-1], 2 * wanted[0])
    fill = np.geomspace(lo, hi, extra + 1 + int(hi == wanted[-1]))
    fill = fill[1:-1] if hi == wanted[-1] else fill[1:]
    return np.unique(np.concatenate([wanted, fill]))


class Tempering:
    """Parallel tempering of ``model`` on ``ladders`` independent ladders of the temperatures ``temps (R,)``.

    Configurations are ``(ladders, R, L, L)`` with replica k at ``temps[k]``; ``acceptance`` is ``(R−1,)``."""

    def __init__(self, model: LatticeModel, temps: np.ndarray):
        self.model = model
        self.temps = np.asarray(temps, dtype=np.float64)
        self.beta = 1.0 / self.temps
        self.local = Metropolis(model)
        self.swaps = np.zeros(max(len(temps) - 1, 0))
        self.tries = np.zeros(max(len(temps) - 1, 0))
        self._parity = 0

    def sweep(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        G, R = x.shape[:2]
        flat = self.local.sweep(x.reshape(G * R, *x.shape[2:]), np.tile(self.beta, G), rng).reshape(x.shape)
        energy = self.model.energy(flat)                                  # (G, R)
        pairs = np.arange(self._parity, R - 1, 2)
        self._parity ^= 1
        if len(pairs):
            d = (self.beta[pairs] - self.beta[pairs + 1]) * (energy[:, pairs] - energy[:, pairs + 1])
            accept = rng.random(d.shape) < np.exp(np.minimum(d, 0.0))
            self.swaps[pairs] += accept.sum(0)
            self.tries[pairs] += G
            g, k = np.nonzero(accept)
            lower, upper = flat[g, pairs[k]].copy(), flat[g, pairs[k] + 1].copy()
            flat[g, pairs[k]], flat[g, pairs[k] + 1] = upper, lower
        return flat

    @property
    def acceptance(self) -> np.ndarray:
        return self.swaps / np.maximum(self.tries, 1)
