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

import os

import numpy as np

# GNU OpenMP (numba's threading layer here) lets a thread that waits at the end of a parallel region spin for
# GOMP_SPINCOUNT iterations (300,000 by default) before it sleeps.  A half sweep is a short region: with the
# default, two such processes on two cores spin against each other and each runs many times slower than on one
# thread, while a short spin keeps the idle speed (benchmarks/records/ising.md).  libgomp reads the value when it
# is first loaded: where torch (which brings its own copy) was imported first, its setting stays.
if not (os.environ.get("GOMP_SPINCOUNT") or os.environ.get("OMP_WAIT_POLICY")):
    os.environ["GOMP_SPINCOUNT"] = "1000"

try:
    import numba
except ImportError:                                                     # pragma: no cover - numba is a dependency
    numba = None

AVAILABLE = numba is not None
BITS = 64


def _njit(fn=None, **kw):
    if fn is None:
        return lambda f: _njit(f, **kw)
    return numba.njit(cache=True, nogil=True, boundscheck=False, **kw)(fn) if AVAILABLE else fn


# ------------------------------------------------------------------------------------------ kernels
# Both sweep kernels keep the xoshiro256** state (Blackman & Vigna 2021) in four local words, advance it
# once per random plane and write it back after each group; bit r of ``thr[g, k, b]`` is bit 63 - b of
# chain 64g + r's threshold for class k.

@_njit(inline="always")
def _xoshiro(s0, s1, s2, s3):
    """One xoshiro256** step: (64 random bits, the next state)."""
    x = s1 * np.uint64(5)
    u = ((x << np.uint64(7)) | (x >> np.uint64(57))) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << np.uint64(45)) | (s3 >> np.uint64(19))
    return u, s0, s1, s2, s3


@_njit(inline="always")
def _site(row, up, dn, j, L, act):
    """The spin word of site (i, j) and the one-hot masks n_0 … n_4 of its number of antiparallel
    neighbours (bit-sliced half adders on the indicators a_k = s ^ s_k), restricted to ``act``."""
    s = row[j]
    a1 = s ^ up[j]
    a2 = s ^ dn[j]
    a3 = s ^ row[j - 1 if j > 0 else L - 1]
    a4 = s ^ row[j + 1 if j < L - 1 else 0]
    x1, c1, z1 = a1 ^ a2, a1 & a2, ~(a1 | a2)                          # a1 + a2 = 1, 2, 0
    x2, c2, z2 = a3 ^ a4, a3 & a4, ~(a3 | a4)
    return (s, z1 & z2 & act, ((x1 & z2) | (z1 & x2)) & act, ((c1 & z2) | (x1 & x2) | (z1 & c2)) & act,
            ((c1 & x2) | (x1 & c2)) & act, c1 & c2 & act)


@_njit(inline="always")
def _row(S, k, L):
    """Row ``k`` of the (G·L) rows of all groups: (group, row index, the row and its upper and lower neighbours)."""
    g, i = k // L, k % L
    return g, i, S[g, i], S[g, i - 1 if i > 0 else L - 1], S[g, i + 1 if i < L - 1 else 0]


@_njit(inline="always")
def _draw(eq, t0, t1, t2, m0, m1, m2, st):
    """The chains of ``eq`` that draw u < T, T = t0 (chains m0) | t1 (m1) | t2 (m2) per bit plane, most
    significant plane first; ``st`` is the row's xoshiro256** state (4,), advanced once per plane drawn."""
    zero = np.uint64(0)
    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]
    lt = zero
    b = 0
    while eq and b < BITS:
        u, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
        tb = (m0 & t0[b]) | (m1 & t1[b]) | (m2 & t2[b])
        lt |= eq & tb & ~u                                              # u_b = 0 < T_b = 1: flip
        eq &= ~(u ^ tb)                                                 # still equal so far
        b += 1
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3
    return lt


BAND = 16
"""Rows per band of the counters (the bands of all groups are counted in parallel)."""


@_njit(inline="always")
def _count_band(S, k, nb, acc):
    """Antiparallel bonds (``acc[0]``) and up spins (``acc[1]``) of each of the 64 chains in band ``k % nb`` of
    group ``k // nb``, acc (2, 64) int64: bit-sliced vertical counters of 8 planes (branch-free additions),
    emptied into ``acc`` every 127 sites, before they can overflow."""
    L = S.shape[1]
    g, band = k // nb, k % nb
    planes = np.zeros((2, 8), np.uint64)
    acc[:] = 0
    stop = min(L, (band + 1) * BAND)
    n = 0
    for i in range(band * BAND, stop):
        dn = S[g, i + 1 if i < L - 1 else 0]
        row = S[g, i]
        for j in range(L):
            s = row[j]
            for q in range(3):
                x = s ^ dn[j] if q == 0 else (s ^ row[j + 1 if j < L - 1 else 0] if q == 1 else s)
                p = 0 if q < 2 else 1
                for w in range(8):
                    t = planes[p, w] & x
                    planes[p, w] ^= x
                    x = t
            n += 1
            if n == 127 or (i == stop - 1 and j == L - 1):
                for p in range(2):
                    for w in range(8):
                        v = planes[p, w]
                        for r in range(BITS):
                            acc[p, r] += np.int64((v >> np.uint64(r)) & np.uint64(1)) << w
                        planes[p, w] = 0
                n = 0


@_njit(inline="always")
def _sum_bands(part, nb, out):
    """out (2, G·64) = the bands' counts ``part`` (G·nb, 2, 64) summed per group (integers: the same for any
    number of threads)."""
    out[:] = 0
    for k in range(part.shape[0]):
        g = k // nb
        for p in range(2):
            for r in range(BITS):
                out[p, g * BITS + r] += part[k, p, r]


@_njit(parallel=True)
def _counts(S, out, part):
    """Per chain: antiparallel bonds (``out[0]``) and up spins (``out[1]``), out (2, G·64) int64; ``part``
    (G·⌈L/BAND⌉, 2, 64) is work space."""
    nb = part.shape[0] // S.shape[0]
    for k in numba.prange(part.shape[0]):
        _count_band(S, k, nb, part[k])
    _sum_bands(part, nb, out)


@_njit(parallel=True)
def _sweeps_ferro(S, n, thr, active, state, counts, part):
    """``n`` sweeps at h = 0, J > 0: classes n = 0, 1, 2 (ΔE = 8J, 4J, 0; ``thr[:, 0..2]``) are tested,
    n ≥ 3 (ΔE < 0) always flip.  S (G, L, L) uint64 in place; active (G,) real chains; state (G, L, 4).
    Where ``counts`` (n, 2, G·64) is not empty, ``counts[t]`` receives the counts of :func:`_counts` after
    sweep t (``part`` is their work space).

    Within one colour the rows are independent (a row's sites of that colour see only sites of the other
    colour), and row i of group g draws from its own stream ``state[g, i]``: the rows run in parallel and
    the result does not depend on the number of threads."""
    G, L = S.shape[0], S.shape[1]
    for t in range(n):
        for colour in range(2):
            for k in numba.prange(G * L):
                g, i, row, up, dn = _row(S, k, L)
                t8, t4, t0, act, st = thr[g, 0], thr[g, 1], thr[g, 2], active[g], state[g, i]
                for j in range((i + colour) & 1, L, 2):
                    s, n0, n1, n2, n3, n4 = _site(row, up, dn, j, L, act)
                    row[j] = s ^ (n3 | n4 | _draw(n0 | n1 | n2, t8, t4, t0, n0, n1, n2, st))
        if counts.shape[0] > 0:
            _counts(S, counts[t], part)


@_njit(parallel=True)
def _sweeps_general(S, n, split, tested, certain, thr, cert, active, state, counts, part):
    """``n`` sweeps for any J, h.  Classes k = n (split False) or k = 2n + [s = +1] (split True); chains
    in ``cert[g, k]`` always flip in class k, the others draw against ``thr[g, k]``.  ``certain`` and
    ``tested`` list the classes where some chain does the one or the other.  Rows in parallel, and
    ``counts``, as in :func:`_sweeps_ferro`."""
    G, L = S.shape[0], S.shape[1]
    Q, C = tested.shape[0], certain.shape[0]
    zero = np.uint64(0)
    for t in range(n):
        for colour in range(2):
            for k in numba.prange(G * L):
                g, i, row, up, dn = _row(S, k, L)
                tg, cg, act, st = thr[g], cert[g], active[g], state[g, i]
                cls = np.empty(10, np.uint64)
                tm = np.empty(10, np.uint64)
                for j in range((i + colour) & 1, L, 2):
                    s, n0, n1, n2, n3, n4 = _site(row, up, dn, j, L, act)
                    if split:
                        ns = ~s
                        cls[0], cls[1], cls[2], cls[3], cls[4] = n0 & ns, n0 & s, n1 & ns, n1 & s, n2 & ns
                        cls[5], cls[6], cls[7], cls[8], cls[9] = n2 & s, n3 & ns, n3 & s, n4 & ns, n4 & s
                    else:
                        cls[0], cls[1], cls[2], cls[3], cls[4] = n0, n1, n2, n3, n4
                    flip = zero
                    for q in range(C):
                        flip |= cls[certain[q]] & cg[certain[q]]
                    eq = zero
                    for q in range(Q):
                        tm[q] = cls[tested[q]] & ~cg[tested[q]]
                        eq |= tm[q]
                    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]
                    lt = zero
                    b = 0
                    while eq and b < BITS:
                        u, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
                        tb = zero
                        for q in range(Q):
                            tb |= tm[q] & tg[tested[q], b]
                        lt |= eq & tb & ~u
                        eq &= ~(u ^ tb)
                        b += 1
                    st[0], st[1], st[2], st[3] = s0, s1, s2, s3
                    row[j] = s ^ (flip | lt)
        if counts.shape[0] > 0:
            _counts(S, counts[t], part)


@_njit(parallel=True)
def _unpack(S, out):
    """out[c] = ±1 spins of chain c (bit c % 64 of group c // 64), out (M, L, L) int8."""
    L = S.shape[1]
    for c in numba.prange(out.shape[0]):
        g, r = c // BITS, np.uint64(c % BITS)
        for i in range(L):
            for j in range(L):
                out[c, i, j] = np.int8(2 * np.int64((S[g, i, j] >> r) & np.uint64(1)) - 1)


# ------------------------------------------------------------------------------------------ engine
def pack(spins: np.ndarray) -> np.ndarray:
    """(M, L, L) ±1 spins -> (G, L, L) uint64 words, G = ⌈M / 64⌉; chain c is bit c % 64 of group c // 64."""
    return _pack_chains(np.asarray(spins) > 0)


def unpack(words: np.ndarray, M: int) -> np.ndarray:
    """Inverse of :func:`pack`: (G, L, L) uint64 -> (M, L, L) int8 ±1."""
    out = np.empty((M,) + words.shape[1:], np.int8)
    if AVAILABLE:
        _unpack(words, out)
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
    cores this process may run on (numba's count), or ``OMP_NUM_THREADS`` where the user set it (as for torch,
    :mod:`physgen.threads`).  The chains do not depend on it."""
    if words < PARALLEL_WORDS:
        return 1
    cores = int(numba.config.NUMBA_NUM_THREADS)
    given = os.environ.get("OMP_NUM_THREADS", "").strip()
    return max(1, min(cores, int(given))) if given.isdigit() else cores


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
        counts = np.zeros((int(n) if record else 0, 2, self.G * BITS), np.int64)
        with _threads(self.threads):
            if self.ferro:
                _sweeps_ferro(self.S, int(n), self.thr, self.active, self.state, counts, self._part)
            else:
                _sweeps_general(self.S, int(n), self.split, self.tested, self.certain, self.thr, self.cert,
                                self.active, self.state, counts, self._part)
        return self._observables(counts[:, 0, :self.M], counts[:, 1, :self.M]) if record else None

    def energy_magnetization(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-spin energy e = E/L² and magnetization m = Σ s / L², each (M,) float64.

        From the antiparallel bonds a and up spins u of each chain: Σ_<ij> s_i s_j = 2L² − 2a, Σ s = 2u − L²."""
        with _threads(self.threads):
            _counts(self.S, self._counts, self._part)
        return self._observables(self._counts[0, :self.M], self._counts[1, :self.M])

    def _observables(self, anti: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = float(self.L * self.L)
        bonds = 2.0 * n - 2.0 * anti
        total = 2.0 * up - n
        return (-self.J * bonds - self.h * total) / n, total / n
