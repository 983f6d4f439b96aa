"""tt̄ events rebuilt from the thesis' three features (s, t, y), so generated samples can be written as LHE.

With on-shell tops of mass m, s = ŝ, β = √(1 − 4m²/s), the top's angle in the tt̄ rest frame is
cos θ* = (1 + 2t/s)/β (from t = −2p₁·p₃ = −(s/2)(1 − β cos θ*)), and the momentum fractions are
x₁,₂ = √(s/S) e^{±y}.  The event is built in the tt̄ rest frame with the azimuth φ drawn uniformly
(the features do not fix it) and boosted along z by y.  Incoming partons are written as gluons (the
features do not say which channel made the event).  Rows outside the physical region (s < 4m²,
|cos θ*| > 1, x > 1) are reported in a mask.
"""
from __future__ import annotations

import numpy as np


def ttbar_from_sty(s: np.ndarray, t: np.ndarray, y: np.ndarray, *, ecm: float, mass: float,
                   rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Kinematics ``p1..p4`` ``(K, 4)``, ``m3, m4, x1, x2``, ids of the physical rows, and the ``(N,)`` mask of them."""
    s, t, y = (np.asarray(v, dtype=np.float64) for v in (s, t, y))
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = np.sqrt(1 - 4 * mass * mass / s)
        cos = (1 + 2 * t / s) / beta
        tau = np.sqrt(s) / float(ecm)
        x1, x2 = tau * np.exp(y), tau * np.exp(-y)
    ok = (s > 4 * mass * mass) & (np.abs(cos) <= 1) & (x1 <= 1) & (x2 <= 1) & np.isfinite(cos + x1 + x2)
    s, y, beta, cos, x1, x2 = s[ok], y[ok], beta[ok], cos[ok], x1[ok], x2[ok]
    phi = rng.uniform(-np.pi, np.pi, size=len(s))
    half = np.sqrt(s) / 2
    p = half * beta
    sin = np.sqrt(np.clip(1 - cos * cos, 0, None))
    top = np.stack([half, p * sin * np.cos(phi), p * sin * np.sin(phi), p * cos], axis=1)
    anti = top * np.array([1, -1, -1, -1])
    e_beam = float(ecm) / 2
    p1 = np.stack([x1 * e_beam, 0 * x1, 0 * x1, x1 * e_beam], axis=1)
    p2 = np.stack([x2 * e_beam, 0 * x2, 0 * x2, -x2 * e_beam], axis=1)
    kin = {"p1": p1, "p2": p2, "p3": _boost_z(top, y), "p4": _boost_z(anti, y),
           "m3": np.full(len(s), float(mass)), "m4": np.full(len(s), float(mass)), "x1": x1, "x2": x2}
    n = len(s)
    kin.update(id1=np.full(n, 21), id2=np.full(n, 21), id3=np.full(n, 6), id4=np.full(n, -6), code=np.full(n, 601))
    return kin, ok


def _boost_z(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Boost ``(K, 4)`` four-momenta along z by rapidity ``y``."""
    ch, sh = np.cosh(y), np.sinh(y)
    return np.stack([ch * p[:, 0] + sh * p[:, 3], p[:, 1], p[:, 2], sh * p[:, 0] + ch * p[:, 3]], axis=1)
