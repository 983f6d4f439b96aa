"""Restricted Boltzmann machines (registered as ``rbm``): see :mod:`physgen.models.rbm.model`.

Submodules: ``energy`` (maths of the three visible-unit types), ``partition`` (exact log Z),
``config`` (:class:`RBMConfig`), ``checks`` (input validation), ``card`` (the family's constants),
``negative`` (the training's negative phase), ``likelihood`` (exact/AIS log p, pseudo-likelihood),
``sampling`` (Gibbs/PT samples, Boltzmann proposals), ``model`` (:class:`RBM`).
"""
from physgen.models.rbm.config import RBMConfig
from physgen.models.rbm.energy import RBMEnergy
from physgen.models.rbm.likelihood import pseudo_log_likelihood
from physgen.models.rbm.model import RBM
from physgen.models.registry import register

register(RBM)

__all__ = ["RBM", "RBMConfig", "RBMEnergy", "pseudo_log_likelihood"]
