"""How the rows of an Ising sample were produced, and the bootstrap blocks that follow from it.

:class:`Sampling` records, for the N rows of a sample at one temperature, the Markov chain ``chain`` ``(N,)``
and position ``time`` ``(N,)`` of each row and the integrated autocorrelation times τ_int of e and |m| in
stored samples (½ for independent rows).  The block bootstrap of :mod:`physgen.physics.observables` cuts each
chain into blocks of b = ⌈4 τ_int⌉ − 1 consecutive stored samples (:func:`block_length`; Carlstein 1986,
Künsch 1989; τ_int as in Sokal 1997 §3), shortened so that a sample keeps at least :data:`MIN_BLOCKS` blocks.
A block bootstrap misses the correlation across block boundaries inside a chain, a relative bias
O(τ_int/b) of the variance (Künsch 1989; Lahiri, *Resampling Methods for Dependent Data*, 2003, ch. 3);
:func:`block_bias_correction` gives the factor sqrt(Σ_chains v(ℓ_c) / Σ_blocks v(ℓ_B)) that corrects it
under a single-exponential autocorrelation, v(ℓ) the variance of a sum of ℓ consecutive values.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from physgen.errors import UserError

MIN_BLOCKS = 10
"""Blocks are shortened so that a sample has at least this many (where it has that many rows)."""


@dataclass(frozen=True, eq=False)
class Sampling:
    """How the N rows of a sample at one temperature were produced.

    ``chain`` ``(N,)``: the Markov chain of each row; ``time`` ``(N,)``: its position in that chain (only
    the order matters); ``tau_energy``, ``tau_abs_m``: τ_int of e and of |m| in stored samples (½ for
    independent rows); ``source``: where they come from (``"independent"``, ``"file attributes"``,
    ``"estimated"``).
    """

    chain: np.ndarray
    time: np.ndarray
    tau_energy: float = 0.5
    tau_abs_m: float = 0.5
    source: str = "independent"

    def __post_init__(self) -> None:
        chain, time = np.asarray(self.chain).ravel(), np.asarray(self.time).ravel()
        if chain.shape != time.shape:
            raise UserError(f"sampling: chain {chain.shape} and time {time.shape} must have one entry per row")
        for name in ("tau_energy", "tau_abs_m"):
            tau = float(getattr(self, name))
            if not (math.isfinite(tau) and tau >= 0):
                raise UserError(f"sampling: {name} must be a finite number >= 0, got {getattr(self, name)!r}")
        object.__setattr__(self, "chain", chain)
        object.__setattr__(self, "time", time)

    def __len__(self) -> int:
        return len(self.chain)

    def tau(self, series: str) -> float:
        """τ_int (stored samples) of ``"energy"`` or ``"abs_m"``."""
        return float(self.tau_energy if series == "energy" else self.tau_abs_m)

    @property
    def n_chains(self) -> int:
        return int(len(np.unique(self.chain)))

    @classmethod
    def independent(cls, n: int) -> "Sampling":
        """``n`` independent rows (each its own chain)."""
        return cls(np.arange(n), np.zeros(n, dtype=np.int64))

    @classmethod
    def chains(cls, parts: list[tuple[int, int]], *, order: str, tau_energy: float, tau_abs_m: float,
               source: str = "file attributes") -> "Sampling":
        """Rows of consecutive ``parts`` ``[(rows, chains), ...]`` (one per simulation run), each ordered
        ``"time-major"`` (row i of a part: chain i mod c, step i div c; :func:`physgen.data.ising.simulate`)
        or ``"chain-major"`` (chain i div ⌈rows/c⌉; ``physgen sample --mcmc``)."""
        chain, time, offset = [], [], 0
        for rows, c in parts:
            i = np.arange(int(rows))
            per = -(-int(rows) // int(c))
            chain.append(offset + (i % c if order == "time-major" else i // per))
            time.append(i // c if order == "time-major" else i % per)
            offset += int(c)
        return cls(np.concatenate(chain), np.concatenate(time), tau_energy, tau_abs_m, source)

    @classmethod
    def estimated(cls, e: np.ndarray, m: np.ndarray, chain: np.ndarray | None = None,
                  time: np.ndarray | None = None) -> "Sampling":
        """τ_int of the series ``e`` and ``|m|`` ``(N,)`` measured on the rows themselves (Sokal's window,
        :func:`physgen.stats.autocorr.integrated_autocorrelation_time`, chains truncated to the shortest);
        one chain in row order unless ``chain``/``time`` say otherwise."""
        from physgen.stats.autocorr import integrated_autocorrelation_time

        n = len(e)
        chain = np.zeros(n, dtype=np.int64) if chain is None else np.asarray(chain)
        time = np.arange(n) if time is None else np.asarray(time)
        ids, c = np.unique(chain, return_inverse=True)
        order = np.lexsort((time, c))
        shortest = int(np.bincount(c).min()) if n else 0

        def tau(x: np.ndarray) -> float:
            if shortest < 4:
                return 0.5
            series = np.stack([x[order][c[order] == k][:shortest] for k in range(len(ids))])
            return integrated_autocorrelation_time(series)
        return cls(chain, time, tau(np.asarray(e, np.float64)), tau(np.abs(np.asarray(m, np.float64))), "estimated")

    def take(self, index: np.ndarray) -> "Sampling":
        """The rows ``index`` (their chains, steps and τ_int)."""
        return Sampling(self.chain[index], self.time[index], self.tau_energy, self.tau_abs_m, self.source)

    def halves(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Two disjoint halves ``(A, B)`` of the row indices that share no chain segment: chains in random
        order, the first ⌊C/2⌋ to A and the next ⌊C/2⌋ to B; an odd chain out is split in time (its first
        half to A, its second to B).  Independent rows: a random split into two halves of ⌊N/2⌋."""
        ids = rng.permutation(np.unique(self.chain))
        k = len(ids) // 2
        a, b = np.isin(self.chain, ids[:k]), np.isin(self.chain, ids[k:2 * k])
        ia, ib = [np.flatnonzero(a)], [np.flatnonzero(b)]
        if len(ids) % 2:
            rest = np.flatnonzero(self.chain == ids[-1])
            rest = rest[np.argsort(self.time[rest], kind="stable")]
            ia.append(rest[:len(rest) // 2])
            ib.append(rest[len(rest) - len(rest) // 2:])
        return rng.permutation(np.concatenate(ia)), rng.permutation(np.concatenate(ib))

    def describe(self) -> dict:
        """JSON summary: chains, τ_int of e and |m| (stored samples) and their source."""
        return {"chains": self.n_chains, "tau_int_energy": float(self.tau_energy),
                "tau_int_abs_m": float(self.tau_abs_m), "tau_source": self.source}


def block_length(tau: float, n: int) -> int:
    """Block length b = ⌈4 τ_int⌉ − 1 stored samples (1 for independent rows; ≥ 2 τ_int for τ_int ≥ ½),
    shortened to ⌊n/MIN_BLOCKS⌋ (at least 1) so that a sample of ``n`` rows keeps enough blocks."""
    b = max(1, math.ceil(4.0 * float(tau) - 1e-9) - 1)
    return int(max(1, min(b, n // MIN_BLOCKS)))


def block_bias_correction(sampling: Sampling, block_sizes: np.ndarray, tau: float) -> float:
    """Factor sqrt(Σ_chains v(ℓ_c) / Σ_blocks v(ℓ_B)) by which a block-bootstrap error is scaled: the true
    variance of a mean over the chains over the one the blocks see, v(ℓ) the variance of a sum of ℓ
    consecutive values under a single-exponential autocorrelation with τ_int ``tau``
    (:func:`physgen.stats.autocorr.sum_variance`).  1 when blocks are whole chains or τ_int = ½."""
    from physgen.stats.autocorr import sum_variance

    chains = np.bincount(np.unique(sampling.chain, return_inverse=True)[1])
    inside = float(np.sum(sum_variance(block_sizes, tau)))
    return math.sqrt(float(np.sum(sum_variance(chains, tau))) / inside) if inside > 0 else 1.0
