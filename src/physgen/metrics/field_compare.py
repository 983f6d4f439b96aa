"""Real vs generated lattice fields (data kind ``field``) judged by their physics: ⟨|M|⟩/V, χ₂, the Binder
ratio U₄ and the pole mass (:mod:`physgen.lattice.field_observables`, blocked jackknife errors), with
z = (generated − real)/σ and the same between the two halves of the real rows as the floor.

The halves are the first and second half of the rows in file order: a Monte Carlo file is in time order, so
the halves are two stretches of every chain, as independent as the chains are long compared with τ_int.
"""
from __future__ import annotations

import numpy as np

from physgen.lattice.field_observables import field_observables

FIELD_OBSERVABLES = ("abs_m", "chi2", "binder", "pole_mass")


def _difference(a: dict, b: dict) -> dict:
    """b − a with the errors in quadrature and z (None where undefined)."""
    diff = float(b["value"] - a["value"])
    err = float(np.hypot(a["error"], b["error"]))
    ok = np.isfinite(diff) and np.isfinite(err) and err > 0
    return {"value": diff if np.isfinite(diff) else None, "error": err if np.isfinite(err) else None,
            "z": diff / err if ok else None}


def _scalars(o: dict) -> dict:
    return {k: {"value": float(o[k]["value"]), "error": float(o[k]["error"])} for k in FIELD_OBSERVABLES}


def compare_fields(real: np.ndarray, fake: np.ndarray, blocks: int = 20) -> dict:
    """``{"n_real", "n_fake", "observables": {name: {"real", "fake", "difference", "floor"}}, "two_point"}`` for
    fields ``(N, L, L)``; ``two_point`` holds G_c(x) along the first axis, real and generated."""
    r, f = field_observables(real, blocks), field_observables(fake, blocks)
    half = len(real) // 2
    floor = None
    if half >= 2:
        a, b = field_observables(real[:half], blocks), field_observables(real[half:], blocks)
        floor = {k: _difference(x, y) for (k, x), y in zip(_scalars(a).items(), _scalars(b).values())}
    out = {}
    for k in FIELD_OBSERVABLES:
        rs, fs = _scalars(r)[k], _scalars(f)[k]
        out[k] = {"real": rs, "fake": fs, "difference": _difference(rs, fs), "floor": floor and floor[k]}
    return {"n_real": int(len(real)), "n_fake": int(len(fake)), "observables": out,
            "two_point": {"real": r["two_point"]["value"][:, 0].tolist(),
                          "fake": f["two_point"]["value"][:, 0].tolist()}}
