"""Options of flow matching on particle clouds ``epic-fm`` (:mod:`physgen.models.pointcloud`) and their checks.

:class:`EPiCFMConfig` groups the EPiC network's widths and depth (per-particle width, global vector width,
EPiC layers, time embedding size) and the ODE sampler (steps and solver).

Every bad value is a :class:`~physgen.errors.UserError` naming the ``model.*`` option.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from physgen.config import validate
from physgen.constraints import POSITIVE_INT, Constraint


@dataclass
class EPiCFMConfig:
    """Options of ``epic-fm`` (``[model]`` section)."""

    hidden: int = 128        # per-particle width
    global_dim: int = 32     # global vector width
    layers: int = 4          # EPiC layers
    emb_dim: int = 32        # sinusoidal time embedding size
    steps: int = 100         # ODE steps at sampling
    solver: Literal["euler", "midpoint"] = "midpoint"

    constraints: ClassVar[dict[str, Constraint]] = {
        key: POSITIVE_INT for key in ("hidden", "global_dim", "layers", "emb_dim", "steps")}

    def __post_init__(self) -> None:
        validate(self, "model")
