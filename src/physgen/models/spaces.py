"""Maps between a data kind and the symmetric ±1 space that continuous generators work in.

Spins are already ±1 and binary {0, 1} data map to ±1 by 2x − 1; generated values map back by the
sign (spins) or the threshold y > 0 (binary).  Continuous and image data pass through unchanged.
"""
from __future__ import annotations

import torch


def to_signed(x: torch.Tensor, kind: str) -> torch.Tensor:
    """``(B, ...)`` data of ``kind`` -> float tensor; binary {0,1} -> {−1, +1}."""
    return 2 * x.float() - 1 if kind == "binary" else x.float()


def from_signed(y: torch.Tensor, kind: str) -> torch.Tensor:
    """Continuous generator output -> data of ``kind``: spins sign(y) ∈ {±1}, binary 1[y > 0]."""
    if kind == "spins":
        return torch.where(y >= 0, 1.0, -1.0).to(y.dtype)
    if kind == "binary":
        return (y > 0).to(y.dtype)
    return y
