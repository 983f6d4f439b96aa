"""Options of the energy-based model ``ebm`` (:mod:`physgen.models.ebm`) and their checks.

:class:`EBMConfig` groups the energy network (an MLP of ``hidden`` widths or a CNN of ``channels``, with a
strided or full first layer on lattices), the contrastive-divergence loss (the weight α of the energy-magnitude
regulariser, the noise on real data), the MCMC chains (K Langevin steps of size η in the decoupled,
conventional or course form, gradient clipping, the discrete Langevin proposal with or without its
Metropolis–Hastings test), the replay buffer (size, restart fraction and source), the blow-up guard, the
chains of ``physgen sample``, and the Gaussian base of continuous data (Du & Mordatch 2019; Zhang, Liu & Liu
2022; Arbel, Zhou & Gretton 2021).  ``auto`` choices are made by :meth:`physgen.models.ebm.EBM.resolve`.

Every bad value is a :class:`~physgen.errors.UserError` naming the ``model.*`` option.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from physgen.config import validate
from physgen.constraints import NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, WIDTHS, Constraint, Interval


@dataclass
class EBMConfig:
    """Options of ``ebm`` (``--set model.NAME=VALUE``)."""

    net: Literal["auto", "mlp", "cnn"] = "auto"  # auto: mlp for tabular data, cnn for lattices/images
    hidden: tuple[int, ...] = (128, 128)  # MLP widths
    channels: tuple[int, ...] = (16, 32, 64)  # CNN widths (stride-2 stages while H, W stay even)
    # lattices' first CNN layer: strided (halves H, W at once) or full (keeps every site, so it sees each bond)
    stem: Literal["strided", "full"] = "strided"
    alpha: float = 0.1                    # weight of the energy-magnitude regulariser
    k_steps: int = 60                     # K Langevin steps per update
    step_size: float = 10.0               # Langevin η
    langevin: Literal["decoupled", "conventional", "course"] = "decoupled"
    noise: float = 0.005                  # noise std of the decoupled form
    grad_clip: float = 0.03               # elementwise clip of ∇E during Langevin (0 = off)
    buffer_size: int = 8192               # replay buffer size (>= batch size)
    reinit: float = 0.05                  # fraction of each batch restarted from noise (or data: restart)
    real_noise: float = 0.005             # std of the Gaussian noise added to real data
    margin: float = 0.05                  # data range (fitted on the first batch) widened by this fraction
    energy_limit: float = 1e4             # blow-up guard: |E| above this -> NaN loss -> trainer rollback
    sample_steps: int = 0                 # Langevin steps of `physgen sample` (0: k_steps from the buffer, 256 from noise)
    sample_init: Literal["buffer", "noise"] = "buffer"  # start of `physgen sample` chains (buffer: persistent)
    sampler: Literal["auto", "langevin", "discrete"] = "auto"  # auto: discrete for spins/binary, else langevin
    # where replay chains (re)start: noise (the base if any, else uniform) or data; auto: data for discrete chains
    restart: Literal["auto", "noise", "data"] = "auto"
    discrete_step: float = 0.8            # α of the discrete Langevin proposal (flip w.p. σ(−2/α) at ∇E = 0)
    mh: bool = True                       # Metropolis–Hastings test of the discrete proposal (exact for any α)
    base: Literal["auto", "gaussian", "none"] = "auto"  # auto: gaussian for continuous data, else none (ebm.py's docstring)

    constraints: ClassVar[dict[str, Constraint]] = {
        "hidden": WIDTHS, "channels": WIDTHS, "k_steps": POSITIVE_INT, "step_size": POSITIVE,
        "buffer_size": POSITIVE_INT, "sample_steps": NON_NEGATIVE_INT, "energy_limit": POSITIVE,
        **{name: NON_NEGATIVE for name in ("alpha", "noise", "grad_clip", "real_noise", "margin")},
        "discrete_step": POSITIVE, "reinit": Interval(float, 0, 1)}

    def __post_init__(self) -> None:
        validate(self, "model")
        self.hidden = tuple(int(h) for h in self.hidden)
        self.channels = tuple(int(c) for c in self.channels)
