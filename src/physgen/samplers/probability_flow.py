"""The probability-flow ODEs of ``ddpm``, ``score-sde`` and ``flow-matching``, from the data to the prior, for
:func:`physgen.samplers.ode_likelihood.log_likelihood`.

All three are written as dy/ds = ε̂(α(s) y, τ(s)) from s = 0 (the data, y = x) to the sampler's start, with a
noise level s, the network's time τ(s) and the network's noise prediction ε̂ (flat ``(R, D)``):

``ddpm`` (variance preserving, Ho et al. 2020)
    The probability-flow ODE of Song et al. (*Score-based generative modeling through stochastic differential
    equations*, ICLR 2021, eq. 13), dx = −½ β(t) [x + ∇log p_t(x)] dt with ∇log p_t = −ε̂/√(1 − ᾱ), is in the
    coordinates y = x/√ᾱ, s = √((1 − ᾱ)/ᾱ) of DDIM (Song, Meng & Ermon 2021, eq. 14) dy/ds = ε̂(y/√(1 + s²), τ):
    smooth down to s = 0.  The discrete schedule ᾱ_0 … ᾱ_{T−1} is continued as in DPM-Solver (Lu et al. 2022,
    App. D): log ᾱ piecewise linear in a continuous timestep τ ∈ [0, T − 1], which the network takes as its
    time; below the first level (s < s_0) ε̂ is the network's at τ = 0, as in the last DDIM step.  The prior is
    the sampler's start x ~ N(0, I) at τ = T − 1 (ᾱ_{T−1} ≈ 4·10⁻⁵ for the linear schedule), a density for y of
    N(α y; 0, I) α^D.
``score-sde`` (variance exploding)
    dx = −½ g² ∇log p_t dt with g² = d s(t)²/dt and ∇log p_t = net(x, t)/s(t) is dx/ds = −net(x, t(s)) in the
    noise level s = s(t) (so ε̂ = −net); t(s) is :meth:`~physgen.samplers.ddpm.VESDE.time_of_std`, held at the
    smallest training time ``t_min`` below s(t_min).  The prior is the sampler's start N(0, s(1)² I).
``flow-matching``
    The learned velocity dx/dt = v(x, t) from noise (t = 0) to data (t = 1) is, in τ = 1 − t, dx/dτ =
    −v(x, 1 − τ) = −net(x, τ), from the data (τ = 0) to N(0, I) at τ = 1.

Grids: one RK4 step from s = 0 to the first noise level and ``steps`` steps evenly spaced in log s above it
(the diffusions: even in log-SNR, as DPM-Solver spaces its steps), or ``steps`` even steps in τ (flow matching,
whose paths are straight).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from physgen.samplers.ode_likelihood import ProbabilityFlow, gaussian_log_prob

DEFAULT_STEPS = 100     # RK4 steps (4 network calls each, with the divergence's backward pass)
#: ``eps(x (R, D), τ (R,) float, context) -> ε̂ (R, D)`` in the network's own time τ
Noise = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]


def _levels(s_lo: float, s_hi: float, steps: int) -> list[float]:
    """0, then ``steps`` + 1 levels from ``s_lo`` to ``s_hi`` evenly spaced in log s."""
    return [0.0, *np.geomspace(s_lo, s_hi, int(steps) + 1).tolist()]


def _times(y: torch.Tensor, tau: float) -> torch.Tensor:
    return torch.full((len(y),), float(tau), dtype=y.dtype, device=y.device)


def vp_flow(eps: Noise, alpha_bar: torch.Tensor, steps: int = DEFAULT_STEPS) -> ProbabilityFlow:
    """``ddpm``: ``alpha_bar`` ``(T,)`` the cumulative schedule ᾱ_0 … ᾱ_{T−1}; ``eps`` the network at timestep τ."""
    abar = alpha_bar.double().cpu().numpy()
    neg_log_abar = -np.log(abar)                               # increasing in the timestep
    steps_t = np.arange(len(abar), dtype=np.float64)
    s_levels = np.sqrt((1 - abar) / abar)

    def field(y, s, context):
        tau = float(np.interp(math.log1p(s * s), neg_log_abar, steps_t))   # τ = 0 below the first level
        return eps(y / math.sqrt(1 + s * s), _times(y, tau), context)

    alpha_end = 1 / math.sqrt(1 + float(s_levels[-1]) ** 2)

    def prior(y):
        return gaussian_log_prob(alpha_end * y) + y.shape[1] * math.log(alpha_end)

    return ProbabilityFlow(field, _levels(float(s_levels[0]), float(s_levels[-1]), steps), prior)


def ve_flow(eps: Noise, sde, t_min: float, steps: int = DEFAULT_STEPS) -> ProbabilityFlow:
    """``score-sde``: ``sde`` a :class:`~physgen.samplers.ddpm.VESDE`, ``t_min`` its smallest training time;
    ``eps`` = −net (the noise prediction −s(t) ∇log p_t)."""
    one = torch.ones((), dtype=torch.float64)
    s_lo, s_hi = float(sde.marginal_std(one * t_min)), float(sde.marginal_std(one))

    def field(y, s, context):
        t = max(float(sde.time_of_std(torch.tensor(s, dtype=torch.float64))), t_min)
        return eps(y, _times(y, t), context)

    return ProbabilityFlow(field, _levels(s_lo, s_hi, steps), lambda y: gaussian_log_prob(y, s_hi))


def linear_path_flow(eps: Noise, steps: int = DEFAULT_STEPS) -> ProbabilityFlow:
    """``flow-matching``: ``eps(x, τ)`` = −net(x, τ), dx/dτ for τ = 1 − t from 0 (data) to 1 (N(0, I))."""
    return ProbabilityFlow(lambda y, s, context: eps(y, _times(y, s), context),
                           np.linspace(0.0, 1.0, int(steps) + 1).tolist(), gaussian_log_prob)
