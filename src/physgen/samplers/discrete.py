"""Gradient-informed Metropolis–Hastings for ±1 variables: the discrete Langevin proposal.

Zhang, Liu & Liu (2022, "A Langevin-like sampler for discrete distributions", ICML).  For an unnormalised
log-density ``f = log p`` on spins ``x ∈ {−1, +1}^D`` that extends smoothly to ``R^D`` (a network, or an
Ising energy), with ``g = ∇f(x)``, the proposal

    q(y | x) ∝ exp(½ g·(y − x) − ‖y − x‖² / (2α))

factorises over the coordinates: each spin is flipped independently (``y_i − x_i = −2x_i``, squared 4) with

    P(flip i) = σ(z_i),   z_i = −x_i g_i − 2/α,

where ``−2 x_i g_i`` is the first-order change of ``f`` under the flip.  All spins move in one step, so
a step costs one gradient, like continuous Langevin, whatever D is.

``mh=True`` (DMALA) accepts ``y`` with probability ``min(1, exp(f(y) − f(x)) q(x | y) / q(y | x))``, with
``log q(y | x) = Σ_i [F_i z_i − softplus(z_i)]`` over the flipped set ``F`` (the reverse move flips the same
set, with ``z`` evaluated at ``y``).  The chain then leaves ``p`` invariant exactly for every ``α``; the
gradient at the current state is carried over, so each step still costs one gradient.  ``mh=False`` (DULA)
takes every proposal: cheaper by the acceptance test only, and biased by O(α).

Spins live in model space as ±1 floats; binary {0, 1} data map there with ``2x − 1``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from physgen.errors import UserError
from physgen.randomness import rand
from physgen.samplers.langevin import LogProb, log_prob_and_grad


@dataclass
class DiscreteResult:
    """Output of :func:`dlp`: ``samples`` ``(C, *shape)`` final ±1 states; ``acceptance_rate`` ``(C,)``
    (1 without MH); ``flip_rate``: mean fraction of spins flipped per step (accepted moves only)."""

    samples: torch.Tensor
    acceptance_rate: torch.Tensor
    flip_rate: float


def to_spins(x: torch.Tensor) -> torch.Tensor:
    """±1 states from real values: sign(x), with 0 -> +1 (uniform noise on [−1, 1] -> uniform random spins)."""
    return torch.where(x < 0, -1.0, 1.0).to(x.dtype)


def dlp(log_prob: LogProb, x0: torch.Tensor, *, step_size: float, n_steps: int,
        generator: torch.Generator | None, mh: bool = True) -> DiscreteResult:
    """``n_steps`` discrete-Langevin steps on ``C`` parallel chains ``x0: (C, *shape)`` of ±1 values.

    ``step_size`` is α of the module docstring (with no gradient a spin flips with probability σ(−2/α):
    0.076 at α = 0.8); ``log_prob(x) -> (C,)`` must be differentiable in ``x``.
    """
    if int(n_steps) < 1:
        raise UserError(f"n_steps: must be >= 1, got {n_steps}")
    if not step_size > 0:
        raise UserError(f"step_size: must be > 0, got {step_size}")
    if x0.ndim < 2 or not bool(((x0 == 1) | (x0 == -1)).all()):
        raise UserError("start point: expected (chains, *shape) of ±1 values")
    x = x0.detach().clone()
    dims = tuple(range(1, x.ndim))
    bias = 2.0 / float(step_size)
    lp, g = log_prob_and_grad(log_prob, x)
    accepted = torch.zeros(len(x), dtype=torch.float64, device=x.device)
    flipped = 0.0
    for _ in range(int(n_steps)):
        z = -x * g - bias
        flip = rand(x.shape, generator, x.device) < torch.sigmoid(z)
        y = torch.where(flip, -x, x)
        lp_y, g_y = log_prob_and_grad(log_prob, y)
        if mh:
            z_y = -y * g_y - bias
            fwd = (flip * z - F.softplus(z)).sum(dims)
            bwd = (flip * z_y - F.softplus(z_y)).sum(dims)
            log_alpha = torch.nan_to_num(lp_y - lp + bwd - fwd, nan=-torch.inf)
            take = torch.log(rand(lp.shape, generator, x.device)) < log_alpha
        else:
            take = torch.ones_like(lp, dtype=torch.bool)
        rows = take.view(-1, *([1] * (x.ndim - 1)))
        x, lp, g = torch.where(rows, y, x), torch.where(take, lp_y, lp), torch.where(rows, g_y, g)
        accepted += take
        flipped += float((flip & rows).float().mean())
    return DiscreteResult(x, accepted / int(n_steps), flipped / int(n_steps))
