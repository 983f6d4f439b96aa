"""The ``flow`` family's description: the class constants :class:`~physgen.models.flow.Flow` inherits.

:class:`FlowCard` holds what describes the family rather than computes: its registry name, the one-line
description, the config dataclass, the data it is usually run on, the optimiser overlay (Adam with a cosine
decay) and the config overlays per data kind the trainer reads
(:meth:`~physgen.models.base.GenerativeModel.defaults`): coupling layers on lattices, for fast sampling, and
the step budgets.  ``Flow`` lists it before :class:`~physgen.models.base.GenerativeModel`, so these values win
over the base class's defaults by ordinary attribute lookup.
"""
from __future__ import annotations

from typing import Any, ClassVar

from physgen.models.base import DataSpec, budget, overlay
from physgen.models.flow_config import FlowConfig


class FlowCard:
    """Constants of the ``flow`` family (class attributes only, no state)."""

    name: ClassVar[str] = "flow"
    description: ClassVar[str] = "normalizing flow (zuko NSF/MAF, exact log-likelihood; dequantised discrete data)"
    config_class: ClassVar[type] = FlowConfig
    default_spec: ClassVar[DataSpec] = DataSpec("continuous", (3,), ("s", "t", "y"))
    kinds: ClassVar[tuple[str, ...]] = ("spins", "binary", "continuous", "image", "field")
    #: fields train on their action alone (``physgen train flow --hamiltonian phi4``)
    capabilities: ClassVar[frozenset[str]] = frozenset({"hamiltonian"})
    hamiltonian_kinds: ClassVar[tuple[str, ...]] = ("field",)
    hamiltonian_defaults: ClassVar[dict[str, Any]] = overlay({"train": {"lr": 1e-3, "schedule": "cosine"}},
                                                             budget(3000))
    default_config: ClassVar[dict] = {"train": {"batch_size": 256, "lr": 1e-3, "schedule": "cosine"}}
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {
        "continuous": budget(12000),
        "spins": overlay({"model": {"passes": 2, "transforms": 4, "hidden": [128, 128]},
                          "train": {"batch_size": 64}}, budget(3000)),
        "binary": overlay({"model": {"passes": 2, "transforms": 4, "hidden": [128, 128]},
                           "train": {"batch_size": 64}}, budget(3000)),
        # fields: Albergo, Kanwar & Shanahan's layout (checkerboard couplings, small conv conditioners), with
        # spline couplings and the spline of the lattice mean
        "field": overlay({"model": {"flow": "nsf", "zero_mode": True, "transforms": 16, "hidden": [16, 16]},
                          "train": {"batch_size": 64}},
                         budget(3000)),
    }
