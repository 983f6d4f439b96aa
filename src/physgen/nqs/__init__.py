"""Neural quantum states of lattice spin models (``physgen nqs``).

* :mod:`~physgen.nqs.lattice` — chains and square lattices: bonds, sublattices, translations.
* :mod:`~physgen.nqs.hamiltonians` — TFIM, Heisenberg, J₁–J₂: connected elements, Marshall sign rule.
* :mod:`~physgen.nqs.exact` — Lanczos on the full space or the Sᶻ = 0 sector; the free-fermion TFIM chain.
* :mod:`~physgen.nqs.ansatz` — RBM (real or complex), translation-symmetric RBM, Jastrow, mean field.
* :mod:`~physgen.nqs.sampler` — Metropolis with single flips or Sᶻ-conserving exchanges.
* :mod:`~physgen.nqs.optimiser` — stochastic reconfiguration and Adam.
* :mod:`~physgen.nqs.estimators`, :mod:`~physgen.nqs.observables` — E_L, blocking errors, V-score, σᶻ observables.
* :mod:`~physgen.nqs.run` — :class:`NQSConfig` and :func:`run_nqs`; :mod:`~physgen.nqs.report` — outputs.
"""
from physgen.nqs.run import NQSConfig, NQSResult, run_nqs

__all__ = ["NQSConfig", "NQSResult", "run_nqs"]
