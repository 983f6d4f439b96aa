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
