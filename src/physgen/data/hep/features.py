"""Per-event features of a 2 → 2 hard process from its four momenta.

Conventions (four-vectors ``(E, px, py, pz)`` in GeV, metric ``(+, −, −, −)``; beam A along +z):

- ``p1``, ``p2``: the incoming partons, ``p1`` from beam A (momentum fraction ``x1``), both massless.
- ``p3``, ``p4``: the outgoing particles; which is ``p3`` is fixed by the process, not by the
  event record's order (tt̄: the top, id 6; ℓℓ: the negative lepton; ℓν: the charged lepton).
- ``shat`` = x₁x₂s, ``that`` = (p₁ − p₃)² = m₃² − 2p₁·p₃, ``uhat`` = (p₁ − p₄)² = m₄² − 2p₁·p₄, so that
  ŝ + t̂ + û = m₃² + m₄² and ŝ ≥ (m₃ + m₄)².
- The thesis' variables: ``s`` = 2p₁·p₂ (= ŝ for massless partons), ``t`` = −2p₁·p₃ (= t̂ − m₃²),
  ``y`` = ½ ln(x₁/x₂), the rapidity of the p₃ + p₄ system.
- ``pthat``: the transverse momentum of p₃ in the partonic rest frame (= its lab p_T at hard level).
- ``p3_pt, p3_eta, p3_phi, p3_m`` and the same for ``p4``: transverse momentum, pseudorapidity,
  azimuth in (−π, π] and mass.

Reference: the Mandelstam variables and 2 → 2 kinematics follow Particle Data Group, *Review of
Particle Physics*, section "Kinematics" (Phys. Rev. D 110 (2024) 030001).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from physgen.errors import UserError

HARD_FEATURES = ("shat", "that", "uhat", "y", "x1", "x2", "pthat",
                 "p3_pt", "p3_eta", "p3_phi", "p3_m", "p4_pt", "p4_eta", "p4_phi", "p4_m")
THESIS_FEATURES = ("s", "t")
ALL_HARD_FEATURES = HARD_FEATURES + THESIS_FEATURES


CHARGED_LEPTONS = (11, 13, 15)
NEUTRINOS = (12, 14, 16)


def order_outgoing(id_a: int, id_b: int) -> bool:
    """Whether the second of two outgoing particles (PDG ids ``id_a``, ``id_b``) is p₃.

    p₃ is the top quark (id 6); else, of a lepton pair, the negative lepton (positive id); else the
    charged lepton against a neutrino; otherwise the first particle.
    """
    if id_a == 6 or id_b == 6:
        return id_b == 6 and id_a != 6
    if abs(id_a) in CHARGED_LEPTONS and abs(id_b) in CHARGED_LEPTONS:
        return id_b > 0 > id_a
    return abs(id_b) in CHARGED_LEPTONS and abs(id_a) in NEUTRINOS


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minkowski product of ``(N, 4)`` arrays ``(E, px, py, pz)`` → ``(N,)``."""
    return a[:, 0] * b[:, 0] - a[:, 1] * b[:, 1] - a[:, 2] * b[:, 2] - a[:, 3] * b[:, 3]


def pt_eta_phi(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(N, 4)`` four-momenta → transverse momentum, pseudorapidity η = asinh(p_z/p_T), azimuth φ."""
    pt = np.hypot(p[:, 1], p[:, 2])
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(p[:, 3] / pt)
    return pt, eta, np.arctan2(p[:, 2], p[:, 1])


def hard_features(kin: Mapping[str, np.ndarray], ecm: float) -> dict[str, np.ndarray]:
    """Every hard-level feature, float64 ``(N,)`` each.

    ``kin`` holds ``p1, p2, p3, p4`` ``(N, 4)``, ``m3, m4`` ``(N,)`` (the generated masses) and
    ``x1, x2`` ``(N,)``; ``ecm`` is √s of the beams in GeV.
    """
    p1, p2, p3, p4 = kin["p1"], kin["p2"], kin["p3"], kin["p4"]
    x1, x2 = np.asarray(kin["x1"], float), np.asarray(kin["x2"], float)
    m3, m4 = np.asarray(kin["m3"], float), np.asarray(kin["m4"], float)
    shat = x1 * x2 * float(ecm) ** 2
    p1p3, p1p4 = dot(p1, p3), dot(p1, p4)
    out = {"shat": shat, "that": m3 ** 2 - 2 * p1p3, "uhat": m4 ** 2 - 2 * p1p4,
           "y": 0.5 * np.log(x1 / x2), "x1": x1, "x2": x2}
    pt3, eta3, phi3 = pt_eta_phi(p3)
    pt4, eta4, phi4 = pt_eta_phi(p4)
    out.update(pthat=pt3, p3_pt=pt3, p3_eta=eta3, p3_phi=phi3, p3_m=m3,
               p4_pt=pt4, p4_eta=eta4, p4_phi=phi4, p4_m=m4, s=2 * dot(p1, p2), t=-2 * p1p3)
    return out


def select(features: Mapping[str, np.ndarray], names: Sequence[str], key: str = "features") -> np.ndarray:
    """Stack the named features into ``(N, len(names))`` float64; unknown names are a UserError about the
    parameter ``key`` that gave them."""
    unknown = [n for n in names if n not in features]
    if unknown:
        raise UserError(f"unknown feature {unknown[0]!r}; choose from {', '.join(features)}", key=key)
    return np.stack([np.asarray(features[n], dtype=np.float64) for n in names], axis=1)


def parse_features(text: str | None, available: Sequence[str], default: Sequence[str],
                   key: str = "features") -> list[str]:
    """``"s,t,y"`` → ``["s", "t", "y"]``, checked against ``available``; ``None`` → ``default``.  A UserError
    names the parameter ``key`` that gave ``text``."""
    if text is None:
        return list(default)
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise UserError("no feature names given", key=key)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise UserError(f"unknown feature {unknown[0]!r}; choose from {', '.join(available)}", key=key)
    if len(set(names)) != len(names):
        raise UserError(f"a feature is named twice in {text!r}", key=key)
    return names
