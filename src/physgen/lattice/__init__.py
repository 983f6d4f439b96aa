"""Lattice Hamiltonians in one place: the model families, their exact references and classical samplers.

- :mod:`~physgen.lattice.model`: the couplings, lattice and energy every family shares;
- :mod:`~physgen.lattice.registry`: name -> family (the ``physgen.lattice_models`` entry points);
- :mod:`~physgen.lattice.transfer` and :mod:`~physgen.lattice.enumeration`: exact thermodynamics;
- :mod:`~physgen.lattice.metropolis`, :mod:`~physgen.lattice.cluster`, :mod:`~physgen.lattice.tempering`: samplers;
- :mod:`~physgen.lattice.simulate`: Monte Carlo data files.
"""
from physgen.lattice.model import LatticeModel, Param
from physgen.lattice.registry import build, get, names

__all__ = ["LatticeModel", "Param", "build", "get", "names"]
