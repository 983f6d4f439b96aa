"""Reverse processes of diffusion models: DDPM ancestral, DDIM, DPM-Solver++, and Euler–Maruyama for the VE SDE.

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
VARIANCES = ("posterior", "beta")   # the ancestral step's noise: β̃_t or β_t (:func:`ddim`)


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


def logsnr_subsequence(abar: torch.Tensor, steps: int) -> list[int]:
    """Up to ``steps`` increasing timesteps in [0, T) including 0 and T − 1, the nearest to an evenly spaced
    grid of the half log-SNR λ_t = ½ log(ᾱ_t / (1 − ᾱ_t)) (the "logSNR" spacing of Lu et al. 2022a, §3.4)."""
    T = len(abar)
    if not 1 <= int(steps) <= T:
        raise UserError(f"steps: must be between 1 and T={T}, got {steps}")
    lam = (0.5 * torch.log(abar / (1 - abar))).double().flip(0)          # increasing, index T − 1 − t
    grid = torch.linspace(float(lam[0]), float(lam[-1]), int(steps), dtype=torch.float64)
    idx = torch.searchsorted(lam, grid).clamp(1, T - 1)
    nearest = torch.where(grid - lam[idx - 1] < lam[idx] - grid, idx - 1, idx)
    return sorted({T - 1 - int(i) for i in nearest})


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
         generator: torch.Generator | None, device=None, clip=None, variance: str = "posterior") -> torch.Tensor:
    """DDIM (Song, Meng & Ermon 2021, eq. 12) on an evenly spaced subsequence τ of ``steps`` timesteps.

    x_{τ'} = √ᾱ_{τ'} x̂_0 + √(1 − ᾱ_{τ'} − σ²) ε̂ + s z,  x̂_0 = (x_τ − √(1 − ᾱ_τ) ε̂)/√ᾱ_τ,
    σ = η √((1 − ᾱ_{τ'})/(1 − ᾱ_τ)) √(1 − ᾱ_τ/ᾱ_{τ'}).  η = 0: deterministic; η = 1 with all T steps is
    exactly DDPM ancestral sampling with σ_t² = β̃_t (and "respaced" DDPM with fewer steps).
    ``variance``: the noise s added per step — ``"posterior"`` s = σ (β̃ at η = 1, the lower bound on the
    reverse variance), ``"beta"`` s = σ √((1 − ᾱ_τ)/(1 − ᾱ_{τ'})) (β_τ of the respaced forward process at
    η = 1, the upper bound; Ho et al. 2020 §3.2, Nichol & Dhariwal 2021 §3.1), the mean unchanged.
    ``clip`` as in :func:`ddpm_ancestral`.
    """
    if variance not in VARIANCES:
        raise UserError(f"model.ancestral_variance: must be one of {', '.join(VARIANCES)}, got {variance!r}")
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
        if variance == "beta" and i > 0:
            sigma = sigma * ((1 - a_t) / (1 - a_prev)).sqrt()
        x = mean + (sigma * randn(shape, generator, device) if i > 0 and eta > 0 else 0.0)
        x = x.float()
    return x


@torch.no_grad()
def dpm_solver(eps_fn: Callable, shape: tuple[int, ...], abar: torch.Tensor, *, steps: int, order: int = 2,
               stochastic: bool = False, spacing: str = "logsnr", generator: torch.Generator | None, device=None,
               clip=None) -> torch.Tensor:
    """DPM-Solver++ (Lu et al. 2022b; :func:`physgen.samplers.dpm_solver.dpm_solver_pp`) on the DDPM's timesteps.

    The levels are the timesteps τ of :func:`logsnr_subsequence` (``spacing="logsnr"``: even in log-SNR, the
    choice of Lu et al. 2022a for few steps) or :func:`timestep_subsequence` (``"time"``: even in t), with
    α = √ᾱ_τ, σ = √(1 − ᾱ_τ), from T − 1 down to 0, then ᾱ = 1 (σ = 0): ``steps`` network calls at most, the
    last step the denoising x̂_0 as in DDIM.  The data prediction is x̂_0 = (x − σ ε̂)/α, clamped by ``clip`` (as in
    :func:`ddpm_ancestral`: DPM-Solver++ with thresholding).  ``order`` 2 is the 2M multistep solver, 1 is
    DDIM (η = 0); ``stochastic`` solves the reverse SDE (order 1: respaced ancestral DDPM).
    """
    from physgen.samplers.dpm_solver import dpm_solver_pp

    device = device if device is not None else abar.device
    lo, hi = _clip_bounds(clip, device)
    abar = abar.to(device=device, dtype=torch.float64)
    seq = (logsnr_subsequence(abar, steps) if spacing == "logsnr" else timestep_subsequence(len(abar), steps))[::-1]
    levels = [float(abar[t]) for t in seq] + [1.0]
    alphas = [math.sqrt(v) for v in levels]
    sigmas = [math.sqrt(1 - v) for v in levels]

    def denoise(x, i):
        eps = eps_fn(x, torch.full((shape[0],), seq[i], device=device, dtype=torch.long)).double()
        x0 = (x.double() - sigmas[i] * eps) / alphas[i]
        return x0 if lo is None else torch.maximum(torch.minimum(x0, hi), lo)

    x = randn(shape, generator, device)
    return dpm_solver_pp(denoise, x, alphas, sigmas, order=order, stochastic=stochastic, generator=generator)


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

    def time_of_std(self, s: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`marginal_std`: t = ln(1 + 2 ln σ · s²) / (2 ln σ)."""
        two_log = 2 * math.log(self.sigma)
        return torch.log1p(two_log * s ** 2) / two_log

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


@torch.no_grad()
def dpm_solver_ve(score_fn: Callable, shape: tuple[int, ...], sde: VESDE, *, steps: int, stochastic: bool = False,
                  generator: torch.Generator | None, device=None, eps: float = 1e-3, rho: float = 7.0) -> torch.Tensor:
    """DPM-Solver++(2M) (Lu et al. 2022b) on the probability-flow ODE of the VE SDE (α = 1, σ = s(t)), or with
    ``stochastic`` on the reverse SDE (its first-order step then draws exactly from N(x̂_0 + (σ_t/σ_s)²(x − x̂_0),
    σ_t²(1 − σ_t²/σ_s²) I), the Gaussian posterior of the forward process).

    ``steps`` noise levels from s(1) to s(``eps``) spaced as in Karras et al. (2022, eq. 5; ``rho``), then the
    denoising to s = 0: ``steps`` calls of ``score_fn``, the data prediction x̂_0 = x + s² ∇log p_t (Tweedie).
    The start is s(1) · N(0, I), as in :func:`euler_maruyama`.
    """
    from physgen.samplers.dpm_solver import dpm_solver_pp, karras_sigmas

    if int(steps) < 1:
        raise UserError(f"steps: must be >= 1, got {steps}")
    device = device if device is not None else "cpu"
    one = torch.ones((), dtype=torch.float64)
    s_max, s_min = float(sde.marginal_std(one)), float(sde.marginal_std(one * eps))
    sigmas = karras_sigmas(s_max, s_min, int(steps)) + [0.0]
    times = [float(sde.time_of_std(torch.tensor(v, dtype=torch.float64))) for v in sigmas[:-1]]

    def denoise(x, i):
        t = torch.full((shape[0],), times[i], device=device)
        return x.double() + sigmas[i] ** 2 * score_fn(x, t).double()

    x = randn(shape, generator, device) * s_max
    return dpm_solver_pp(denoise, x, [1.0] * len(sigmas), sigmas, order=2, stochastic=stochastic, generator=generator)


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
