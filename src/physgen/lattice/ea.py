"""The Edwards–Anderson spin glass on the square lattice, E = −Σ_<ij> J_ij s_i s_j (Edwards & Anderson, J. Phys. F
5, 965, 1975), with quenched couplings J_ij = ±J (``pm``) or Gaussian N(0, J²) (``gauss``).

An instance is drawn from ``disorder_seed`` and stored with every data file and run, so that training, sampling
and the exact references use the very same couplings.  Its order parameter is the overlap of two independent
replicas, q = (1/N) Σ_i s_i s'_i (:func:`physgen.lattice.observables.overlaps`); no cluster algorithm applies and
parallel tempering is the classical sampler (Hukushima & Nemoto, J. Phys. Soc. Jpn. 65, 1604, 1996).
"""
from __future__ import annotations

import numpy as np

from physgen.errors import UserError
from physgen.lattice.model import LatticeModel, Param

DISORDERS = ("pm", "gauss")


class EdwardsAnderson(LatticeModel):
    name = "ea"
    summary = "Edwards-Anderson spin glass, spins ±1, quenched couplings ±J or Gaussian"
    params = {"J": Param(1.0, low=0.0, help="coupling scale: J_ij = ±J, or Gaussian with standard deviation J")}
    quenched = True
    symmetry = "none"   # the quenched couplings break every spatial symmetry; the spin flip remains at h = 0
    order_name = "overlap"

    def make_couplings(self, disorder: str | None, seed: int | None) -> dict[str, np.ndarray]:
        disorder = disorder or "pm"
        if disorder not in DISORDERS:
            raise UserError(f"ea: must be one of {', '.join(DISORDERS)}, got {disorder!r}", key="disorder")
        rng = np.random.default_rng(0 if seed is None else seed)
        J = self.values["J"]
        if disorder == "pm":
            draw = lambda: J * (2.0 * rng.integers(0, 2, size=self.shape) - 1)  # noqa: E731
        else:
            draw = lambda: J * rng.standard_normal(self.shape)  # noqa: E731
        jx = draw()
        return {"jx": jx, "jy": draw()}
