"""The Ising model on the square lattice, E = −J Σ_<ij> s_i s_j − h Σ_i s_i (Onsager, Phys. Rev. 65, 117, 1944).

Its Monte Carlo data come from physgen's Ising engine (:mod:`physgen.data.ising`: multispin checkerboard
Metropolis and Wolff clusters), so ``physgen data lattice --model ising`` writes the configurations of
``physgen data ising``.
"""
from __future__ import annotations

import math

from physgen.lattice.model import LatticeModel, Param


class Ising(LatticeModel):
    name = "ising"
    summary = "square-lattice Ising model, spins ±1, coupling J and field h"
    params = {"J": Param(1.0, help="coupling (J > 0 ferromagnetic)"), "h": Param(0.0, help="magnetic field")}
    algorithms = ("metropolis", "wolff", "swendsen-wang", "tempering")

    def critical_temperature(self) -> float | None:
        J = self.values["J"]
        return 2 * abs(J) / math.log(1 + math.sqrt(2)) if J and not self.values["h"] else None

    def cluster_ok(self) -> str | None:
        return "needs h = 0" if self.values["h"] else None
