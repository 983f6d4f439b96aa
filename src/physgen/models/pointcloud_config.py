"""Options of flow matching on particle clouds ``epic-fm`` (:mod:`physgen.models.pointcloud`) and their checks.

:class:`EPiCFMConfig` groups the EPiC network's widths and depth (per-particle width, global vector width,
EPiC layers, time embedding size) and the sampler (a velocity sampler by name, with its steps).

Every bad value is a :class:`~physgen.errors.UserError` naming the ``model.*`` option.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from physgen.config import validate
from physgen.constraints import POSITIVE_INT, Constraint
from physgen.models.flow_matching_config import VelocitySampling
from physgen.samplers import registry as samplers


@dataclass
class EPiCFMConfig(VelocitySampling):
    """Options of ``epic-fm`` (``[model]`` section): the network's and the sampler's (:class:`~physgen.models.
    flow_matching_config.VelocitySampling`).  ``model.solver``, the sampler's earlier name, still sets
    ``model.sampler`` (:data:`renamed`)."""

    hidden: int = 128        # per-particle width
    global_dim: int = 32     # global vector width
    layers: int = 4          # EPiC layers
    emb_dim: int = 32        # sinusoidal time embedding size
    sampler: str = samplers.option("velocity", "midpoint")
    steps: int = 100         # ODE steps at sampling

    #: the straight conditional path of the training loss (the SDE sampler's σ_min)
    sigma_min: ClassVar[float] = 0.0
    #: earlier key -> key (:func:`physgen.config.renamed`)
    renamed: ClassVar[dict[str, str]] = {"solver": "sampler"}
    constraints: ClassVar[dict[str, Constraint]] = {
        key: POSITIVE_INT for key in ("hidden", "global_dim", "layers", "emb_dim")}

    def __post_init__(self) -> None:
        validate(self, "model")
