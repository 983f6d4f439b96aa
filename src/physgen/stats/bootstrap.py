"""Bootstrap confidence intervals for any scalar statistic of one or more samples.

:func:`bootstrap`: rows of each sample are resampled with replacement, independently per sample (Efron &
Tibshirani, *An Introduction to the Bootstrap*, 1993).  The resampling and interval maths are scipy's
(:func:`scipy.stats.bootstrap`); physgen resamples row *indices*, so a statistic may take
multivariate samples ``(N, *shape)``.

:func:`block_bootstrap`: for correlated (Markov-chain) rows and weighted rows.  Rows are grouped into
non-overlapping blocks of consecutive rows of one chain (:func:`block_labels`), and whole blocks are
resampled with replacement (Carlstein, Ann. Stat. 14, 1171, 1986; Künsch, Ann. Stat. 17, 1217, 1989), so
correlations shorter than a block survive the resampling.  A resample is represented by row weights (the
number of times each row's block was drawn, times the row's importance weight), and the statistic is
evaluated on the weighted empirical distribution: for self-normalised importance weights this is the
weighted bootstrap (resample indices, renormalise the weights).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A number with its uncertainty: standard ``error`` and a ``level`` confidence interval."""

    value: float
    error: float
    ci_low: float
    ci_high: float
    level: float = 0.68
    n_boot: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON-safe dict (NaN -> None)."""
        def clean(v: float) -> float | None:
            return None if v is None or not math.isfinite(v) else float(v)
        return {"value": clean(self.value), "error": clean(self.error), "ci_low": clean(self.ci_low),
                "ci_high": clean(self.ci_high), "level": self.level, "n_boot": self.n_boot}

    def __format__(self, spec: str) -> str:
        spec = spec or ".4g"
        return f"{self.value:{spec}} ± {self.error:{spec}}"


def _rng(rng: None | int | np.random.Generator) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def bootstrap(statistic: Callable[..., float], *samples: np.ndarray, n_boot: int = 1000, level: float = 0.68,
              rng: None | int | np.random.Generator = None, method: str = "percentile") -> Estimate:
    """Bootstrap estimate of ``statistic(*samples)``.

    Parameters
    ----------
    statistic : callable taking one array per sample (each ``(N_i, ...)``) and returning a float.
    samples : the data; rows (axis 0) are resampled with replacement, independently per sample.
    n_boot : number of resamples.  level : coverage of the interval (0.68 ~ ±1σ, 0.95 ~ ±2σ).
    method : ``"percentile"``, ``"basic"`` or ``"BCa"`` (scipy's names).

    Returns
    -------
    Estimate with ``value = statistic(*samples)``, ``error`` = bootstrap standard deviation and the
    interval.  With fewer than 2 rows in a sample the error is NaN (reported as ``null`` in JSON).
    """
    import scipy.stats  # imported where used: commands that never call this skip loading scipy.stats

    arrays = [np.asarray(s) for s in samples]
    value = float(statistic(*arrays))
    if min(len(a) for a in arrays) < 2 or n_boot < 2:
        return Estimate(value, math.nan, math.nan, math.nan, level, 0)
    index = tuple(np.arange(len(a)) for a in arrays)

    def on_indices(*ix: np.ndarray) -> float:
        return float(statistic(*(a[i] for a, i in zip(arrays, ix))))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.stats.DegenerateDataWarning)
        res = scipy.stats.bootstrap(index, on_indices, n_resamples=n_boot, vectorized=False, paired=False,
                                    confidence_level=level, method=method, rng=_rng(rng))
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (math.isfinite(low) and math.isfinite(high)):  # degenerate: every resample equal
        low = high = value
    return Estimate(value, float(res.standard_error), low, high, level, n_boot)


def block_labels(chain: np.ndarray, time: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping blocks of consecutive rows of each chain.

    ``chain`` ``(N,)``: the chain of each row; ``time`` ``(N,)``: its position in the chain (only the order
    matters).  A chain of ℓ rows is cut into k = max(1, round(ℓ/block)) blocks of ⌊ℓ/k⌋ or ⌈ℓ/k⌉
    consecutive rows; blocks never span two chains.  Returns ``(labels (N,), sizes (K,))``: the block of
    each row (0..K−1) and the number of rows in each block.
    """
    chain, time = np.asarray(chain).ravel(), np.asarray(time).ravel()
    if chain.shape != time.shape:
        raise ValueError(f"chain {chain.shape} and time {time.shape} must have the same shape")
    if int(block) < 1:
        raise ValueError(f"block: must be >= 1, got {block!r}")
    ids, c = np.unique(chain, return_inverse=True)
    order = np.lexsort((time, c))
    length = np.bincount(c, minlength=len(ids))
    start = np.concatenate([[0], np.cumsum(length)[:-1]])
    rank = np.empty(len(c), dtype=np.int64)
    rank[order] = np.arange(len(c)) - start[c[order]]
    k = np.maximum(1, np.rint(length / int(block)).astype(np.int64))
    offset = np.concatenate([[0], np.cumsum(k)[:-1]])
    labels = offset[c] + (rank * k[c]) // np.maximum(length[c], 1)
    return labels, np.bincount(labels, minlength=int(k.sum()))


def block_bootstrap_replicates(statistic: Callable[[np.ndarray, np.ndarray], np.ndarray], x: np.ndarray, *,
                               labels: np.ndarray | None = None, weights: np.ndarray | None = None,
                               n_boot: int = 1000, rng: None | int | np.random.Generator = None,
                               max_elements: int = 1 << 22) -> tuple[np.ndarray, np.ndarray]:
    """Value and block-bootstrap replicates of a weighted statistic (module docstring).

    ``statistic(x, w)``: ``w`` ``(B, N)`` non-negative row weights (not normalised) -> ``(B,)`` or
    ``(B, k)``; it must be a functional of the weighted empirical distribution (means, variances and
    their functions).  ``labels`` ``(N,)``: block of each row (:func:`block_labels`; default: every row its
    own block, the ordinary bootstrap).  ``weights`` ``(N,)``: importance weights (default 1).  Each of
    the ``n_boot`` resamples draws K of the K blocks with replacement.  Returns ``(value (k,), replicates
    (n_boot, k))`` (k = 1 for a scalar statistic); no replicates (shape ``(0, k)``) with fewer than 2 blocks.
    """
    x = np.asarray(x)
    n = len(x)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"weights: expected ({n},) finite non-negative numbers, got shape {w.shape}")
    labels = np.arange(n) if labels is None else np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"labels: expected shape ({n},), got {labels.shape}")
    value = np.asarray(statistic(x, w[None]), dtype=np.float64).reshape(1, -1)[0]
    n_blocks = int(labels.max()) + 1 if n else 0
    if n_blocks < 2 or n_boot < 1:
        return value, np.empty((0, value.size))
    gen = _rng(rng)
    chunk = max(1, max_elements // max(n, n_blocks))
    reps = []
    for start in range(0, int(n_boot), chunk):
        b = min(chunk, n_boot - start)
        drawn = gen.integers(0, n_blocks, size=(b, n_blocks)) + n_blocks * np.arange(b)[:, None]
        counts = np.bincount(drawn.ravel(), minlength=b * n_blocks).reshape(b, n_blocks)
        reps.append(np.asarray(statistic(x, counts[:, labels] * w), dtype=np.float64).reshape(len(counts), -1))
    return value, np.concatenate(reps)


def estimate_from_replicates(value: float, replicates: np.ndarray, level: float = 0.68,
                             scale: float = 1.0) -> Estimate:
    """Estimate from bootstrap replicates ``(B,)``: error = their standard deviation × ``scale``, percentile
    interval at ``level`` with its half-widths × ``scale`` (a variance correction such as the block-length
    correction of :func:`physgen.stats.autocorr.sum_variance`).  Non-finite replicates are dropped; fewer
    than 2 left gives a NaN error."""
    reps = np.asarray(replicates, dtype=np.float64).ravel()
    reps = reps[np.isfinite(reps)]
    value = float(value)
    if len(reps) < 2 or not math.isfinite(value):
        return Estimate(value, math.nan, math.nan, math.nan, level, 0)
    low, high = np.quantile(reps, [0.5 - level / 2, 0.5 + level / 2])
    return Estimate(value, float(reps.std(ddof=1) * scale), value - scale * (value - float(low)),
                    value + scale * (float(high) - value), level, len(reps))


def block_bootstrap(statistic: Callable[[np.ndarray, np.ndarray], np.ndarray], x: np.ndarray, *,
                    labels: np.ndarray | None = None, weights: np.ndarray | None = None, n_boot: int = 1000,
                    level: float = 0.68, rng: None | int | np.random.Generator = None) -> Estimate:
    """Block (and weighted) bootstrap :class:`Estimate` of a scalar ``statistic(x, w)``; arguments as for
    :func:`block_bootstrap_replicates`, interval and error as :func:`estimate_from_replicates`."""
    value, reps = block_bootstrap_replicates(statistic, x, labels=labels, weights=weights, n_boot=n_boot, rng=rng)
    return estimate_from_replicates(value[0], reps[:, 0] if reps.size else reps.ravel(), level)
