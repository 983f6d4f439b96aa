"""Reverse processes of diffusion models: DDPM ancestral, DDIM, and Euler–Maruyama for the VE SDE.

The model predicts, these functions loop (diffusers' scheduler/pipeline split).  Denoisers are callables:

``eps_fn(x: (B, *shape), t: (B,) int64 in [0, T)) -> ε̂ (B, *shape)``       (DDPM / DDIM)
``score_fn(x: (B, *shape), t: (B,) float in (0, 1]) -> ∇ log p_t (B, *shape)``  (VE SDE)

Forward process (Ho, Jain & Abbeel 2020): q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I), ᾱ_t = Π_{s≤t}(1 − β_s).
Schedules: ``linear`` β_t from β_1 = 1e-4 to β_T = 0.02 (Ho et al.), ``cosine`` ᾱ_t = f(t)/f(0),
f(t) = cos²(((t/T + s)/(1 + s)) π/2), s = 0.008, β clipped at 0.999 (Nichol & Dhariwal 2021).
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from physgen.errors import UserError
from physgen.randomness import randn

SCHEDULES = ("linear", "cosine")


def beta_schedule(kind: str, T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """β_1..β_T as a float64 tensor ``(T,)``; UserError for T < 2 or an unknown kind."""
    if int(T) < 2:
        raise UserError(f"model.timesteps: need at least 2 diffusion steps, got {T}")
    if kind == "linear":
        if not 0 < beta_start < beta_end < 1:
            raise UserError(f"model.beta_start/beta_end: need 0 < start < end < 1, got {beta_start}, {beta_end}")
        # Ho et al. use 1e-4 -> 0.02 at T = 1000; scale by 1000/T so other T reach the same ᾱ_T
        # (improved-diffusion's get_named_beta_schedule, Nichol & Dhariwal 2021).
        scale = 1000.0 / T
        return torch.linspace(beta_start * scale, min(beta_end * scale, 0.999), T, dtype=torch.float64)
    if kind == "cosine":
        s = 0.008
        steps = torch.arange(T + 1, dtype=torch.float64) / T
        f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
        return (1 - f[1:] / f[:-1]).clamp(max=0.999)
    raise UserError(f"model.schedule: must be one of {', '.join(SCHEDULES)}, got {kind!r}")


def alpha_bar(betas: torch.Tensor) -> torch.Tensor:
    """ᾱ_t = Π_{s≤t} (1 − β_s), ``(T,)``."""
    return torch.cumprod(1.0 - betas, dim=0)


def timestep_subsequence(T: int, steps: int) -> list[int]:
    """``steps`` increasing timesteps in [0, T) including 0 and T − 1 (evenly spaced)."""
    if not 1 <= int(steps) <= T:
        raise UserError(f"steps: must be between 1 and T={T}, got {steps}")
    return sorted({int(round(v)) for v in torch.linspace(0, T - 1, int(steps)).tolist()})


@torch.no_grad()
def ddpm_ancestral(eps_fn: Callable, shape: tuple[int, ...], abar: torch.Tensor, *,
                   generator: torch.Generator | None, device=None, clip=None) -> torch.Tensor:
    """Ho et al. (2020) Algorithm 2 over all T steps, σ_t² = β̃_t = (1 − ᾱ_{t−1}) β_t / (1 − ᾱ_t).

    ``shape`` = ``(n, *sample_shape)``; ``clip`` clamps the implied x̂_0 ("clip_denoised"): a float c for
    [−c, c], a pair ``(lo, hi)`` of tensors broadcastable to ``sample_shape`` (per-feature data range), or None.
    """
    return ddim(eps_fn, shape, abar, steps=len(abar), eta=1.0, generator=generator, device=device, clip=clip)


@torch.no_grad()
def ddim(eps_fn: Callable, shape: tuple[int, ...], abar: torch.Tensor, *, steps: int, eta: float = 0.0,
         generator: torch.Generator | None, device=None, clip=None) -> torch.Tensor:
    """DDIM (Song, Meng & Ermon 2021, eq. 12) on an evenly spaced subsequence τ of ``steps`` timesteps.

    x_{τ'} = √ᾱ_{τ'} x̂_0 + √(1 − ᾱ_{τ'} − σ²) ε̂ + σ z,  x̂_0 = (x_τ − √(1 − ᾱ_τ) ε̂)/√ᾱ_τ,
    σ = η √((1 − ᾱ_{τ'})/(1 − ᾱ_τ)) √(1 − ᾱ_τ/ᾱ_{τ'}).  η = 0: deterministic; η = 1 with all T steps is
    exactly DDPM ancestral sampling with σ_t² = β̃_t (and "respaced" DDPM with fewer steps).
    ``clip`` as in :func:`ddpm_ancestral`.
    """
    lo, hi = _clip_bounds(clip, device if device is not None else abar.device)
    device = device if device is not None else abar.device
    abar = abar.to(device=device, dtype=torch.float64)
    seq = timestep_subsequence(len(abar), steps)
    x = randn(shape, generator, device)
    for i in reversed(range(len(seq))):
        t = seq[i]
        a_t = abar[t]
        a_prev = abar[seq[i - 1]] if i > 0 else torch.ones((), dtype=torch.float64, device=device)
        eps = eps_fn(x, torch.full((shape[0],), t, device=device, dtype=torch.long)).double()
        x0 = (x.double() - (1 - a_t).sqrt() * eps) / a_t.sqrt()
        if lo is not None:
            x0 = torch.maximum(torch.minimum(x0, hi), lo)
            eps = (x.double() - a_t.sqrt() * x0) / (1 - a_t).sqrt()
        sigma = eta * ((1 - a_prev) / (1 - a_t)).sqrt() * (1 - a_t / a_prev).sqrt()
        mean = a_prev.sqrt() * x0 + (1 - a_prev - sigma ** 2).clamp(min=0).sqrt() * eps
        x = mean + (sigma * randn(shape, generator, device) if i > 0 and eta > 0 else 0.0)
        x = x.float()
    return x


def _clip_bounds(clip, device) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    if clip is None:
        return None, None
    if isinstance(clip, (int, float)):
        return (torch.tensor(-float(clip), dtype=torch.float64, device=device),
                torch.tensor(float(clip), dtype=torch.float64, device=device))
    lo, hi = clip
    return lo.to(device=device, dtype=torch.float64), hi.to(device=device, dtype=torch.float64)


class VESDE:
    """Variance-exploding SDE dx = σ^t dW, t ∈ [0, 1] (Song et al. 2021; the course's score-SDE code).

    Perturbation kernel p_t(x|x_0) = N(x_0, s(t)² I), s(t)² = (σ^{2t} − 1) / (2 ln σ); diffusion g(t) = σ^t.
    """

    def __init__(self, sigma: float = 25.0):
        if not sigma > 1:
            raise UserError(f"model.sigma: must be > 1, got {sigma}")
        self.sigma = float(sigma)

    def marginal_std(self, t: torch.Tensor) -> torch.Tensor:
        return torch.sqrt((self.sigma ** (2 * t) - 1.0) / (2 * math.log(self.sigma)))

    def diffusion(self, t: torch.Tensor) -> torch.Tensor:
        return self.sigma ** t


@torch.no_grad()
def euler_maruyama(score_fn: Callable, shape: tuple[int, ...], sde: VESDE, *, steps: int,
                   generator: torch.Generator | None, device=None, eps: float = 1e-3,
                   corrector_steps: int = 0, snr: float = 0.16) -> torch.Tensor:
    """Reverse-time SDE dx = −g² ∇log p_t dt + g dW̄ integrated from t = 1 to ``eps`` in ``steps`` steps.

    Predictor: x ← x + g² s(x, t) Δt + g √Δt z.  With ``corrector_steps`` > 0, each predictor step is
    preceded by Langevin corrector steps x ← x + ε s + √(2ε) z, ε = 2 (snr √d / mean‖s‖)² (Song et al.
    2021, Algorithm 5, predictor–corrector).  The last step returns the mean (no noise), as in the course.
    """
    if int(steps) < 1:
        raise UserError(f"steps: must be >= 1, got {steps}")
    device = device if device is not None else "cpu"
    n = shape[0]
    x = randn(shape, generator, device) * sde.marginal_std(torch.ones((), device=device))
    times = torch.linspace(1.0, eps, int(steps), device=device)
    dt = (1.0 - eps) / max(int(steps) - 1, 1) if steps > 1 else 1.0 - eps
    mean = x
    for t in times:
        tb = t.expand(n)
        for _ in range(corrector_steps):
            x = _corrector_step(score_fn, x, tb, snr, generator)
        g = sde.diffusion(t)
        mean = x + (g ** 2) * score_fn(x, tb) * dt
        x = mean + g * math.sqrt(dt) * randn(shape, generator, device)
    return mean


def _corrector_step(score_fn, x, tb, snr, generator):
    """Langevin corrector with ε = 2 (snr √d / mean_b ‖s_b‖)², the batch-averaged norms of the course's code
    (per-sample norms explode for a sample sitting at a mode, where ‖s‖ → 0)."""
    grad = score_fn(x, tb)
    z = randn(x.shape, generator, x.device)
    grad_norm = grad.flatten(1).norm(dim=1).mean().clamp(min=1e-12)
    step = 2 * (snr * math.sqrt(x[0].numel()) / grad_norm) ** 2
    return x + step * grad + torch.sqrt(2 * step) * z


@torch.no_grad()
def ancestral_paths(eps_fn: Callable, shape: tuple[int, ...], abar: torch.Tensor, *,
                    generator: torch.Generator | None, device=None, clip=None) -> torch.Tensor:
    """:func:`ddpm_ancestral` with its whole trajectory: ``(T + 1, *shape)``, the state x_T ~ N(0, I) and the
    state after each of the T reverse steps (the last row is the sample), recorded at every call of ``eps_fn``."""
    states = []

    def record(x, t):
        states.append(x.detach().clone())
        return eps_fn(x, t)

    x = ddpm_ancestral(record, shape, abar, generator=generator, device=device, clip=clip)
    return torch.stack([*states, x])
