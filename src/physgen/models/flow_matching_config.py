"""Options of conditional flow matching ``flow-matching`` (:mod:`physgen.models.flow_matching`) and their checks.

:class:`FlowMatchingConfig` adds to the diffusion models' network options
(:class:`~physgen.models.diffusion_config.DiffusionNetConfig`) the coupling of noise and data (independent or
minibatch optimal transport), the width σ_min of the conditional path, and the sampler: a named velocity
sampler (:mod:`physgen.samplers.registry`) with its number of steps, the SDE's noise strength and the adaptive
solver's tolerances.

Every bad value is a :class:`~physgen.errors.UserError` naming the ``model.*`` option.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from physgen.constraints import NON_NEGATIVE, POSITIVE, POSITIVE_INT, Constraint, Interval
from physgen.models.diffusion_config import DiffusionNetConfig
from physgen.samplers import registry as samplers


@dataclass
class VelocitySampling:
    """The options of the velocity samplers (:mod:`physgen.samplers.builtin`), for a family that learns a
    velocity from noise to data: which sampler, its number of steps, the SDE's noise strength and the adaptive
    solver's tolerances."""

    sampler: str = samplers.option("velocity", "heun")  # heun, midpoint, euler, rk45, sde or a plug-in's
    steps: int = 50                      # fixed-step samplers: number of steps
    noise: float = 10.0                  # sde: ε(t) = noise × (1 − (1 − σ_min) t)
    rtol: float = 1e-4                   # rk45 tolerances
    atol: float = 1e-4

    constraints: ClassVar[dict[str, Constraint]] = {
        "steps": POSITIVE_INT, "noise": NON_NEGATIVE, "rtol": POSITIVE, "atol": POSITIVE}


@dataclass
class FlowMatchingConfig(VelocitySampling, DiffusionNetConfig):
    """Options of ``flow-matching`` (``--set model.NAME=VALUE``): the network's, the sampler's
    (:class:`VelocitySampling`) and the path's."""

    coupling: Literal["independent", "ot"] = "independent"  # ot: minibatch optimal transport, per condition
    sigma_min: float = 0.0               # width of the conditional path at t = 1

    constraints: ClassVar[dict[str, Constraint]] = {"sigma_min": Interval(float, 0, 1, closed="left")}
