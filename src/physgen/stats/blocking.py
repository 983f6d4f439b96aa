"""Standard error of the mean of a correlated series by blocking.

Flyvbjerg & Petersen, J. Chem. Phys. 91, 461 (1989): replace the series by the means of neighbouring
pairs, ``x'_i = (x_{2i} + x_{2i+1})/2``, and repeat.  The naive error ``σ_k/√n_k`` of level ``k`` grows
while blocks are shorter than the correlation time and then stays on a plateau, the true error of the mean.
The plateau is picked with Jonsson's automatic test (Phys. Rev. E 98, 043304 (2018)):
``M_j = Σ_{k≥j} n_k (γ_k/σ_k²)²`` (γ_k the lag-1 autocovariance of level k) is χ²-distributed with as many
degrees of freedom as terms once level j is uncorrelated; the first level with ``M_j`` below the 99 %
quantile is chosen.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BlockingResult:
    """``mean``, its ``error`` at the chosen ``level``, the naive error (level 0) and the error per level."""

    mean: float
    error: float
    level: int
    naive_error: float
    errors: tuple[float, ...]

    def as_dict(self) -> dict:
        return {"mean": self.mean, "error": self.error, "level": self.level, "naive_error": self.naive_error,
                "errors_by_level": list(self.errors)}


def blocking(series, min_blocks: int = 4) -> BlockingResult:
    """Blocking error of the mean of a 1-D series ``(n,)``.

    Series of odd length at some level lose their first element there (the start of a Markov chain is
    the least equilibrated part).  Levels stop when fewer than ``min_blocks`` blocks would remain.
    """
    x = np.asarray(series, dtype=np.float64).ravel()
    if x.size < 2:
        raise ValueError(f"blocking: needs at least 2 values, got {x.size}")
    mean = float(x.mean())
    var, gamma, sizes, errors = [], [], [], []
    while x.size >= max(min_blocks, 2):
        n = x.size
        d = x - x.mean()
        v = float(np.mean(d ** 2))
        var.append(v)
        gamma.append(float(np.mean(d[:-1] * d[1:])) if n > 1 else 0.0)
        sizes.append(n)
        errors.append(float(np.sqrt(v / (n - 1))))
        if n % 2:
            x = x[1:]
        x = 0.5 * (x[0::2] + x[1::2])
    var, gamma, sizes = np.array(var), np.array(gamma), np.array(sizes)
    if np.all(var == 0):
        return BlockingResult(mean, 0.0, 0, 0.0, tuple(errors))
    from scipy.stats import chi2                                        # (scipy.stats takes ~0.4 s to import)

    terms = sizes * (gamma / np.where(var > 0, var, 1.0)) ** 2
    m_stat = np.cumsum(terms[::-1])[::-1]
    level = len(errors) - 1
    for j in range(len(errors)):
        if m_stat[j] < chi2.ppf(0.99, len(errors) - j):
            level = j
            break
    return BlockingResult(mean, errors[level], level, errors[0], tuple(errors))
