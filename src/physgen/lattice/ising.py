"""The Ising model on the square lattice, E = −J Σ_<ij> s_i s_j − h Σ_i s_i (Onsager, Phys. Rev. 65, 117, 1944).

Its Monte Carlo data come from physgen's Ising engine (:mod:`physgen.data.ising`: multispin checkerboard
Metropolis and Wolff clusters), so ``physgen data lattice --model ising`` writes the configurations of
``physgen data ising``.  Its exact references on the torus are enumeration (L ≤ 4) and Kaufman's partition
function (h = 0; Kaufman, Phys. Rev. 76, 1232, 1949), elsewhere the transfer matrix; on the infinite lattice
Onsager's free energy and Yang's spontaneous magnetisation (:mod:`physgen.physics.thermo`).
"""
from __future__ import annotations

import math
from typing import Any

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

    def attrs(self) -> dict[str, Any]:
        """The general attributes plus ``J`` and ``h``, the layout of ``physgen data ising`` files."""
        return {**super().attrs(), "J": self.values["J"], "h": self.values["h"]}

    def _closed_form(self) -> str | None:
        from physgen.physics.thermo import reference_method

        return reference_method(self.shape, self.values["J"], self.h, self.boundary == "periodic")

    def exact(self, temperature: float) -> dict | None:
        if self._closed_form() is None:
            return super().exact(temperature)
        from physgen.physics.thermo import exact_values

        return exact_values(self.shape, temperature, self.values["J"], self.h, True)

    def reference_method(self) -> str | None:
        return self._closed_form() or super().reference_method()

    def infinite_lattice(self, temperature: float) -> dict | None:
        from physgen.physics.thermo import onsager_values

        return onsager_values(temperature, self.values["J"], self.h)
