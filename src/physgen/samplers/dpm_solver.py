"""DPM-Solver++ (Lu et al. 2022): a multistep solver of the diffusion ODE (and SDE) in data-prediction form.

A diffusion with marginals x_t = α_t x_0 + σ_t ε (VP: α² + σ² = 1, DDPM; VE: α = 1, score-SDE) has the
probability-flow ODE whose exact solution from level s to level t is, in the half log-SNR λ = log(α/σ)
and with the denoiser D(x, t) ≈ E[x_0 | x_t = x] (Lu et al. 2022b, eq. 8),

    x_t = (σ_t/σ_s) x_s + σ_t ∫_{λ_s}^{λ_t} e^λ D(x_λ, λ) dλ.

DPM-Solver++(2M) (Lu et al. 2022b, Algorithm 2) takes D linear in λ through the current and the previous
step's denoisings: with h = λ_t − λ_s, r = h_prev/h and D̃ = (1 + 1/(2r)) D_s − 1/(2r) D_prev,

    x_t = (σ_t/σ_s) x_s + α_t (1 − e^{−h}) D̃,

second-order accurate in the step (the first step, without a previous denoising, is first order: DDIM).
The SDE variant (SDE-DPM-Solver++(2M), Lu et al. 2022b, appendix; diffusers' ``sde-dpmsolver++``) solves the
reverse diffusion SDE with the same D̃:

    x_t = (σ_t/σ_s) e^{−h} x_s + α_t (1 − e^{−2h}) D̃ + σ_t √(1 − e^{−2h}) z,

whose first-order form is DDPM's ancestral step.  A step to σ_t = 0 (λ = ∞) is x_t = α_t D_s: the final
denoising.  Both work on any decreasing sequence of noise levels; :func:`physgen.models.diffusion` chooses them
(the DDPM's integer timesteps, the VE SDE's σ spaced as in Karras et al. 2022, eq. 5).

Lu, Zhou, Bao, Chen, Li & Zhu, *DPM-Solver++: Fast solver for guided sampling of diffusion probabilistic
models*, arXiv:2211.01095 (2022b); Karras, Aittala, Aila & Laine, *Elucidating the design space of
diffusion-based generative models*, NeurIPS 2022.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from physgen.randomness import randn


@torch.no_grad()
def dpm_solver_pp(denoise_fn: Callable, x: torch.Tensor, alphas, sigmas, *, order: int = 2,
                  stochastic: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    """Integrate from noise level 0 to level N of ``alphas``, ``sigmas`` (length N + 1, σ decreasing).

    ``denoise_fn(x: (B, *shape), i: int) -> x̂_0 (B, *shape)`` is the data prediction at level i < N;
    ``x`` the start ``(B, *shape)`` at level 0 (for sampling, σ_0 · N(0, I) plus α_0 times the data mean,
    i.e. N(0, I) for a VP diffusion); ``order`` 1 (DDIM / first-order DPM-Solver++) or 2 (2M);
    ``stochastic`` solves the reverse SDE instead of the ODE (``generator`` draws its noise).
    σ_N may be 0 (the last step then returns α_N D).  Returns x at level N, the dtype of ``x``.
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order}")
    a = [float(v) for v in alphas]
    s = [float(v) for v in sigmas]
    if len(a) != len(s) or len(a) < 2:
        raise ValueError("alphas and sigmas need the same length >= 2")
    dtype = x.dtype
    x = x.double()
    d_prev, h_prev = None, None
    for i in range(len(a) - 1):
        d = denoise_fn(x.to(dtype), i).double()
        if s[i + 1] == 0:                         # λ = ∞: the final denoising
            x = a[i + 1] * d
            break
        h = math.log(a[i + 1] / s[i + 1]) - math.log(a[i] / s[i])
        d_eff = d
        if order == 2 and d_prev is not None:
            r = h_prev / h
            d_eff = d + (d - d_prev) / (2 * r)
        if stochastic:
            x = (s[i + 1] / s[i] * math.exp(-h)) * x + a[i + 1] * (-math.expm1(-2 * h)) * d_eff
            x = x + s[i + 1] * math.sqrt(-math.expm1(-2 * h)) * randn(x.shape, generator, x.device).double()
        else:
            x = (s[i + 1] / s[i]) * x + a[i + 1] * (-math.expm1(-h)) * d_eff
        d_prev, h_prev = d, h
    return x.to(dtype)


def karras_sigmas(sigma_max: float, sigma_min: float, n: int, rho: float = 7.0) -> list[float]:
    """σ_i = (σ_max^{1/ρ} + i/(n−1) (σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, i = 0..n−1 (Karras et al. 2022, eq. 5)."""
    if n == 1:
        return [float(sigma_max)]
    hi, lo = sigma_max ** (1 / rho), sigma_min ** (1 / rho)
    return [(hi + i / (n - 1) * (lo - hi)) ** rho for i in range(n)]
