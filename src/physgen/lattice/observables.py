"""The spin glass's order parameter: the overlap of independent replicas (Edwards & Anderson 1975; Parisi 1983).

For two independent configurations s, s′ of the same instance at the same temperature,
q = (1/N) Σ_i s_i s′_i.  Its distribution P(q) is symmetric at h = 0; in the paramagnet it narrows around 0 as
1/√N, in a glass phase it stays wide.  Summaries: ⟨q²⟩ (the spin-glass susceptibility over N) and the Binder
ratio g = ½ (3 − ⟨q⁴⟩/⟨q²⟩²) (Bhatt & Young, PRL 54, 924, 1985).  Replicas here are the rows r and r + ⌊n/2⌋ of
a sample, two halves with no row in common: for Monte Carlo files the halves hold different sweeps and
chains, for a model's draws independent draws.
"""
from __future__ import annotations

import numpy as np



def overlaps(x: np.ndarray) -> np.ndarray:
    """``(⌊n/2⌋,)`` overlaps q of rows r and r + ⌊n/2⌋ of spins ``x (n, L, L)``."""
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    half = len(flat) // 2
    return (flat[:half] * flat[half:2 * half]).mean(1)


def binder_ratio(q: np.ndarray) -> float:
    """g = ½ (3 − ⟨q⁴⟩/⟨q²⟩²) of overlaps ``q (n,)``."""
    m2 = float((q ** 2).mean())
    return 0.5 * (3 - float((q ** 4).mean()) / m2 ** 2) if m2 > 0 else float("nan")


def overlap_summary(q: np.ndarray, *, n_boot: int = 200, rng: np.random.Generator | None = None) -> dict:
    """``{"q2", "binder"}`` as :class:`~physgen.stats.Estimate` (bootstrap errors over the pairs) and
    ``"histogram"``: the q values (steps of 2/N) and their frequencies."""
    from physgen.stats import bootstrap

    q = np.asarray(q, dtype=np.float64)
    rng = rng if rng is not None else np.random.default_rng(0)
    levels, counts = np.unique(np.round(q, 9), return_counts=True)
    return {"q2": bootstrap(lambda v: float((v ** 2).mean()), q, n_boot=n_boot, rng=rng),
            "binder": bootstrap(binder_ratio, q, n_boot=n_boot, rng=rng),
            "histogram": {"q": levels.tolist(), "p": (counts / counts.sum()).tolist()}}


def exact_overlap_distribution(model, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """The exact P(q) of two independent replicas of a small ``model`` (enumeration): q levels and their
    probabilities."""
    from physgen.lattice import enumeration

    x, e, log_z = enumeration.boltzmann(model, temperature)
    p = np.exp(-e / temperature - log_z)
    flat = x.reshape(len(x), -1).astype(np.float64)
    q = np.round(flat @ flat.T / flat.shape[1], 9)
    levels, inverse = np.unique(q, return_inverse=True)
    return levels, np.bincount(inverse.ravel(), weights=np.outer(p, p).ravel())
