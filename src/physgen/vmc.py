"""The ``physgen vmc`` names, kept for existing code; the stack is :mod:`physgen.quantum`."""
from physgen.quantum import Hamiltonian, PadeJastrow, RBMWaveFunction, VMCConfig, VMCResult, run_vmc

__all__ = ["Hamiltonian", "PadeJastrow", "RBMWaveFunction", "VMCConfig", "VMCResult", "run_vmc"]
