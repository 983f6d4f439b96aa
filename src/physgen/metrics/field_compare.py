"""Real vs generated lattice fields (data kind ``field``) judged by their physics: ⟨|M|⟩/V, χ₂, the Binder
ratio U₄ and the pole mass (:mod:`physgen.lattice.field_observables`, blocked jackknife errors), with
z = (generated − real)/σ and the same between the two halves of the real rows as the floor.

The halves are the first and second half of the rows in file order: a Monte Carlo file is in time order, so
the halves are two stretches of every chain, as independent as the chains are long compared with τ_int.
"""
from __future__ import annotations

import numpy as np

from physgen.lattice.field_observables import field_observables
from physgen.metrics.observables import _difference
from physgen.stats import Estimate

FIELD_OBSERVABLES = ("abs_m", "chi2", "binder", "pole_mass")


def _scalars(o: dict) -> dict[str, Estimate]:
    return {k: Estimate(float(o[k]["value"]), float(o[k]["error"]), float(o[k]["value"] - o[k]["error"]),
                        float(o[k]["value"] + o[k]["error"])) for k in FIELD_OBSERVABLES}


def compare_fields(real: np.ndarray, fake: np.ndarray, blocks: int = 20) -> dict:
    """``{"n_real", "n_fake", "observables": {name: {"real", "fake", "difference", "floor"}}, "two_point"}`` for
    fields ``(N, L, L)``; ``two_point`` holds G_c(x) along the first axis, real and generated."""
    r, f = field_observables(real, blocks), field_observables(fake, blocks)
    half = len(real) // 2
    floor = None
    if half >= 2:
        a, b = field_observables(real[:half], blocks), field_observables(real[half:], blocks)
        sa, sb = _scalars(a), _scalars(b)
        floor = {k: _difference(sa[k], sb[k]) for k in FIELD_OBSERVABLES}
    sr, sf = _scalars(r), _scalars(f)
    out = {k: {"real": sr[k].to_json(), "fake": sf[k].to_json(), "difference": _difference(sr[k], sf[k]),
               "floor": floor and floor[k]} for k in FIELD_OBSERVABLES}
    return {"n_real": int(len(real)), "n_fake": int(len(fake)), "observables": out,
            "two_point": {"real": r["two_point"]["value"][:, 0].tolist(),
                          "fake": f["two_point"]["value"][:, 0].tolist()}}
