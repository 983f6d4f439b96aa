"""Observables of a real lattice field φ ``(N, L, L)`` with blocked jackknife errors.

With the magnetisation M = Σ_x φ_x, the volume V = L² and ⟨·⟩ the sample mean:

- ``m`` = ⟨M⟩/V and ``abs_m`` = ⟨|M|⟩/V;
- the connected two-point function G_c(x) = (1/V) Σ_y ⟨φ_y φ_{y+x}⟩ − ⟨φ̄⟩² (``two_point``, ``(L, L)``, from the
  FFT of each sample);
- the susceptibility χ₂ = Σ_x G_c(x) = V (⟨m²⟩ − ⟨m⟩²), m = M/V;
- the Binder ratio U₄ = 1 − ⟨M⁴⟩ / (3 ⟨M²⟩²) (2/3 deep in the ordered phase, 0 for a Gaussian M);
- the zero-momentum correlator G̃(t) = Σ_{x₂} G_c(t, x₂) and the pole mass from its effective mass
  m_eff(t) = arccosh[(G̃(t − 1) + G̃(t + 1)) / (2 G̃(t))], averaged over 1 ≤ t < L/2 where defined
  (Albergo, Kanwar & Shanahan, PRD 100, 034515, 2019, §IV).

Errors: the rows are cut into ``blocks`` contiguous blocks (rows of a Monte Carlo file are in time order, every
chain at one time after another), each estimate is recomputed with one block left out, and the jackknife variance
(B − 1)/B Σ (θ₋ᵦ − θ̄)² is reported (blocked jackknife: Efron 1982; Berg, *Markov Chain Monte Carlo Simulations*,
2004, §2.7).  Blocks longer than 2 τ_int make the errors those of independent blocks.
"""
from __future__ import annotations

import math

import numpy as np

DEFAULT_BLOCKS = 20


def _moments(x: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample sums the estimates need: M ``(N,)`` and the periodogram |φ̃(k)|² ``(N, L, L)``."""
    f = np.fft.fft2(x)
    return {"M": x.sum((1, 2)), "P": (f * np.conj(f)).real}


def _estimates(M: np.ndarray, P: np.ndarray, L: int) -> dict[str, np.ndarray | float]:
    V = L * L
    m = M / V
    G = np.real(np.fft.ifft2(P.mean(0))) / V - m.mean() ** 2           # (1/V) Σ_y ⟨φ_y φ_{y+x}⟩ − ⟨φ̄⟩²
    Gt = G.sum(1)                                                      # zero momentum along the second axis
    ratio = (np.roll(Gt, 1) + np.roll(Gt, -1)) / (2 * Gt)
    eff = [math.acosh(r) for r in ratio[1:max(2, L // 2)] if np.isfinite(r) and r >= 1]
    return {"m": float(m.mean()), "abs_m": float(np.abs(m).mean()), "chi2": float(V * m.var()),
            "binder": float(1 - (M ** 4).mean() / (3 * (M ** 2).mean() ** 2)),
            "pole_mass": float(np.mean(eff)) if eff else math.nan, "two_point": G, "zero_momentum": Gt}


def field_observables(x: np.ndarray, blocks: int = DEFAULT_BLOCKS) -> dict[str, dict]:
    """``{name: {"value", "error"}}`` for ``m``, ``abs_m``, ``chi2``, ``binder``, ``pole_mass`` and (arrays)
    ``two_point`` ``(L, L)`` and ``zero_momentum`` ``(L,)`` of fields ``x (N, L, L)`` (module docstring)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3 or x.shape[1] != x.shape[2] or len(x) < 2:
        raise ValueError(f"expected fields (N >= 2, L, L), got shape {x.shape}")
    L, mom = x.shape[1], _moments(x)
    full = _estimates(mom["M"], mom["P"], L)
    B = max(2, min(int(blocks), len(x)))
    edges = np.linspace(0, len(x), B + 1).astype(int)
    drops = []
    for b in range(B):
        keep = np.r_[0:edges[b], edges[b + 1]:len(x)]
        drops.append(_estimates(mom["M"][keep], mom["P"][keep], L))
    out = {}
    for key, value in full.items():
        values = np.array([d[key] for d in drops], dtype=np.float64)
        err = np.sqrt((B - 1) / B * ((values - values.mean(0)) ** 2).sum(0))
        out[key] = {"value": value, "error": err if np.ndim(value) else float(err)}
    return out
