"""Swendsen–Wang cluster updates for ferromagnetic Potts models and for Ising models at h = 0.

A bond whose two sites are in its lowest-energy relation (equal Potts states; s_i s_j = sign J_ij for spins) is
frozen with probability p = 1 − exp(−β |J_ij| Δ), Δ the bond function's gap (1 for Potts, 2 for spins); the
clusters of frozen bonds then take a new value each: a uniformly drawn Potts state, or for spins a flip with
probability ½.  This is the Fortuin–Kasteleyn representation (Swendsen & Wang, PRL 58, 86, 1987); for the
Ising model any signs of J_ij are allowed (a cluster's flip keeps its frozen bonds satisfied).  Clusters are
labelled by :func:`scipy.sparse.csgraph.connected_components` over all chains at once.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from physgen.lattice.model import LatticeModel
from physgen.lattice.space import Spins


class SwendsenWang:
    """Swendsen–Wang sweeps of ``model`` on chains ``x (C, L, L)`` at inverse temperatures ``beta (C,)``; one
    sweep is one cluster decomposition and relabelling of every chain.  ``mean_cluster`` is the average size of
    the cluster holding a site."""

    def __init__(self, model: LatticeModel):
        self.model = model
        self.first, self.second, self.J = model.bond_list()
        values = model.space.values
        pair = model.space.bond(values[:, None], values[None, :])
        self.gap = float(pair.max() - pair.min())
        self.mean_cluster = 0.0
        self._sweeps = 0

    def sweep(self, x: np.ndarray, beta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        C, n = len(x), self.model.n_sites
        flat = x.reshape(C, n)
        a, b = flat[:, self.first], flat[:, self.second]
        spins = isinstance(self.model.space, Spins)
        satisfied = (a * b * np.sign(self.J) > 0) if spins else (a == b)
        p = 1.0 - np.exp(-np.asarray(beta, dtype=np.float64)[:, None] * np.abs(self.J) * self.gap)
        frozen = satisfied & (rng.random(a.shape) < p)
        chain, bond = np.nonzero(frozen)
        rows, cols = chain * n + self.first[bond], chain * n + self.second[bond]
        graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(C * n, C * n))
        count, labels = connected_components(graph, directed=False)
        sizes = np.bincount(labels, minlength=count)
        self.mean_cluster += (float((sizes ** 2).sum()) / (C * n) - self.mean_cluster) / (self._sweeps + 1)
        self._sweeps += 1
        if spins:
            flip = np.where(rng.random(count) < 0.5, -1, 1).astype(np.int8)
            return (flat * flip[labels].reshape(C, n)).reshape(x.shape).astype(np.int8)
        new = rng.integers(0, self.model.space.q, size=count, dtype=np.int8)
        return new[labels].reshape(x.shape)
