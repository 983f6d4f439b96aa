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
from typing import Literal

from physgen.config import check_choices
from physgen.errors import UserError
from physgen.models.nets import check_positive
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

    def __post_init__(self) -> None:
        check_choices(self, "model")
        self.channels = tuple(int(c) for c in self.channels)
        check_positive("width", self.width)
        check_positive("blocks", self.blocks)
        check_positive("channels", list(self.channels))
        check_positive("emb_dim", self.emb_dim)
        if not 0 <= self.p_uncond < 1:
            raise UserError(f"model.p_uncond: must be in [0, 1), got {self.p_uncond}")
        if not 0 < self.guidance_interval <= 1:
            raise UserError(f"model.guidance_interval: must be in (0, 1], got {self.guidance_interval}")


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

    def __post_init__(self) -> None:
        super().__post_init__()
        rev.beta_schedule(self.schedule, self.timesteps, self.beta_start, self.beta_end)  # validates
        check_positive("steps", self.steps, allow_zero=True)
        check_positive("solver_steps", self.solver_steps)
        check_positive("clip", self.clip, allow_zero=True)
        check_positive("ddim_eta", self.ddim_eta, allow_zero=True)


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

    def __post_init__(self) -> None:
        super().__post_init__()
        rev.VESDE(self.sigma)
        check_positive("fourier_scale", self.fourier_scale)
        check_positive("steps", self.steps)
        check_positive("solver_steps", self.solver_steps)
        check_positive("corrector_steps", self.corrector_steps, allow_zero=True)
        check_positive("snr", self.snr)
        if not 0 < self.eps < 1 or not 0 < self.sample_eps < 1:
            raise UserError(f"model.eps / model.sample_eps: must be in (0, 1), got {self.eps}, {self.sample_eps}")
