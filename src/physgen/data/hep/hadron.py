"""Hadron-level features of one event: anti-k_T jets (fastjet) and isolated leptons.

From the final-state visible particles (neutrinos excluded):

- leptons: electrons and muons with p_T ≥ 10 GeV and |η| ≤ 2.5 whose isolation cone (ΔR < 0.3) holds
  less than 15 % of their p_T in other visible particles; the leading ``n_leptons`` by p_T;
- jets: anti-k_T with radius ``R`` (default 0.4) over the visible particles except those leptons, p_T ≥
  ``jet_pt_min`` (default 20 GeV); the leading ``n_jets`` by p_T;
- ``met``: the magnitude of minus the vector sum of the visible particles' transverse momenta.

Features per event: ``njet``, ``nlep`` (counts before truncation), ``met``, then ``jet{i}_{pt,eta,phi,m}``
and ``lep{i}_{pt,eta,phi,m}``; missing jets or leptons are zeros (``njet``/``nlep`` tell which).

References: M. Cacciari, G. P. Salam, G. Soyez, "The anti-k_t jet clustering algorithm", JHEP 04 (2008)
063, arXiv:0802.1189; M. Cacciari, G. P. Salam, G. Soyez, "FastJet user manual", Eur. Phys. J. C 72
(2012) 1896, arXiv:1111.6097.
"""
from __future__ import annotations

import numpy as np

from physgen.errors import UserError

INSTALL_HINT = "hadron-level jets need fastjet: pip install 'physgen[hep]' (or pip install fastjet)"
LEPTON_PT_MIN = 10.0
LEPTON_ETA_MAX = 2.5
ISOLATION_R = 0.3
ISOLATION_FRACTION = 0.15
NEUTRINOS = (12, 14, 16)


def feature_names(n_jets: int, n_leptons: int) -> list[str]:
    """``njet, nlep, met, jet1_pt … jetN_m, lep1_pt … lepM_m``."""
    parts = ("pt", "eta", "phi", "m")
    return (["njet", "nlep", "met"] + [f"jet{i}_{q}" for i in range(1, n_jets + 1) for q in parts]
            + [f"lep{i}_{q}" for i in range(1, n_leptons + 1) for q in parts])


def final_visible(event) -> tuple[np.ndarray, np.ndarray]:
    """Pythia event → ``(K, 4)`` ``(E, px, py, pz)`` and ``(K,)`` ids of the final visible particles."""
    rows, ids = [], []
    for i in range(event.size()):
        p = event[i]
        if p.isFinal() and abs(p.id()) not in NEUTRINOS and p.isVisible():
            rows.append((p.e(), p.px(), p.py(), p.pz()))
            ids.append(p.id())
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4), np.asarray(ids, dtype=np.int64)


def _kinematics(p: np.ndarray) -> np.ndarray:
    """``(K, 4)`` → ``(K, 4)`` columns p_T, η, φ, m."""
    pt = np.hypot(p[:, 1], p[:, 2])
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(pt > 0, np.arcsinh(p[:, 3] / np.where(pt > 0, pt, 1.0)), 0.0)
    m2 = p[:, 0] ** 2 - pt ** 2 - p[:, 3] ** 2
    return np.stack([pt, eta, np.arctan2(p[:, 2], p[:, 1]), np.sqrt(np.clip(m2, 0, None))], axis=1)


def isolated_leptons(p: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Indices of isolated e/μ (cuts in the module docstring), ordered by decreasing p_T."""
    kin = _kinematics(p)
    cand = np.flatnonzero(np.isin(np.abs(ids), (11, 13)) & (kin[:, 0] >= LEPTON_PT_MIN)
                          & (np.abs(kin[:, 1]) <= LEPTON_ETA_MAX))
    keep = []
    for i in cand:
        dphi = np.angle(np.exp(1j * (kin[:, 2] - kin[i, 2])))
        near = np.hypot(kin[:, 1] - kin[i, 1], dphi) < ISOLATION_R
        near[i] = False
        if kin[near, 0].sum() < ISOLATION_FRACTION * kin[i, 0]:
            keep.append(i)
    keep = np.asarray(keep, dtype=np.int64)
    return keep[np.argsort(-kin[keep, 0], kind="stable")]


def cluster_jets(p: np.ndarray, r: float, pt_min: float) -> np.ndarray:
    """Anti-k_T jets of ``(K, 4)`` particles: ``(J, 4)`` four-momenta ordered by decreasing p_T."""
    try:
        import fastjet
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    if len(p) == 0:
        return np.empty((0, 4))
    parts = [fastjet.PseudoJet(float(px), float(py), float(pz), float(e)) for e, px, py, pz in p]
    sequence = fastjet.ClusterSequence(parts, fastjet.JetDefinition(fastjet.antikt_algorithm, float(r)))
    jets = fastjet.sorted_by_pt(sequence.inclusive_jets(float(pt_min)))
    return np.asarray([(j.e(), j.px(), j.py(), j.pz()) for j in jets], dtype=np.float64).reshape(-1, 4)


def event_row(p: np.ndarray, ids: np.ndarray, *, n_jets: int, n_leptons: int, r: float,
              jet_pt_min: float) -> np.ndarray:
    """One event's hadron-level feature row, ``(3 + 4 n_jets + 4 n_leptons,)`` float64."""
    leptons = isolated_leptons(p, ids)
    rest = np.delete(p, leptons, axis=0)
    jets = cluster_jets(rest, r, jet_pt_min)
    row = np.zeros(3 + 4 * (n_jets + n_leptons))
    row[0], row[1] = len(jets), len(leptons)
    row[2] = np.hypot(p[:, 1].sum(), p[:, 2].sum())
    jk, lk = _kinematics(jets)[:n_jets], _kinematics(p[leptons])[:n_leptons]
    row[3:3 + 4 * len(jk)] = jk.ravel()
    row[3 + 4 * n_jets:3 + 4 * n_jets + 4 * len(lk)] = lk.ravel()
    return row
