"""Bootstrap confidence intervals for any scalar statistic of one or more samples.

Rows of each sample are resampled with replacement, independently per sample (Efron & Tibshirani,
*An Introduction to the Bootstrap*, 1993).  The resampling and interval maths are scipy's
(:func:`scipy.stats.bootstrap`); physgen resamples row *indices*, so a statistic may take
multivariate samples ``(N, *shape)``.
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
