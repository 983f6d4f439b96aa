"""Variational quantum Monte Carlo: one stack for particles in continuous space (``physgen vmc``, an RBM wave
function in a harmonic trap) and for spins on a lattice (``physgen nqs``, neural quantum states), organised by
role.

* :mod:`~physgen.quantum.driver` — the variational loop both runs drive, and their sampling budget.
* :mod:`~physgen.quantum.optimisers` — gradient descent, Adam, stochastic reconfiguration; ``make_optimizer``.
* :mod:`~physgen.quantum.lattice` — chains and square lattices: bonds, sublattices, translations.
* :mod:`~physgen.quantum.hamiltonians` — TFIM, Heisenberg, J₁–J₂ (connected elements, Marshall sign rule,
  the registry); the harmonic trap with optional Coulomb repulsion.
* :mod:`~physgen.quantum.wavefunctions` — the Gaussian–binary RBM wave function with closed-form derivatives
  and its Padé–Jastrow factor; the lattice ansätze (RBM, real or complex, translation-symmetric RBM, Jastrow,
  mean field).  :mod:`~physgen.quantum.slater` — Slater determinants of closed-shell electrons in 2D.
* :mod:`~physgen.quantum.samplers` — Metropolis and importance sampling (Langevin drift) of particles;
  Metropolis flips or Sᶻ-conserving exchanges of spins.
* :mod:`~physgen.quantum.estimators` — energies, blocking and walker errors, energy gradient, local energies,
  V-score, observables (one-body density, σᶻ correlations), samplers compared at equal cost.
* :mod:`~physgen.quantum.exact` — exact energies: Lanczos, the free-fermion TFIM chain, the trap's closed
  forms; diffusion Monte Carlo references.
* :mod:`~physgen.quantum.vmc` — :class:`VMCConfig`, :func:`run_vmc`; :mod:`~physgen.quantum.nqs` —
  :class:`NQSConfig`, :func:`run_nqs`.
* :mod:`~physgen.quantum.report`, :mod:`~physgen.quantum.params` — the JSON summaries, the HTML reports,
  safetensors.
"""
from physgen.quantum.hamiltonians import Hamiltonian
from physgen.quantum.nqs import NQSConfig, NQSResult, run_nqs
from physgen.quantum.vmc import VMCConfig, VMCResult, run_vmc
from physgen.quantum.wavefunctions import PadeJastrow, RBMWaveFunction

__all__ = ["Hamiltonian", "NQSConfig", "NQSResult", "PadeJastrow", "RBMWaveFunction", "VMCConfig", "VMCResult",
           "run_nqs", "run_vmc"]
