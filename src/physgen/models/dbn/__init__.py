"""Deep belief networks (registered as ``dbn``): see :mod:`physgen.models.dbn.model`.

Submodules: ``card`` (:class:`~physgen.models.dbn.card.DBNCard`, the family's constants and default configs),
``config`` (:class:`DBNConfig`), ``likelihood`` (exact log-likelihood and the variational
lower bound of a stack of RBM energies), ``model`` (:class:`DBN`).
"""
from physgen.models.dbn.config import DBNConfig
from physgen.models.dbn.model import DBN
from physgen.models.registry import register

register(DBN)

__all__ = ["DBN", "DBNConfig"]
