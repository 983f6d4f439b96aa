"""Block Gibbs sampling of RBMs: many chains in parallel, burn-in, thinning, optional global spin flip.

A sweep draws ``h ~ p(h|v)`` then ``v ~ p(v|h)`` for all chains at once (Hinton 2002; Hinton 2012
guide, §2).  For spin visible units the Ising Z2 symmetry suggests one more move: propose the global
flip ``s -> −s`` and accept it with the Metropolis probability ``min(1, exp(F(s) − F(−s)))`` on the
marginal ``p(s) ∝ exp(−F(s))`` (detailed balance holds because the proposal is its own inverse).
It lets chains jump between the all-up and all-down modes that Gibbs sweeps alone cannot cross below Tc.

The energy is a :class:`physgen.samplers.energy.BipartiteEnergy` (an RBM, possibly tempered): the sampler owns
the loop, the model only gives conditionals.
"""
from __future__ import annotations

import math
import torch
from torch.nn.functional import softplus

from physgen.errors import UserError
from physgen.samplers.draws import bernoulli
from physgen.samplers.energy import BipartiteEnergy


def flip_move(energy: BipartiteEnergy, v: torch.Tensor, generator: torch.Generator | None
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Metropolis global spin flip on every chain: ``(..., n) -> (..., n)`` and the acceptance mask ``(...)``."""
    log_r = energy.flip_log_ratio(v)
    u = torch.rand(log_r.shape, generator=generator, device=v.device, dtype=v.dtype)
    accept = torch.log(u) < log_r
    return torch.where(accept[..., None], -v, v), accept


def flip_from_logits(e: BipartiteEnergy, v: torch.Tensor, x: torch.Tensor, generator: torch.Generator | None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Metropolis global flip of spin chains ``v (..., C, n)`` whose hidden logits are ``x (..., C, m)``:
    ``log p(−s) − log p(s) = F(s) − F(−s) = −2aᵀs − Σ softplus(x) + Σ softplus(2b − x)``."""
    x_flip = 2 * e.b - x
    log_r = -2 * (v * e.a).sum(-1) - softplus(x).sum(-1) + softplus(x_flip).sum(-1)
    u = torch.rand(log_r.shape, generator=generator, device=v.device, dtype=v.dtype)
    accept = (torch.log(u) < log_r)[..., None]
    return v * (1 - 2 * accept.to(v.dtype)), torch.where(accept, x_flip, x)   # s → −s as a product by ±1


def sweeps(e: BipartiteEnergy, h: torch.Tensor, steps: int, generator: torch.Generator | None, *, flip: bool = False,
           last_hidden: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``steps`` block-Gibbs sweeps ``h → v ~ p(v|h) → x = logits(v) → h ~ σ(x)`` from hidden states
    ``h (C, m)``; returns the last ``(v (C, n), x (C, m), h (C, m))`` (``h`` is None with
    ``last_hidden=False``: the final hidden draw is skipped when nobody carries it on).  With a stacked
    energy (``W (K, n, m)``, biases ``(K, 1, ·)``, see ``RBM.stacked_energy``) ``h`` is ``(K, C, m)`` and
    K independent RBMs advance together by batched matrix products."""
    for i in range(steps):
        v = e.sample_visible(h, generator)
        x = e.hidden_logits(v)
        if flip:
            v, x = flip_from_logits(e, v, x, generator)
        h = bernoulli(torch.sigmoid(x), generator) if last_hidden or i < steps - 1 else None
    return v, x, h


def gibbs_steps(energy: BipartiteEnergy, v: torch.Tensor, steps: int, generator: torch.Generator | None, *,
                flip: bool = False) -> torch.Tensor:
    """``steps`` sweeps (each followed by a global flip proposal when ``flip``) from ``v`` ``(..., n)``.
    Untempered energies run :func:`sweeps` (the flip from the logits: two products per sweep)."""
    if steps > 0 and energy.untempered:
        h = bernoulli(torch.sigmoid(energy.hidden_logits(v)), generator)
        return sweeps(energy, h, steps, generator, flip=flip, last_hidden=False)[0]
    for _ in range(steps):
        v = energy.gibbs_step(v, generator)
        if flip:
            v, _ = flip_move(energy, v, generator)
    return v


def initial_state(energy: BipartiteEnergy, chains: int, init, generator: torch.Generator | None) -> torch.Tensor:
    """``(chains, n)`` starting points: ``None`` -> the independent base model; a tensor ``(N, n)`` ->
    its rows cycled (initialisation from data or from persistent chains)."""
    if init is None:
        return energy.random_visible((chains,), generator)
    init = torch.as_tensor(init).to(energy.W.device, energy.W.dtype).reshape(len(init), -1)
    if init.shape[-1] != energy.n_visible or len(init) == 0:
        raise UserError(f"sampler init: expected rows of {energy.n_visible} values, got shape {tuple(init.shape)}")
    return init[torch.arange(chains, device=init.device) % len(init)].clone()


def gibbs_sample(energy: BipartiteEnergy, n: int, *, generator: torch.Generator | None, chains: int | None = None,
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
