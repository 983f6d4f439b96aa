"""A test-only lattice model plug-in: the anisotropic Ising model, E = −Jx Σ s_ij s_i,j+1 − Jy Σ s_ij s_i+1,j.

One module and one entry point (``aniso = "lattice_plugin_toy:Anisotropic"``) make it a model of
``physgen data lattice`` and ``physgen exact``; tests/test_lattice_models.py installs the entry point."""
from __future__ import annotations

import numpy as np

from physgen.lattice import LatticeModel, Param


class Anisotropic(LatticeModel):
    name = "aniso"
    summary = "anisotropic Ising model, couplings Jx along rows and Jy along columns"
    params = {"Jx": Param(1.0), "Jy": Param(0.5)}

    def make_couplings(self, disorder, seed):
        return {"jx": np.full(self.shape, self.values["Jx"]), "jy": np.full(self.shape, self.values["Jy"])}
