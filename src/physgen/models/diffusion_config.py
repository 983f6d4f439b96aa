"""Options of the diffusion models ``ddpm`` and ``score-sde`` (:mod:`physgen.models.diffusion`) and their checks.

* :class:`DiffusionNetConfig` — what the two share (and ``flow-matching`` too): the network (an MLP of
  ``blocks`` residual blocks of ``width`` for tabular data, a U-Net of ``channels`` per level for lattices and
  images), the time / condition embedding size, the condition-dropping probability and the weight and interval
  of classifier-free guidance, clipping to the training range, and the U-Net's arithmetic while sampling;
* :class:`DDPMConfig` — the ε-prediction model (Ho et al. 2020): T steps of a linear or cosine β schedule and
  the reverse processes (DPM-Solver++, ancestral, DDIM) with their step counts;
* :class:`ScoreSDEConfig` — the variance-exploding SDE (Song et al. 2021): σ, the Gaussian Fourier time
  features, the smallest training and sampling times, and the samplers (DPM-Solver++, Euler–Maruyama with an
  optional Langevin corrector).

The schedules are checked by building them (:mod:`physgen.samplers.ddpm`); every bad value is a
:class:`~physgen.errors.UserError` naming the ``model.*`` option.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from physgen.config import validate
from physgen.constraints import (FINITE, NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, WIDTHS, Constraint,
                                 Interval)
from physgen.samplers import ddpm as rev
from physgen.samplers import registry as samplers


@dataclass
class DiffusionNetConfig:
    """Network options shared by ``ddpm`` and ``score-sde``."""

    net: Literal["auto", "mlp", "unet"] = "auto"  # auto: mlp for tabular data, unet for lattices/images
    width: int = 128                     # MLP width
    blocks: int = 3                      # MLP residual blocks
    channels: tuple[int, ...] = (32, 64)  # U-Net level widths
    emb_dim: int = 128                   # time (+ condition) embedding size
    p_uncond: float = 0.0                # probability to drop the condition in training (enables guidance)
    guidance: float = 0.0                # default classifier-free guidance weight w at sampling
    guidance_interval: float = 1.0       # guide only the noisiest fraction f of the chain (t ≥ (1 − f) T; SDE: T = 1)
    clip_to_data: bool = True            # continuous data: keep samples (DDPM/DDIM: x̂_0) in the training range
    # the U-Net's arithmetic while sampling on a CPU with bfloat16 instructions (nets.cpu_has_native_bf16):
    # "bfloat16" runs its convolutions and activations in bfloat16 (the sampler's state stays float32/64)
    sample_dtype: Literal["float32", "bfloat16"] = "float32"
    film: bool = False                   # U-Net: the embedding scales and shifts each block's normalised activations

    constraints: ClassVar[dict[str, Constraint]] = {
        "width": POSITIVE_INT, "blocks": POSITIVE_INT, "channels": WIDTHS, "emb_dim": POSITIVE_INT,
        "p_uncond": Interval(float, 0, 1, closed="left"), "guidance": FINITE,
        "guidance_interval": Interval(float, 0, 1, closed="right")}

    def __post_init__(self) -> None:
        validate(self, "model")
        self.channels = tuple(int(c) for c in self.channels)


@dataclass
class DDPMConfig(DiffusionNetConfig):
    """Options of ``ddpm`` (``--set model.NAME=VALUE``)."""

    timesteps: int = 500                 # T (course: 300-1000)
    schedule: Literal["linear", "cosine"] = "linear"
    beta_start: float = 1e-4             # linear schedule at T = 1000 (scaled by 1000/T)
    beta_end: float = 0.02
    sampler: str = samplers.option("vp-eps", "sde-dpm-solver++")  # the default reverse process
    steps: int = 0                       # default ddpm / ddim steps (0: T for ddpm, 50 for ddim)
    solver_steps: int = 20               # default sde-dpm-solver++ / dpm-solver++ steps (network calls, ≤ T)
    solver_spacing: Literal["logsnr", "time"] = "logsnr"  # DPM-Solver times: even in log-SNR | even in t
    ddim_eta: float = 0.0                # DDIM stochasticity (0 deterministic, 1 = DDPM)
    ancestral_variance: Literal["posterior", "beta"] = "posterior"  # ddpm/ddim noise per step: β̃_t or β_t
    clip: float = 0.0                    # clamp x̂_0 to ±clip while sampling (0 = off; spins use 1)

    constraints: ClassVar[dict[str, Constraint]] = {
        "steps": NON_NEGATIVE_INT, "solver_steps": POSITIVE_INT, "clip": NON_NEGATIVE, "ddim_eta": NON_NEGATIVE}

    def __post_init__(self) -> None:
        super().__post_init__()
        rev.beta_schedule(self.schedule, self.timesteps, self.beta_start, self.beta_end)  # validates


@dataclass
class ScoreSDEConfig(DiffusionNetConfig):
    """Options of ``score-sde`` (``--set model.NAME=VALUE``)."""

    sigma: float = 25.0                  # VE SDE: s(1)² = (σ² − 1)/(2 ln σ)
    fourier_scale: float = 30.0          # std of the Gaussian Fourier frequencies
    eps: float = 1e-5                    # smallest training time
    sample_eps: float = 1e-3             # last time of the reverse integration
    sampler: str = samplers.option("ve-score", "sde-dpm-solver++")  # the default reverse process
    steps: int = 500                     # default Euler–Maruyama steps
    solver_steps: int = 50               # default sde-dpm-solver++ / dpm-solver++ steps (network calls)
    corrector_steps: int = 0             # Langevin corrector steps per predictor step (predictor-corrector)
    snr: float = 0.16                    # corrector signal-to-noise ratio

    constraints: ClassVar[dict[str, Constraint]] = {
        "fourier_scale": POSITIVE, "steps": POSITIVE_INT, "solver_steps": POSITIVE_INT,
        "corrector_steps": NON_NEGATIVE_INT, "snr": POSITIVE, "eps": Interval(float, 0, 1, closed="neither"),
        "sample_eps": Interval(float, 0, 1, closed="neither")}

    def __post_init__(self) -> None:
        super().__post_init__()
        rev.VESDE(self.sigma)
