"""Restricted Boltzmann machines (registered as ``rbm``): see :mod:`physgen.models.rbm.model`.

Submodules: ``energy`` (maths of the three visible-unit types), ``partition`` (exact log Z),
``config`` (:class:`RBMConfig`), ``checks`` (input validation), ``model`` (:class:`RBM`).
"""
from physgen.models.rbm.config import RBMConfig
from physgen.models.rbm.energy import RBMEnergy
from physgen.models.rbm.model import RBM, pseudo_log_likelihood
from physgen.models.registry import register

register(RBM)

__all__ = ["RBM", "RBMConfig", "RBMEnergy", "pseudo_log_likelihood"]
