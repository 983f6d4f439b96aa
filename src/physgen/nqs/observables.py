"""σᶻ observables of sampled configurations, each with a blocking error.

From configurations ``s (T, B, N)`` (T sweeps of B walkers):

* ``magnetisation_abs`` ⟨|m|⟩ and ``magnetisation_sq`` ⟨m²⟩, m = (1/N) Σ_i σᶻ_i;
* ``nn_correlation`` ⟨σᶻ_i σᶻ_j⟩ averaged over the nearest-neighbour bonds;
* ``structure_factor`` S(q) = (1/N) Σ_ij e^{iq·(r_i − r_j)} ⟨σᶻ_i σᶻ_j⟩ = ⟨|Σ_j e^{iq·r_j} σᶻ_j|²⟩/N at every
  lattice momentum q = 2πn/L (periodic lattices; with open boundaries the same sums are taken).

Errors are blocking errors of the per-sweep means (:func:`physgen.nqs.estimators.mean_with_error`).
"""
from __future__ import annotations

import numpy as np

from physgen.nqs.estimators import mean_with_error


def _entry(values: np.ndarray) -> dict:
    mean, error = mean_with_error(values)
    return {"value": mean, "error": error}


def measure(s: np.ndarray, lattice) -> dict:
    """``s (T, B, N)`` → ``{name: {"value", "error"}}`` and ``structure_factor`` as lists over momenta."""
    n = s.shape[-1]
    m = s.mean(axis=-1)
    bonds = lattice.bonds(1)
    out = {"magnetisation_abs": _entry(np.abs(m)), "magnetisation_sq": _entry(m ** 2),
           "nn_correlation": _entry(np.mean(s[..., bonds[:, 0]] * s[..., bonds[:, 1]], axis=-1))}
    q = lattice.momenta                                                   # (N, d)
    phases = np.exp(1j * lattice.coords @ q.T)                            # (N sites, N momenta)
    sq = np.abs(s @ phases) ** 2 / n                                      # (T, B, N momenta)
    values, errors = zip(*(mean_with_error(sq[..., k]) for k in range(len(q))))
    out["structure_factor"] = {"q": q.tolist(), "value": list(values), "error": list(errors)}
    return out
