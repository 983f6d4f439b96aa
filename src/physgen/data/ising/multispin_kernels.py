"""The compiled word-level kernels of the multispin engine (:mod:`physgen.data.ising.multispin`, whose docstring
gives the method and its references): 64 chains per uint64 word, one xoshiro256** stream per row (Blackman &
Vigna, ACM Trans. Math. Softw. 47, 36 (2021)), the rows of one colour in parallel (numba ``prange``).

* :func:`sweeps_ferro`, :func:`sweeps_general` — n checkerboard sweeps, optionally counting after each;
* :func:`counts` — antiparallel bonds and up spins per chain;
* :func:`unpack_words` — words to ±1 spins.

Without numba, :data:`AVAILABLE` is False and the functions are the plain Python ones (never called).
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


# Both sweep kernels keep the xoshiro256** state (Blackman & Vigna 2021) in four local words, advance it
# once per random plane and write it back after each row; bit r of ``thr[g, k, b]`` is bit 63 - b of
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
def counts(S, out, part):
    """Per chain: antiparallel bonds (``out[0]``) and up spins (``out[1]``), out (2, G·64) int64; ``part``
    (G·⌈L/BAND⌉, 2, 64) is work space."""
    nb = part.shape[0] // S.shape[0]
    for k in numba.prange(part.shape[0]):
        _count_band(S, k, nb, part[k])
    _sum_bands(part, nb, out)


@_njit(parallel=True)
def sweeps_ferro(S, n, thr, active, state, tallies, part):
    """``n`` sweeps at h = 0, J > 0: classes n = 0, 1, 2 (ΔE = 8J, 4J, 0; ``thr[:, 0..2]``) are tested,
    n ≥ 3 (ΔE < 0) always flip.  S (G, L, L) uint64 in place; active (G,) real chains; state (G, L, 4).
    Where ``tallies`` (n, 2, G·64) is not empty, ``tallies[t]`` receives the counts of :func:`counts` after
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
        if tallies.shape[0] > 0:
            counts(S, tallies[t], part)


@_njit(parallel=True)
def sweeps_general(S, n, split, tested, certain, thr, cert, active, state, tallies, part):
    """``n`` sweeps for any J, h.  Classes k = n (split False) or k = 2n + [s = +1] (split True); chains
    in ``cert[g, k]`` always flip in class k, the others draw against ``thr[g, k]``.  ``certain`` and
    ``tested`` list the classes where some chain does the one or the other.  Rows in parallel, and
    ``tallies``, as in :func:`sweeps_ferro`."""
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
        if tallies.shape[0] > 0:
            counts(S, tallies[t], part)


@_njit(parallel=True)
def unpack_words(S, out):
    """out[c] = ±1 spins of chain c (bit c % 64 of group c // 64), out (M, L, L) int8."""
    L = S.shape[1]
    for c in numba.prange(out.shape[0]):
        g, r = c // BITS, np.uint64(c % BITS)
        for i in range(L):
            for j in range(L):
                out[c, i, j] = np.int8(2 * np.int64((S[g, i, j] >> r) & np.uint64(1)) - 1)
