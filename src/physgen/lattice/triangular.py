"""The Ising model on the triangular lattice, E = −J Σ_<ij> s_i s_j − h Σ_i s_i, antiferromagnetic by default
(J = −1): a frustrated magnet with a macroscopic ground-state entropy S/N = 0.3383 and no transition at any
T > 0 (Wannier, Phys. Rev. 79, 357, 1950; Houtappel, Physica 16, 425, 1950).

Each site has six neighbours: the square lattice's four and the diagonal (i+1, j−1), (i−1, j+1).  With periodic
boundaries the antiferromagnet's ground states need L divisible by 3.
"""
from __future__ import annotations

from physgen.lattice.model import LatticeModel, Param


class TriangularIsing(LatticeModel):
    name = "triangular"
    summary = "triangular-lattice Ising model, antiferromagnetic by default (J = -1), frustrated"
    params = {"J": Param(-1.0, help="coupling (J < 0 antiferromagnetic, frustrated)"),
              "h": Param(0.0, help="magnetic field")}
    triangular = True
    symmetry = "inversion"   # translations and r -> -r map the bonds (0,1), (1,0), (1,-1) onto themselves
