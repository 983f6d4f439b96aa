"""Elementwise random draws shared by the models' conditionals and the samplers (no model imports, so
both sides can use it without an import cycle)."""
from __future__ import annotations

import torch


def bernoulli(p: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """``h ~ Bernoulli(p)`` elementwise, as floats of ``p``'s dtype: ``h = [u < p]`` with ``u ~ U[0, 1)``,
    formed in place as ``[u − p < 0]`` (the rounded difference has the sign of the exact one, so the draw is
    the same; it skips the boolean tensor and its conversion, which cost more than the comparison)."""
    return torch.rand(p.shape, generator=generator, device=p.device, dtype=p.dtype).sub_(p).lt_(0)
