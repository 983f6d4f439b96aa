"""The conditional denoiser of the diffusion models (:mod:`physgen.models.diffusion`).

:class:`Denoiser` calls a network of :mod:`physgen.models.diffusion_nets` (the residual MLP ``(B, D)`` or the
U-Net ``(B, C, H, W)``) with one embedding ``(B, E)`` of the time and the condition::

    emb = time(t) + W c + b,        or time(t) + ∅ where the condition is dropped,

with a linear projection (W, b) of the condition and a learned null embedding ∅.  Dropping the condition in
training (``model.p_uncond``) makes one network both conditional and unconditional, as classifier-free
guidance ε̂ = (1 + w) ε_θ(x, t, c) − w ε_θ(x, t, ∅) needs (Ho & Salimans 2021).  :class:`SinusoidalEmbedding`
is the DDPM's time embedding of the step t ``(B,)``.
"""
from __future__ import annotations

import torch
from torch import nn

from physgen.models.diffusion_nets import sinusoidal_embedding


class SinusoidalEmbedding(nn.Module):
    """``t: (B,)`` -> ``(B, dim)`` (:func:`sinusoidal_embedding`)."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return sinusoidal_embedding(t, self.dim)


class Denoiser(nn.Module):
    """net(x, time_embed(t) + cond_embed(c)); a learned null embedding replaces a dropped condition.

    ``x: (B, *shape)``, ``t: (B,)``, ``c: (B, cond_dim)`` or None, ``drop: (B,)`` bool -> ``(B, *shape)``.
    """

    def __init__(self, net: nn.Module, time_embed: nn.Module, emb_dim: int, cond_dim: int,
                 image_shape: tuple[int, ...] | None):
        super().__init__()
        self.net, self.time = net, time_embed
        self.image_shape = image_shape
        self.cond_proj = nn.Linear(cond_dim, emb_dim) if cond_dim else None
        self.null = nn.Parameter(torch.zeros(emb_dim)) if cond_dim else None

    def forward(self, x: torch.Tensor, t: torch.Tensor, c: torch.Tensor | None = None,
                drop: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.time(t)
        if self.cond_proj is not None:
            ce = self.cond_proj(c) if c is not None else self.null.expand(len(x), -1)
            if drop is not None:
                ce = torch.where(drop[:, None], self.null.expand_as(ce), ce)
            emb = emb + ce
        if self.image_shape is None:
            return self.net(x, emb)
        dtype = next(self.net.parameters()).dtype          # bfloat16 for a sampling copy (sample_dtype)
        h = self.net(x.reshape(len(x), *self.image_shape).to(dtype), emb.to(dtype))
        return h.to(x.dtype).reshape(x.shape)
