"""Elementwise random draws shared by the models' conditionals and the samplers (no model imports, so
both sides can use it without an import cycle)."""
from __future__ import annotations

import torch


def bernoulli(p: torch.Tensor, generator: torch.Generator | None, out: torch.Tensor | None = None) -> torch.Tensor:
    """``h ~ Bernoulli(p)`` elementwise, as floats of ``p``'s dtype: ``h = [u < p]`` with ``u ~ U[0, 1)``,
    formed in place as ``[u − p < 0]`` (the rounded difference has the sign of the exact one, so the draw is
    the same; it skips the boolean tensor and its conversion, which cost more than the comparison).
    ``out``: a tensor shaped like ``p`` to draw into (e.g. a persistent chain's state; same draws)."""
    if out is None:
        return torch.rand(p.shape, generator=generator, device=p.device, dtype=p.dtype).sub_(p).lt_(0)
    return torch.rand(p.shape, generator=generator, out=out).sub_(p).lt_(0)


def categorical(logits: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """``k ~ Categorical(softmax(logits))`` along the last axis ``(..., K) -> (...)`` int64, by the Gumbel-max
    trick: ``argmax_k (ℓ_k + g_k)`` with ``g = −log(−log u)``, ``u ~ U(0, 1)`` (Gumbel 1954; one batched draw)."""
    u = torch.rand(logits.shape, generator=generator, device=logits.device, dtype=logits.dtype).clamp_min_(1e-30)
    return (logits - torch.log(-torch.log(u))).argmax(-1)


def binomial_fraction(levels: int, p: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """``n / N`` with ``n ~ Binomial(N, p)`` elementwise (``N`` = ``levels``): grey levels on the grid k/N."""
    return torch.binomial(torch.full_like(p, float(levels)), p, generator=generator).div_(levels)
