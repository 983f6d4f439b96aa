"""The 2D Ising model Monte Carlo engine.

* :func:`simulate` — configurations at several temperatures as a physgen Dataset (kind ``spins``).
* :class:`multispin.MultispinMetropolis <physgen.data.ising.multispin.MultispinMetropolis>` — the same
  Metropolis chains, 64 per machine word (numba, CPU; what :func:`simulate` runs on the CPU; imported on
  first use, as numba takes a while to load).
* :class:`CheckerboardMetropolis` — torch, vectorised over chains and temperatures, CPU or CUDA (imported on
  first use, so that the multispin path runs without loading torch).
* :class:`WolffClusters` — Wolff single-cluster updates, vectorised over chains (NumPy).

Exact references and observables live in :mod:`physgen.physics`.
"""
from physgen.data.ising.simulate import ALGORITHMS, ThinningWarning, autocorrelation_times, simulate, validate
from physgen.data.ising.wolff import WolffClusters

__all__ = ["ALGORITHMS", "CheckerboardMetropolis", "ThinningWarning", "WolffClusters", "autocorrelation_times",
           "simulate", "validate"]


def __getattr__(name: str):
    if name == "CheckerboardMetropolis":
        from physgen.data.ising.metropolis import CheckerboardMetropolis

        return CheckerboardMetropolis
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
