"""Block Gibbs sampling of RBMs: many chains in parallel, burn-in, thinning, optional global spin flip.

A sweep draws ``h ~ p(h|v)`` then ``v ~ p(v|h)`` for all chains at once (Hinton 2002; Hinton 2012
guide, §2).  For spin visible units the Ising Z2 symmetry suggests one more move: propose the global
flip ``s -> −s`` and accept it with the Metropolis probability ``min(1, exp(F(s) − F(−s)))`` on the
marginal ``p(s) ∝ exp(−F(s))`` (detailed balance holds because the proposal is its own inverse).
It lets chains jump between the all-up and all-down modes that Gibbs sweeps alone cannot cross below Tc.

The energy is an :class:`physgen.models.rbm.energy.RBMEnergy` (possibly tempered): the sampler owns
the loop, the model only gives conditionals.
"""
from __future__ import annotations

import math

import torch

from physgen.errors import UserError


def flip_move(energy, v: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Metropolis global spin flip on every chain: ``(..., n) -> (..., n)`` and the acceptance mask ``(...)``."""
    log_r = energy.flip_log_ratio(v)
    u = torch.rand(log_r.shape, generator=generator, device=v.device, dtype=v.dtype)
    accept = torch.log(u) < log_r
    return torch.where(accept[..., None], -v, v), accept


def gibbs_steps(energy, v: torch.Tensor, steps: int, generator: torch.Generator | None, *,
                flip: bool = False) -> torch.Tensor:
    """``steps`` sweeps (each followed by a global flip proposal when ``flip``) from ``v`` ``(..., n)``."""
    for _ in range(steps):
        v = energy.gibbs_step(v, generator)
        if flip:
            v, _ = flip_move(energy, v, generator)
    return v


def initial_state(energy, chains: int, init, generator: torch.Generator | None) -> torch.Tensor:
    """``(chains, n)`` starting points: ``None`` -> the independent base model; a tensor ``(N, n)`` ->
    its rows cycled (initialisation from data or from persistent chains)."""
    if init is None:
        return energy.random_visible((chains,), generator)
    init = torch.as_tensor(init).to(energy.W.device, energy.W.dtype).reshape(len(init), -1)
    if init.shape[-1] != energy.n_visible or len(init) == 0:
        raise UserError(f"sampler init: expected rows of {energy.n_visible} values, got shape {tuple(init.shape)}")
    return init[torch.arange(chains, device=init.device) % len(init)].clone()


def gibbs_sample(energy, n: int, *, generator: torch.Generator | None, chains: int | None = None,
                 burn_in: int = 1000, thin: int = 1, init=None, flip: bool = False) -> torch.Tensor:
    """``n`` samples ``(n, n_visible)`` from ``chains`` parallel chains (default ``n``).

    Each chain runs ``burn_in`` sweeps, then yields one sample every ``thin`` sweeps; samples are
    returned chain-interleaved (the first ``chains`` rows are one per chain).
    """
    if n < 1 or burn_in < 0 or thin < 1:
        raise UserError(f"gibbs: need n >= 1, burn_in >= 0, thin >= 1 (got {n}, {burn_in}, {thin})")
    chains = min(n, chains or n)
    with torch.no_grad():
        v = gibbs_steps(energy, initial_state(energy, chains, init, generator), burn_in, generator, flip=flip)
        out = [v]
        for _ in range(math.ceil(n / chains) - 1):
            v = gibbs_steps(energy, v, thin, generator, flip=flip)
            out.append(v)
    return torch.cat(out)[:n]
