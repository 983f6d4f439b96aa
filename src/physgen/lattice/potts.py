"""The q-state Potts model on the square lattice, E = −J Σ_<ij> δ(s_i, s_j) (Wu, Rev. Mod. Phys. 54, 235, 1982).

Sites hold 0 … q−1.  The ferromagnet (J > 0) orders below T_c = J / ln(1 + √q) (Baxter 1973), continuously for
q ≤ 4 and at a first-order transition for q > 4.  Order parameter: |m| = √((q Σ_a ρ_a² − 1)/(q − 1)), with ρ_a
the fraction of sites in state a, the length of the simplex-representation magnetisation
(:meth:`physgen.lattice.space.States.components`; q = 2: the Ising |m|).  Cluster updates: Swendsen & Wang,
PRL 58, 86 (1987).
"""
from __future__ import annotations

import math

import numpy as np

from physgen.lattice.model import LatticeModel, Param
from physgen.lattice.space import States


class Potts(LatticeModel):
    name = "potts"
    summary = "q-state Potts model, states 0..q-1, coupling J"
    params = {"q": Param(3, int, 2, "number of states q >= 2"), "J": Param(1.0, help="coupling (J > 0 ferromagnetic)")}
    algorithms = ("metropolis", "swendsen-wang", "tempering")
    order_name = "potts_order"

    def make_space(self):
        return States(int(self.values["q"]))

    def critical_temperature(self) -> float | None:
        J = self.values["J"]
        return J / math.log(1 + math.sqrt(self.values["q"])) if J > 0 else None

    def order_parameter(self, x: np.ndarray) -> np.ndarray:
        return self.space.magnetization(x)

    def cluster_ok(self) -> str | None:
        return None if self.values["J"] > 0 else "needs J > 0"
