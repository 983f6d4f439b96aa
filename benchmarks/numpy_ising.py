"""The strongest plain-NumPy checkerboard Metropolis we could write, and the whole job of
``physgen data ising`` written with it (NumPy and h5py only, so that its start-up is NumPy's).

The job: ``--chains`` chains per temperature started ordered with random signs, ``--burn-in`` sweeps, then a
snapshot every ``--thin`` sweeps until each temperature has ``--samples``; e and |m| of every chain recorded
after every sweep from the second half of burn-in on (what ``physgen data ising`` records for τ_int); the
samples and their temperatures written to an HDF5 file.  τ_int itself is not computed.

    python benchmarks/numpy_ising.py --size 128 --temperatures 2.269 --chains 64 --samples 64 \
        --burn-in 1990 --thin 10 --out numpy.h5
"""
from __future__ import annotations

import argparse
import math

import numpy as np


class NumpyCheckerboard:
    """Metropolis on (C, L, L) ±1 int8 spins at one temperature, the four-sublattice NumPy way.

    Sublattices A = s[0::2, 0::2], B = s[0::2, 1::2], C = s[1::2, 0::2], D = s[1::2, 1::2]; A∪D and B∪C
    are the two colours.  With indices mod L/2 the neighbours of A[i, j] are B[i, j-1], B[i, j], C[i-1, j],
    C[i, j] (and symmetrically for the others), so each neighbour sum is two slice additions per
    shifted term.  Acceptance min(1, e^{-2β s_i Σ s_j}) from a 5-entry float32 table (h = 0).
    """

    def __init__(self, spins: np.ndarray, beta: float, seed: int):
        self.rng = np.random.default_rng(seed)
        self.sub = [np.ascontiguousarray(spins[:, a::2, b::2]) for a, b in ((0, 0), (0, 1), (1, 0), (1, 1))]
        shape = self.sub[0].shape
        self.nb = np.empty(shape, np.int8)
        self.idx = np.empty(shape, np.intp)
        self.u = np.empty(shape, np.float32)
        self.thr = np.empty(shape, np.float32)
        self.flip = np.empty(shape, bool)
        self.sign = np.empty(shape, np.int8)
        self.table = np.minimum(1.0, np.exp(-2.0 * beta * np.arange(-4, 5, 2))).astype(np.float32)

    @staticmethod
    def _add_shifted(out: np.ndarray, x: np.ndarray, axis: int, step: int) -> None:
        """out[..., k] += x[..., k - step] along ``axis`` (1 rows, 2 columns), periodically."""
        lo, hi = [slice(None)] * 3, [slice(None)] * 3
        if step == 1:
            lo[axis], hi[axis] = slice(1, None), slice(None, -1)
            e_out, e_in = 0, -1
        else:
            lo[axis], hi[axis] = slice(None, -1), slice(1, None)
            e_out, e_in = -1, 0
        out[tuple(lo)] += x[tuple(hi)]
        edge_o, edge_i = [slice(None)] * 3, [slice(None)] * 3
        edge_o[axis], edge_i[axis] = e_out, e_in
        out[tuple(edge_o)] += x[tuple(edge_i)]

    def _neighbours(self, k: int) -> np.ndarray:
        """Neighbour sums of sublattice k (0 A, 1 B, 2 C, 3 D) into ``self.nb``; returns that sublattice."""
        A, B, C, D = self.sub
        nb, add = self.nb, self._add_shifted
        if k == 0:
            np.add(B, C, out=nb), add(nb, B, 2, 1), add(nb, C, 1, 1)
        elif k == 3:
            np.add(C, B, out=nb), add(nb, C, 2, -1), add(nb, B, 1, -1)
        elif k == 1:
            np.add(A, D, out=nb), add(nb, A, 2, -1), add(nb, D, 1, 1)
        else:
            np.add(D, A, out=nb), add(nb, D, 2, 1), add(nb, A, 1, -1)
        return self.sub[k]

    def sweep(self, n: int = 1) -> None:
        for _ in range(n):
            for k in (0, 3, 1, 2):                           # colour A∪D, then B∪C
                x = self._neighbours(k)
                np.multiply(self.nb, x, out=self.nb)           # s_i Σ s_j ∈ {-4, -2, 0, 2, 4}
                np.add(self.nb, 4, out=self.nb)
                np.right_shift(self.nb, 1, out=self.nb)        # table index 0..4
                np.copyto(self.idx, self.nb)
                self.table.take(self.idx, out=self.thr)
                self.rng.random(out=self.u, dtype=np.float32)
                np.less(self.u, self.thr, out=self.flip)
                np.multiply(self.flip.view(np.int8), -2, out=self.sign)
                np.add(self.sign, 1, out=self.sign)
                np.multiply(x, self.sign, out=x)

    def magnetization(self) -> np.ndarray:
        """Magnetization per spin of each chain."""
        return sum(x.reshape(len(x), -1).sum(1, dtype=np.int64) for x in self.sub) / (4.0 * self.nb[0].size)

    def spins(self) -> np.ndarray:
        """(C, L, L) int8 lattices (a new array)."""
        A, B, C, D = self.sub
        out = np.empty((len(A), 2 * A.shape[1], 2 * A.shape[2]), np.int8)
        out[:, 0::2, 0::2], out[:, 0::2, 1::2], out[:, 1::2, 0::2], out[:, 1::2, 1::2] = A, B, C, D
        return out

    def energy(self) -> np.ndarray:
        """Energy per spin of each chain: every bond joins A∪D to B∪C."""
        bonds = sum((self._neighbours(k).astype(np.int32) * self.nb).reshape(len(self.nb), -1).sum(1)
                    for k in (0, 3))
        return -bonds / (4.0 * self.nb[0].size)


def job(size: int, temperatures: list[float], chains: int, samples: int, burn_in: int, thin: int, seed: int,
        out: str) -> None:
    """The whole job (module docstring); one :class:`NumpyCheckerboard` per temperature."""
    import h5py

    rng = np.random.default_rng(seed)
    sims = []
    for k, t in enumerate(temperatures):
        signs = (2 * rng.integers(0, 2, size=chains) - 1).astype(np.int8)
        spins = np.broadcast_to(signs[:, None, None], (chains, size, size)).copy()
        sims.append(NumpyCheckerboard(spins, 1.0 / t, seed + 1 + k))
    per_chain = math.ceil(samples / chains)
    total, first = burn_in + per_chain * thin, burn_in - burn_in // 2
    e = np.empty((total - first, len(sims), chains), np.float32)
    m = np.empty_like(e)
    snaps = []
    for step in range(total):
        for k, sim in enumerate(sims):
            sim.sweep(1)
            if step >= first:
                e[step - first, k], m[step - first, k] = sim.energy(), np.abs(sim.magnetization())
        if step >= burn_in and (step - burn_in + 1) % thin == 0:
            snaps.append([sim.spins() for sim in sims])
    data = np.stack([np.concatenate([s[k] for s in snaps])[:samples] for k in range(len(sims))])
    with h5py.File(out, "w") as f:
        f["samples"] = data.reshape(-1, size, size)
        f["temperature"] = np.repeat(np.asarray(temperatures, np.float64), samples)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--temperatures", required=True, help="comma-separated")
    p.add_argument("--chains", type=int, default=32)
    p.add_argument("--samples", type=int, required=True)
    p.add_argument("--burn-in", type=int, default=1000)
    p.add_argument("--thin", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    job(a.size, [float(t) for t in a.temperatures.split(",")], a.chains, a.samples, a.burn_in, a.thin, a.seed, a.out)


if __name__ == "__main__":
    main()
