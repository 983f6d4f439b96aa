"""Multispin-coded checkerboard Metropolis for the 2D Ising model on CPU (numba), 64 chains per machine word.

Model and moves are those of :class:`~physgen.data.ising.metropolis.CheckerboardMetropolis` (periodic L×L,
L even, ``E = -J Σ_<ij> s_i s_j - h Σ s_i``, colour (i + j) even, then odd; a site flips with probability
min(1, e^{-βΔE}), and with p₀ = max(1/2, e^{-4β|J|}) where ΔE = 0), so the chains are Markov chains with
the same transition kernel; only the random numbers differ.

Multispin coding across replicas (Jacobs & Rebbi, J. Comput. Phys. 41, 203 (1981); Bhanot, Duke & Salvador,
J. Stat. Phys. 44, 985 (1986)).  Chain ``c`` is bit ``c mod 64`` of the words of group ``c // 64``: the
state is ``(G, L, L)`` uint64, a set bit meaning s = +1.  One sweep of a site updates its 64 chains with
word operations only:

* the antiparallel-neighbour indicators ``a_k = s ^ s_k`` (k = 4 neighbours) are added with bit-sliced
  half adders into one-hot masks ``n_0 … n_4`` of the number ``n`` of antiparallel neighbours, so that
  ``s_i Σ s_j = 4 - 2n``; with h ≠ 0 the masks are split by the site's own spin (10 classes);
* every chain draws a uniform 64-bit integer ``u`` and flips iff ``u < T``, where ``T = ⌊p · 2^64⌋`` is
  the threshold of its class and temperature (classes with p = 1 flip without a draw).  The comparison runs
  on bit planes, most significant first (the random bits of all 64 chains are one word per plane): a chain
  is decided at the first plane where its bit of ``u`` differs from its bit of ``T``, so the loop stops
  when all are decided, after ~log₂64 + 2 ≈ 8 words per site instead of 64.  Hence
  ``P(flip) = T / 2^64`` exactly: the float64 value of min(1, e^{-βΔE}) rounded down to a multiple of
  2^-64 (no error at all for p ≥ 2^-12, whose float64 mantissa fits in 64 bits).

Energies and magnetizations per chain come from bit-sliced vertical counters (one counter per chain in the
bits of a few words; ripple-carry additions).

Random bits: one xoshiro256** stream per row of each group (Blackman & Vigna, ACM Trans. Math. Softw. 47,
36 (2021)), seeded from ``numpy.random.SeedSequence(seed)``.  Within one colour the rows do not interact, so
they are updated in parallel (numba ``prange``, one parallel region per half sweep) on
:func:`kernel_threads` threads, and the chains depend on the seed, the number of chains and L only, never
on the number of threads.  Without numba, :data:`AVAILABLE` is False and nothing here can run.
"""
from __future__ import annotations

import numpy as np

from physgen.data.ising.multispin_kernels import (AVAILABLE, BAND, BITS, counts, numba, sweeps_ferro, sweeps_general,
                                                  unpack_words)
from physgen.threads import user_threads

__all__ = ["AVAILABLE", "BITS", "MultispinMetropolis", "kernel_threads", "pack", "unpack"]


def pack(spins: np.ndarray) -> np.ndarray:
    """(M, L, L) ±1 spins -> (G, L, L) uint64 words, G = ⌈M / 64⌉; chain c is bit c % 64 of group c // 64."""
    return _pack_chains(np.asarray(spins) > 0)


def unpack(words: np.ndarray, M: int) -> np.ndarray:
    """Inverse of :func:`pack`: (G, L, L) uint64 -> (M, L, L) int8 ±1."""
    out = np.empty((M,) + words.shape[1:], np.int8)
    if AVAILABLE:
        unpack_words(words, out)
        return out
    G, L = words.shape[0], words.shape[1]                               # pragma: no cover - numba is a dependency
    bits = np.unpackbits(np.ascontiguousarray(words, dtype="<u8").view(np.uint8).reshape(G, L, L, 8),
                         axis=-1, bitorder="little")
    out[:] = 2 * bits.transpose(0, 3, 1, 2).reshape(G * BITS, L, L)[:M].astype(np.int8) - 1
    return out


def flip_probabilities(beta: np.ndarray, J: float, h: float) -> tuple[np.ndarray, bool]:
    """(M, K) flip probabilities per chain and class, and whether classes are split by the spin (h ≠ 0).

    Class k = n (number of antiparallel neighbours) at h = 0, else k = 2n + [s = +1]:
    ΔE = 2 (J (4 - 2n) + h s), as s_i Σ s_j = 4 - 2n; p = min(1, e^{-βΔE}), and p₀ = max(1/2, e^{-4β|J|}) where ΔE = 0."""
    beta = np.asarray(beta, np.float64).reshape(-1, 1)
    split = h != 0.0
    n = np.repeat(np.arange(5), 2) if split else np.arange(5)
    s = np.tile([-1.0, 1.0], 5) if split else np.ones(5)
    d_e = 2.0 * (J * (4 - 2 * n) + h * s)
    with np.errstate(over="ignore"):
        p = np.minimum(1.0, np.exp(-beta * d_e[None, :]))
        p0 = np.maximum(0.5, np.exp(-4.0 * beta[:, 0] * abs(J)))
    p = np.where(d_e[None, :] == 0.0, p0[:, None], p)
    return p, split


def _pack_chains(bits: np.ndarray) -> np.ndarray:
    """(M, ...) booleans -> (G, ...) uint64 words, chain c in bit c % 64 of word c // 64."""
    M = bits.shape[0]
    G = -(-M // BITS)
    padded = np.zeros((G * BITS,) + bits.shape[1:], np.uint8)
    padded[:M] = bits
    moved = np.moveaxis(padded.reshape((G, BITS) + bits.shape[1:]), 1, -1)
    return np.ascontiguousarray(np.packbits(moved, axis=-1, bitorder="little")).view("<u8")[..., 0].astype(np.uint64)


def threshold_planes(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-chain probabilities (M, K) -> (planes (G, K, 64), certain (G, K)) for the sweep kernels.

    T = ⌊p · 2^64⌋, computed exactly from the float64 p (scaling by 2^64 is exact, and so is the floor
    and the conversion of a float below 2^64 to uint64); p = 1 is ``certain`` instead."""
    p = np.asarray(p, np.float64)
    certain = p >= 1.0
    t = np.floor(np.ldexp(np.where(certain, 0.0, p), BITS)).astype(np.uint64)            # (M, K)
    shifts = np.uint64(BITS - 1) - np.arange(BITS, dtype=np.uint64)
    bits = ((t[..., None] >> shifts) & np.uint64(1)).astype(bool)                        # (M, K, 64)
    return _pack_chains(bits), _pack_chains(certain)


PARALLEL_WORDS = 128 * 128
"""Words (chain groups × sites) per sweep from which the compiled loops run on several threads: below it a
half sweep takes a few microseconds, about the cost of starting and joining a parallel region."""


def kernel_threads(words: int) -> int:
    """Threads for sweeps of ``words`` machine words (groups × L²): 1 below :data:`PARALLEL_WORDS`; else the
    cores this process may run on (numba's count), or ``OMP_NUM_THREADS`` where the user set it
    (:func:`physgen.threads.user_threads`, as for torch).  The chains do not depend on it."""
    if words < PARALLEL_WORDS:
        return 1
    cores = int(numba.config.NUMBA_NUM_THREADS)
    given = user_threads()
    return cores if given is None else max(1, min(cores, given))


class _threads:
    """Run the block's compiled loops on ``n`` threads (numba's per-thread setting), then restore it."""

    def __init__(self, n: int):
        self.n = min(int(n), int(numba.config.NUMBA_NUM_THREADS))

    def __enter__(self):
        self.old = numba.get_num_threads()
        if self.n != self.old:
            numba.set_num_threads(self.n)

    def __exit__(self, *exc):
        if self.n != self.old:
            numba.set_num_threads(self.old)


class MultispinMetropolis:
    """``M`` Metropolis chains on periodic L×L lattices, 64 per machine word (module docstring).

    The interface of :class:`~physgen.data.ising.metropolis.CheckerboardMetropolis` on NumPy arrays:
    ``sweep(n)``, ``spins()`` (M, L, L) int8, ``set_spins``, ``energy_magnetization()`` ((M,), (M,)) float64.

    Parameters
    ----------
    spins : (M, L, L) ±1 array (L even).
    beta : (M,) inverse temperature of each chain.
    J, h : coupling and field.
    seed : seed of the random bits (one xoshiro256** stream per row of each group of 64 chains).
    threads : threads of the compiled loops (default :func:`kernel_threads`); the chains do not depend on it.
    """

    def __init__(self, spins, beta, *, J: float = 1.0, h: float = 0.0, seed: int = 0, threads: int | None = None):
        if not AVAILABLE:
            raise RuntimeError("the multispin engine needs numba (pip install numba)")
        spins = np.asarray(spins)
        if spins.ndim != 3 or spins.shape[1] != spins.shape[2] or spins.shape[1] % 2:
            raise ValueError(f"spins must be (M, L, L) with L even, got {tuple(spins.shape)}")
        self.M, self.L = int(spins.shape[0]), int(spins.shape[1])
        self.J, self.h = float(J), float(h)
        self.beta = np.asarray(beta, np.float64).reshape(-1)
        if self.beta.size != self.M:
            raise ValueError(f"beta has {self.beta.size} entries for {self.M} chains")
        self.G = -(-self.M // BITS)
        p, self.split = flip_probabilities(self.beta, self.J, self.h)
        self.thr, self.cert = threshold_planes(p)
        always, never_sure = p >= 1.0, p < 1.0
        self.certain = np.flatnonzero(always.any(0)).astype(np.int64)
        self.tested = np.flatnonzero(never_sure.any(0)).astype(np.int64)
        # the specialised kernel: h = 0, J > 0 and every chain tests n = 0, 1, 2 and always flips n = 3, 4
        self.ferro = (not self.split and self.J > 0 and bool(never_sure[:, :3].all()) and bool(always[:, 3:].all()))
        self.kernel = "ferro" if self.ferro else "general"
        self.active = np.zeros(self.G, np.uint64)
        for g in range(self.G):
            r = min(BITS, self.M - g * BITS)
            self.active[g] = np.uint64((1 << r) - 1) if r < BITS else ~np.uint64(0)
        rows = self.G * self.L
        state = np.random.SeedSequence(int(seed)).generate_state(4 * rows, np.uint64).reshape(self.G, self.L, 4)
        state[np.all(state == 0, axis=-1), 0] = 1                      # xoshiro's one forbidden state
        self.state = np.ascontiguousarray(state)
        self._counts = np.zeros((2, self.G * BITS), np.int64)
        self._part = np.zeros((self.G * (-(-self.L // BAND)), 2, BITS), np.int64)
        self.threads = kernel_threads(self.G * self.L * self.L) if threads is None else max(1, int(threads))
        self.set_spins(spins)

    def set_spins(self, spins) -> None:
        """Load an (M, L, L) ±1 configuration."""
        self.S = pack(np.asarray(spins))

    def spins(self) -> np.ndarray:
        """The current configuration, (M, L, L) int8 (a new array)."""
        with _threads(self.threads):
            return unpack(self.S, self.M)

    def sweep(self, n: int = 1, record: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
        """``n`` full sweeps (colour (i + j) even, then odd; M·L² flip attempts each), in one compiled call.

        With ``record``, returns e and m (each (n, M) float64, as :meth:`energy_magnetization`) after every
        sweep, measured inside the same call."""
        tallies = np.zeros((int(n) if record else 0, 2, self.G * BITS), np.int64)
        with _threads(self.threads):
            if self.ferro:
                sweeps_ferro(self.S, int(n), self.thr, self.active, self.state, tallies, self._part)
            else:
                sweeps_general(self.S, int(n), self.split, self.tested, self.certain, self.thr, self.cert,
                               self.active, self.state, tallies, self._part)
        return self._observables(tallies[:, 0, :self.M], tallies[:, 1, :self.M]) if record else None

    def energy_magnetization(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-spin energy e = E/L² and magnetization m = Σ s / L², each (M,) float64.

        From the antiparallel bonds a and up spins u of each chain: Σ_<ij> s_i s_j = 2L² − 2a, Σ s = 2u − L²."""
        with _threads(self.threads):
            counts(self.S, self._counts, self._part)
        return self._observables(self._counts[0, :self.M], self._counts[1, :self.M])

    def _observables(self, anti: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = float(self.L * self.L)
        bonds = 2.0 * n - 2.0 * anti
        total = 2.0 * up - n
        return (-self.J * bonds - self.h * total) / n, total / n
