"""The ``flow-matching`` family's description: the class constants
:class:`~physgen.models.flow_matching.FlowMatching` inherits.

:class:`FlowMatchingCard` subclasses the diffusion families' shared card
(:class:`~physgen.models.diffusion_card.DiffusionCard`: usual data, samples per call on CPU, the quality probe's
rows), as ``FlowMatching`` runs on their networks, with the family's registry name, one-line description,
config dataclass, optimiser overlay and config overlays per data kind the trainer reads
(:meth:`~physgen.models.base.GenerativeModel.defaults`): networks, the sampler on spin lattices and the step
budgets (benchmarks/records/flows.md).  ``FlowMatching`` lists it first, so these values win by ordinary
attribute lookup.
"""
from __future__ import annotations

from typing import Any, ClassVar

from physgen.models.base import budget, overlay
from physgen.models.diffusion_card import DiffusionCard
from physgen.models.flow_matching_config import FlowMatchingConfig


class FlowMatchingCard(DiffusionCard):
    """Constants of the ``flow-matching`` family (class attributes only, no state)."""

    name: ClassVar[str] = "flow-matching"
    sampler_field: ClassVar[str | None] = "velocity"
    description: ClassVar[str] = "conditional flow matching (straight paths, optional minibatch OT), ODE sampler"
    config_class: ClassVar[type] = FlowMatchingConfig
    default_config: ClassVar[dict] = {"train": {"batch_size": 256, "lr": 2e-3, "ema": 0.999}}
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {
        "continuous": overlay({"train": {"schedule": "cosine"}}, budget(30000)),
        # spin lattices: the SDE sampler with 100 steps (the same 100 network calls as Heun's 50 steps); the ODE
        # keeps the network's errors to the end and leaves the lattices too disordered
        # (benchmarks/records/flows.md)
        "spins": overlay({"model": {"channels": [16, 32], "emb_dim": 64, "sampler": "sde", "steps": 100},
                          "train": {"batch_size": 32, "schedule": "cosine"}}, budget(6000)),
        "binary": overlay({"model": {"channels": [16, 32], "steps": 50}, "train": {"batch_size": 64}},
                          budget(4000)),
        "image": overlay({"data": {"transform": "logit"}, "model": {"channels": [32, 64]},
                          "train": {"batch_size": 256}}, budget(3000)),
    }
