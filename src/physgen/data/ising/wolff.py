"""Wolff single-cluster updates for the 2D Ising model (h = 0, J > 0), vectorised over chains (NumPy).

One cluster step, for every active chain at once: pick a uniformly random seed site, grow the cluster
of aligned spins by adding each (cluster site, aligned non-cluster neighbour) bond with probability
p = 1 - exp(-2βJ), then flip the whole cluster (Wolff 1989, PRL 62, 361).  Growth is breadth-first;
each BFS layer is processed for all chains together, so the cost is O(cluster sizes + layers·overhead).
Every bond is tested at most once (a site joins the cluster at most once and is never re-tested from
the inside), which is what makes this exactly Wolff's algorithm.

Sweeps.  One Wolff *sweep* of a chain is ``n_clusters`` single-cluster flips with
``n_clusters = max(1, round(L² / ⟨|C|⟩))``, ⟨|C|⟩ the mean cluster size at that temperature, so a sweep
touches about L² spins on average and is comparable to a Metropolis sweep.  ``n_clusters`` is adapted only during
burn-in (``calibrate=True``) and frozen afterwards, so the sampling phase is a fixed, π-invariant kernel.
"""
from __future__ import annotations

import numpy as np


def neighbour_table(L: int) -> np.ndarray:
    """(L², 4) flat indices of the right, left, down and up neighbours on a periodic L×L lattice."""
    i, j = np.divmod(np.arange(L * L), L)
    return np.stack([i * L + (j + 1) % L, i * L + (j - 1) % L, ((i + 1) % L) * L + j, ((i - 1) % L) * L + j], 1)


class WolffClusters:
    """``M`` independent Wolff chains on periodic L×L lattices.

    Parameters
    ----------
    spins : (M, L, L) int8 array of ±1 (updated in place; kept as ``self.spins``).
    beta : (M,) inverse temperatures.
    J : coupling (> 0).
    rng : numpy Generator.
    """

    def __init__(self, spins: np.ndarray, beta, *, J: float = 1.0, rng: np.random.Generator):
        if J <= 0:
            raise ValueError("Wolff cluster updates need a ferromagnetic coupling J > 0")
        self.spins = np.ascontiguousarray(spins, dtype=np.int8)
        self.M, self.L = self.spins.shape[0], self.spins.shape[1]
        self.beta = np.asarray(beta, dtype=np.float64).reshape(-1)
        self.J = float(J)
        self.p_add = -np.expm1(-2.0 * self.beta * J)
        self.rng = rng
        self.nbr = neighbour_table(self.L)
        n_sites = self.M * self.L * self.L
        self._owner = np.zeros(n_sites, dtype=np.int64)
        self.n_clusters = np.ones(self.M, dtype=np.int64)
        self._size_sum = np.zeros(self.M)
        self._size_count = np.zeros(self.M)
        # global (chain-offset) neighbour table when it fits in ~256 MB, else computed per layer
        self._nbr_all = (np.arange(self.M)[:, None, None] * self.L ** 2 + self.nbr[None]).reshape(-1, 4) \
            if n_sites * 32 <= 2 ** 28 else None

    def _neighbours(self, sites: np.ndarray) -> np.ndarray:
        """(F, 4) flat global indices of the neighbours of flat global ``sites``."""
        if self._nbr_all is not None:
            return self._nbr_all[sites]
        chain, site = np.divmod(sites, self.L * self.L)
        return chain[:, None] * (self.L * self.L) + self.nbr[site]

    def cluster_step(self, active: np.ndarray) -> np.ndarray:
        """Flip one Wolff cluster in each chain where ``active`` (M,) bool; return the (M,) cluster sizes.

        During growth, cluster sites are marked by setting them to 0 in the spin array, so "aligned with
        the seed and not yet in the cluster" is a single comparison; at the end they are set to −σ.
        """
        n = self.L * self.L
        flat = self.spins.reshape(-1)
        chains = np.flatnonzero(active)
        if chains.size == 0:
            return np.zeros(self.M, dtype=np.int64)
        frontier = chains * n + self.rng.integers(0, n, size=chains.size)
        sigma = np.zeros(self.M, dtype=np.int8)
        sigma[chains] = flat[frontier]
        flat[frontier] = 0
        members, owners = [frontier], [chains]
        while frontier.size:
            frontier, chains = self._grow(frontier, chains, flat, sigma)
            members.append(frontier)
            owners.append(chains)
        cluster, owner = np.concatenate(members), np.concatenate(owners)
        flat[cluster] = -sigma[owner]
        return np.bincount(owner, minlength=self.M)

    def _grow(self, frontier: np.ndarray, chain: np.ndarray, flat: np.ndarray, sigma: np.ndarray):
        """One BFS layer: test every bond from ``frontier`` (chains ``chain``) to aligned non-cluster sites."""
        cand = self._neighbours(frontier)                                  # (F, 4)
        ok = flat[cand] == sigma[chain][:, None]                           # cluster sites hold 0
        ok &= self.rng.random(cand.shape) < self.p_add[chain][:, None]
        cand, chain = cand[ok], chain.repeat(4)[ok.reshape(-1)]
        position = np.arange(cand.size)
        self._owner[cand] = position           # a site reached by several bonds: one position survives
        keep = self._owner[cand] == position
        cand, chain = cand[keep], chain[keep]
        flat[cand] = 0
        return cand, chain

    def sweep(self, n: int = 1, *, calibrate: bool = False, groups: np.ndarray | None = None) -> None:
        """``n`` sweeps of ``self.n_clusters`` cluster flips per chain.

        With ``calibrate`` the mean cluster size is accumulated per group of chains (``groups`` (M,) ints,
        e.g. the temperature index; default one group per chain) and ``n_clusters`` re-estimated after
        each sweep.
        """
        groups = np.arange(self.M) if groups is None else np.asarray(groups)
        for _ in range(int(n)):
            for k in range(int(self.n_clusters.max())):
                sizes = self.cluster_step(self.n_clusters > k)
                if calibrate:
                    self._size_sum += sizes
                    self._size_count += self.n_clusters > k
            if calibrate:
                self._recalibrate(groups)

    def _recalibrate(self, groups: np.ndarray) -> None:
        total = np.bincount(groups, self._size_sum)[groups]
        count = np.bincount(groups, self._size_count)[groups]
        mean = total / np.maximum(count, 1)
        n = self.L * self.L
        self.n_clusters = np.array([max(1, round(n / m)) if m > 0 else 1 for m in mean], dtype=np.int64)

    def energy_magnetization(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-spin energy (h = 0) and magnetization, each (M,) float64."""
        from physgen.physics.observables import energy_per_spin

        m = self.spins.sum((1, 2), dtype=np.int64) / float(self.L * self.L)
        return energy_per_spin(self.spins, self.J), m
