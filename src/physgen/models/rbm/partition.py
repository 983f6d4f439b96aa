"""Exact partition functions of small RBMs by enumerating the smaller layer (float64, chunked).

Summing out one layer analytically leaves a sum over the other one (Hinton 2012 guide, §16.1;
Salakhutdinov & Murray 2008, §3):

* enumerate the **visible** layer (binary/spin, ``n ≤ MAX_UNITS``): ``log Z = logsumexp_v −F(v)``;
* enumerate the **hidden** layer (``m ≤ MAX_UNITS``):
  ``log Z = logsumexp_h [bᵀh + Σ_i g_i(a_i + W_{i:}h)]`` with ``g = softplus`` (Bernoulli),
  ``g = log 2cosh`` (spin) and, for Gaussian units, ``g_i(μ_i) = (μ_i² − a_i²)/(2σ_i²) + ½ log 2πσ_i²``
  (the Gaussian integral over ``v_i``).

Both are differentiable, so ``mean F(v_data) + log Z`` is the exact negative log-likelihood
(``method = "exact"`` training of tiny models).  2^24 states are summed in chunks of ``chunk``.
"""
from __future__ import annotations

import math

import torch
from torch.nn.functional import softplus

from physgen.errors import UserError
from physgen.models.rbm.energy import RBMEnergy

MAX_UNITS = 24


def all_states(n: int, *, start: int = 0, stop: int | None = None, spin: bool = False,
               dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
    """Rows ``start..stop`` of all ``2^n`` binary states ``(stop − start, n)``, bit i = unit i (little-endian).

    With ``spin=True`` the states are ``±1`` (bit 1 -> +1).
    """
    stop = 2 ** n if stop is None else stop
    idx = torch.arange(start, stop, device=device, dtype=torch.int64)
    bits = (idx[:, None] >> torch.arange(n, device=device, dtype=torch.int64)) & 1
    x = bits.to(dtype)
    return 2 * x - 1 if spin else x


def states_index(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`all_states`: ``(N, n)`` 0/1 or ±1 rows -> ``(N,)`` int64 indices."""
    bits = (x > 0).to(torch.int64)
    return (bits << torch.arange(x.shape[-1], device=x.device, dtype=torch.int64)).sum(-1)


def _log_g(e: RBMEnergy, mu: torch.Tensor) -> torch.Tensor:
    """Σ_i log Σ_{v_i} exp(...) for each row of ``mu = a + hWᵀ`` ``(S, n) -> (S,)``."""
    if e.visible == "bernoulli":
        return softplus(mu).sum(-1)
    if e.visible == "binomial":
        return e.levels * softplus(mu).sum(-1)
    if e.visible == "softmax":
        return torch.logsumexp(mu.unflatten(-1, (-1, e.levels + 1)), -1).sum(-1)
    if e.visible == "spin":
        return (mu.abs() + torch.log1p(torch.exp(-2 * mu.abs()))).sum(-1) + 0 * mu.sum(-1)
    s2 = e.sigma ** 2
    return ((mu ** 2 - e.a ** 2) / (2 * s2)).sum(-1) + (0.5 * torch.log(2 * math.pi * s2)).sum()


def _chunks(n: int, chunk: int):
    total = 2 ** n
    for start in range(0, total, chunk):
        yield start, min(total, start + chunk)


def exact_log_z(energy: RBMEnergy, *, chunk: int = 2 ** 16, layer: str | None = None) -> torch.Tensor:
    """Exact ``log Z`` (float64 scalar tensor, differentiable) of an untempered RBM.

    ``layer`` = ``"visible"`` | ``"hidden"`` | None (the smaller enumerable one).
    """
    e = energy.to(torch.float64)
    n, m = e.n_visible, e.n_hidden
    if layer is None:
        layer = "visible" if (e.visible in ("bernoulli", "spin") and n <= m) else "hidden"
    units = n if layer == "visible" else m
    if units > MAX_UNITS or (layer == "visible" and e.visible not in ("bernoulli", "spin")):
        raise UserError(f"exact log Z needs a binary layer with <= {MAX_UNITS} units "
                        f"(this RBM has {n} visible ({e.visible}), {m} hidden); use method=ais")
    parts = []
    for start, stop in _chunks(units, chunk):
        x = all_states(units, start=start, stop=stop, spin=(layer == "visible" and e.visible == "spin"),
                       device=e.W.device)
        if layer == "visible":
            parts.append(torch.logsumexp(-e.free_energy(x), 0))
        else:
            parts.append(torch.logsumexp(x @ e.b + _log_g(e, e.a + x @ e.W.T), 0))
    return torch.logsumexp(torch.stack(parts), 0)


def exact_log_prob_all(energy: RBMEnergy) -> torch.Tensor:
    """``log p(v)`` of all ``2^n`` visible states ``(2^n,)`` float64 (binary/spin, ``n ≤ MAX_UNITS``).

    States are ordered as :func:`all_states` (use :func:`states_index` to look data up).
    """
    e = energy.to(torch.float64)
    if e.visible not in ("bernoulli", "spin") or e.n_visible > MAX_UNITS:
        raise UserError(f"exact distribution needs <= {MAX_UNITS} binary visible units")
    x = all_states(e.n_visible, spin=e.visible == "spin", device=e.W.device)
    logp = -e.free_energy(x)
    return logp - torch.logsumexp(logp, 0)
