"""The ``physgen nqs`` names, kept for existing code; the stack is :mod:`physgen.quantum`."""
from physgen.quantum import NQSConfig, NQSResult, run_nqs

__all__ = ["NQSConfig", "NQSResult", "run_nqs"]
