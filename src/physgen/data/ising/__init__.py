"""The 2D Ising model Monte Carlo engine.

* :func:`simulate` — configurations at several temperatures as a physgen Dataset (kind ``spins``).
* :class:`CheckerboardMetropolis` — torch, vectorised over chains and temperatures, CPU or CUDA.
* :class:`WolffClusters` — Wolff single-cluster updates, vectorised over chains (NumPy).

Exact references and observables live in :mod:`physgen.physics`.
"""
from physgen.data.ising.metropolis import CheckerboardMetropolis
from physgen.data.ising.simulate import ALGORITHMS, ThinningWarning, autocorrelation_times, simulate, validate
from physgen.data.ising.wolff import WolffClusters

__all__ = ["ALGORITHMS", "CheckerboardMetropolis", "ThinningWarning", "WolffClusters", "autocorrelation_times",
           "simulate", "validate"]
