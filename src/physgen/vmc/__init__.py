"""Variational Monte Carlo with a restricted-Boltzmann-machine wave function (``physgen vmc``).

* :mod:`~physgen.vmc.wavefunction` — ψ = F, the Gaussian–binary RBM marginal, with closed-form
  derivatives; optional Padé–Jastrow factor.
* :mod:`~physgen.vmc.hamiltonian` — harmonic trap, optional Coulomb repulsion, local energy.
* :mod:`~physgen.vmc.samplers` — brute-force Metropolis and importance sampling (Langevin drift).
* :mod:`~physgen.vmc.estimators` — energy, blocking error, variance and energy gradient of one run.
* :mod:`~physgen.vmc.optimiser` — gradient descent and Adam.
* :mod:`~physgen.vmc.run` — :class:`VMCConfig` and :func:`run_vmc`, the optimisation loop.
* :mod:`~physgen.vmc.report`, :mod:`~physgen.vmc.params` — ``vmc.json``, the HTML report, safetensors.
"""
from physgen.vmc.hamiltonian import Hamiltonian
from physgen.vmc.run import VMCConfig, VMCResult, run_vmc
from physgen.vmc.wavefunction import PadeJastrow, RBMWaveFunction

__all__ = ["Hamiltonian", "PadeJastrow", "RBMWaveFunction", "VMCConfig", "VMCResult", "run_vmc"]
