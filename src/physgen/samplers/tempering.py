"""Parallel tempering (replica exchange) for RBMs (Desjardins et al. 2010; Swendsen & Wang 1986).

``R`` replicas run block Gibbs at inverse temperatures ``0 ≤ β_1 < … < β_R = 1`` of the tempered
family ``p_β`` (see :mod:`physgen.models.rbm.energy`); after each sweep neighbouring replicas swap
configurations with probability

``min(1, exp(F_{β_k}(x_k) + F_{β_{k+1}}(x_{k+1}) − F_{β_k}(x_{k+1}) − F_{β_{k+1}}(x_k)))``,

alternating even and odd pairs (deterministic even-odd scheme, Lingenheil et al. 2009).  Chains are
``(R, C, n)``: ``C`` independent PT ensembles updated with one batched matrix product per sweep.
The β = 1 replica is a sample of the model; hot replicas move freely between modes and feed it.
"""
from __future__ import annotations

import torch

from physgen.errors import UserError
from physgen.samplers.energy import BipartiteEnergy
from physgen.samplers.gibbs import flip_move, initial_state


def default_betas(n_temperatures: int, beta_min: float = 0.0, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """Linearly spaced ``(R,)`` inverse temperatures from ``beta_min`` to 1."""
    if n_temperatures < 2 or not 0.0 <= beta_min < 1.0:
        raise UserError(f"parallel tempering needs >= 2 temperatures and 0 <= beta_min < 1 "
                        f"(got {n_temperatures}, {beta_min})")
    return torch.linspace(beta_min, 1.0, n_temperatures, device=device, dtype=dtype)


def _swap(energy: BipartiteEnergy, chains: torch.Tensor, z: torch.Tensor, betas: torch.Tensor, parity: int,
          generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Swap moves between the pairs (k, k + 1) with k ≡ parity (mod 2); ``z (R, C, m)``: the chains' untempered
    hidden inputs b + ṽW, which give every tempered free energy as ``F_β(x; β z)`` without another product.
    Returns the chains, their inputs (moved with them) and the acceptance rate of each pair."""
    lo = torch.arange(parity, len(betas) - 1, 2, device=chains.device)
    if len(lo) == 0:
        return chains, z, torch.zeros(0, device=chains.device)
    hi = lo + 1
    b_lo, b_hi = betas[lo, None, None], betas[hi, None, None]
    e_lo, e_hi = energy.tempered(b_lo), energy.tempered(b_hi)
    x_lo, x_hi, z_lo, z_hi = chains[lo], chains[hi], z[lo], z[hi]
    log_r = (e_lo.free_energy(x_lo, b_lo * z_lo) + e_hi.free_energy(x_hi, b_hi * z_hi)
             - e_lo.free_energy(x_hi, b_lo * z_hi) - e_hi.free_energy(x_lo, b_hi * z_lo))      # (P, C)
    u = torch.rand(log_r.shape, generator=generator, device=chains.device, dtype=chains.dtype)
    acc = (torch.log(u) < log_r)[..., None]
    chains, z = chains.clone(), z.clone()
    chains[lo], chains[hi] = torch.where(acc, x_hi, x_lo), torch.where(acc, x_lo, x_hi)
    z[lo], z[hi] = torch.where(acc, z_hi, z_lo), torch.where(acc, z_lo, z_hi)
    return chains, z, acc.squeeze(-1).float().mean(-1)


def pt_sweep(energy: BipartiteEnergy, chains: torch.Tensor, betas: torch.Tensor, generator: torch.Generator | None, *,
             steps: int = 1, flip: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``steps`` Gibbs sweeps of every replica, each followed by swaps; chains ``(R, C, n)``.

    Returns the new chains and the swap acceptance rate of each neighbour pair ``(R − 1,)``
    (averaged over the sweeps).  The base bias of the tempered family is the model's own ``a``.  The swaps
    of a sweep share one product: the untempered hidden inputs of all replicas.
    """
    tempered, plain = energy.tempered(betas[:, None, None]), energy.tempered(1.0)
    rate = torch.zeros(len(betas) - 1, device=chains.device)
    with torch.no_grad():
        for s in range(steps):
            chains = tempered.gibbs_step(chains, generator)
            if flip:
                chains, _ = flip_move(tempered, chains, generator)
            z = plain.hidden_logits(chains)
            for parity in (0, 1):
                chains, z, acc = _swap(energy, chains, z, betas, parity, generator)
                rate[parity::2] += acc / steps
    return chains, rate


def pt_sample(energy: BipartiteEnergy, n: int, *, betas: torch.Tensor, generator: torch.Generator | None,
              chains: int | None = None, burn_in: int = 1000, thin: int = 1, init=None,
              flip: bool = False) -> torch.Tensor:
    """``n`` samples ``(n, n_visible)`` of the β = 1 replica of ``chains`` PT ensembles."""
    if n < 1 or burn_in < 0 or thin < 1:
        raise UserError(f"tempering: need n >= 1, burn_in >= 0, thin >= 1 (got {n}, {burn_in}, {thin})")
    chains = min(n, chains or n)
    x = initial_state(energy, chains, init, generator)[None].repeat(len(betas), 1, 1)
    x, _ = pt_sweep(energy, x, betas, generator, steps=burn_in, flip=flip) if burn_in else (x, None)
    out = [x[-1]]
    while sum(len(o) for o in out) < n:
        x, _ = pt_sweep(energy, x, betas, generator, steps=thin, flip=flip)
        out.append(x[-1])
    return torch.cat(out)[:n]
