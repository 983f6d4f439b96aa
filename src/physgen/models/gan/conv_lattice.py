"""Fully convolutional, translation-equivariant conditional generator and critic for spin lattices
(``wgan-gp`` with ``--set model.arch=conv``).

Generator ``G(z, c)``: ``z = [z_g, ξ]`` with a global latent ``z_g ∈ R^latent`` and a per-site noise field
``ξ ∈ R^(k×H×W)`` (``k = noise_channels``; the field is what lets the high-temperature, short-range
disordered phase be generated site by site).  A style MLP maps ``[z_g, c]`` to one FiLM scale/shift pair
per layer (Perez et al. 2018; the global-style idea of Karras et al. 2019)::

    h₀ = Conv3×3(ξ)  →  for each dilation d_l:  h ← h + LeakyReLU(FiLM_l(Conv3×3_d(h)))  →  Conv3×3(h) (pre-tanh)

with FiLM_l(h) = (1 + γ_l) ⊙ h + β_l and (γ_l, β_l) = style(z_g, c).  With ``global_pool`` each block's shift
also gets a per-channel field from the site mean of its input, β_l + U_l (√N · mean_sites h) (U_l zero-initialised):
a translation-invariant path by which every site sees the whole lattice, e.g. the magnetisation its noise field
is building up (the long-range part of the correlations that a few dilated 3×3 layers make only weakly).  Every
convolution pads circularly on periodic lattices, so G commutes with lattice translations:
``G(z_g, roll(ξ)) = roll(G(z_g, ξ))``.

Critic ``f(x, c)``: ``[x, c as constant planes]`` → Conv3×3 → residual dilated Conv3×3 blocks (LeakyReLU(0.2),
no normalisation, as the gradient penalty requires) → mean over sites × √N → MLP on ``[pooled, c]`` → scalar.  The
site mean makes f exactly invariant under lattice translations; the MLP head on site averages can form
the energy per site (an average of local bond terms) and nonlinear functions of the magnetisation;
with ``lattice_stats`` it is also given them explicitly (:func:`lattice_stats`: m, |m|, m², e, × √N), and with
``group`` their standard deviation over groups of lattices of the batch (:func:`group_spread`).
The √N (N = H·W sites) gives these global features gradient norms of order 1 w.r.t. the lattice, as the
penalty ‖∇f‖ ≈ 1 expects; site means alone (gradient norm ∝ 1/√N) leave the critic nearly blind to the
magnetisation distribution under the penalty.  With ``projection`` (a projection discriminator, Miyato &
Koyama 2018) the output gains ⟨φ(c), pooled⟩, φ an MLP of the condition: every pooled feature gets a
condition-dependent weight, so the critic can reward a high ⟨|m|⟩ at one temperature and a low one at another
without having to learn that interaction inside its head.

Shapes: ``z (B, latent + k·H·W)``; a ``z`` of only ``latent`` columns (the fixed-z diagnostics) uses ξ = 0.
``x (B, *spec.shape)`` with spec shape ``(H, W)`` or ``(C, H, W)``.
"""
from __future__ import annotations

import math
from typing import Literal, Sequence

import torch
from torch import nn

from physgen.models.nets import conv2d, image_shape, mlp

Padding = Literal["auto", "circular", "zeros"]


def lattice_shape(spec, option: str = "model.arch") -> tuple[int, int, int]:
    """``(C, H, W)`` of a lattice/image spec, else a UserError naming ``option``."""
    return image_shape(spec, f"{option}=conv: needs lattice or image data of shape (H, W) or (C, H, W), "
                             "got {shape}; use model.arch=mlp for tabular data")


def _conv(c_in: int, c_out: int, mode: str, dilation: int = 1) -> nn.Conv2d:
    """3×3 convolution keeping H×W ('same' padding of size ``dilation``, circular or zeros)."""
    return conv2d(c_in, c_out, 3, padding=dilation, dilation=dilation, circular=mode == "circular")


class LatticeGenerator(nn.Module):
    """``(z (B, latent + k·H·W), c (B, n_c) | None) -> (B, *out_shape)`` pre-activation (see module doc)."""

    def __init__(self, shape: tuple[int, int, int], out_shape: Sequence[int], *, latent: int, cond_dim: int,
                 width: int, dilations: Sequence[int], noise_channels: int, mode: str, style_hidden: int = 64,
                 global_pool: bool = False):
        super().__init__()
        self.shape, self.out_shape = tuple(shape), tuple(out_shape)
        self.latent, self.k = latent, noise_channels
        self.width, self.n_layers = width, len(dilations)
        self.stem = _conv(noise_channels, width, mode)
        self.blocks = nn.ModuleList(_conv(width, width, mode, d) for d in dilations)
        self.head = _conv(width, shape[0], mode)
        self.act = nn.LeakyReLU(0.2)
        self.style = mlp([latent + cond_dim, style_hidden, 2 * width * len(dilations)])
        nn.init.zeros_(self.style[-1].weight)  # start as plain convolutions (γ = β = 0)
        nn.init.zeros_(self.style[-1].bias)
        # global_pool: per block, a per-channel field from the √N-scaled site mean of h (zero-initialised)
        self.pool = nn.ModuleList(nn.Linear(width, width, bias=False) for _ in dilations) if global_pool else None
        if self.pool is not None:
            for lin in self.pool:
                nn.init.zeros_(lin.weight)

    @property
    def field_dim(self) -> int:
        """Number of per-site noise entries ``k·H·W``."""
        return self.k * self.shape[1] * self.shape[2]

    def split(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``z -> (z_g (B, latent), ξ (B, k, H, W))``; ξ = 0 when ``z`` has only the global part."""
        b, (_, h, w) = len(z), self.shape
        if z.shape[1] == self.latent:
            return z, z.new_zeros(b, self.k, h, w)
        if z.shape[1] != self.latent + self.field_dim:
            raise ValueError(f"z has {z.shape[1]} columns, expected {self.latent} or {self.latent + self.field_dim}")
        return z[:, :self.latent], z[:, self.latent:].reshape(b, self.k, h, w)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        zg, field = self.split(z)
        s = zg if c is None else torch.cat([zg, c], 1)
        gamma, beta = self.style(s).view(len(z), 2, self.n_layers, self.width, 1, 1).unbind(1)
        h = self.stem(field)
        root_n = math.sqrt(self.shape[1] * self.shape[2])
        for i, conv in enumerate(self.blocks):
            shift = beta[:, i]
            if self.pool is not None:
                shift = shift + self.pool[i](h.mean(dim=(2, 3)) * root_n)[:, :, None, None]
            h = h + self.act((1 + gamma[:, i]) * conv(h) + shift)
        return self.head(h).reshape(len(z), *self.out_shape)


N_STATS = 4


def lattice_stats(x: torch.Tensor) -> torch.Tensor:
    """``x (B, C, H, W)`` -> ``(B, 4)``: m, |m|, m² and the nearest-neighbour bond statistic
    b = −(1/N) Σ_i s_i (s_{i+x̂} + s_{i+ŷ}) on the periodic lattice, averaged over channels — the Ising model's
    sufficient statistics (E = J N b − h N m for any J, h) and the order parameter, for the critic head
    (``model.lattice_stats=true``).  Translation invariant."""
    m = x.mean(dim=(1, 2, 3))
    e = -(x * (torch.roll(x, 1, dims=-1) + torch.roll(x, 1, dims=-2))).mean(dim=(1, 2, 3))
    return torch.stack([m, m.abs(), m * m, e], 1)


def group_spread(s: torch.Tensor, c: torch.Tensor | None, size: int) -> torch.Tensor:
    """``s (B, k)`` -> ``(B, k)``: each row's standard deviation of ``s`` over its group of ``size`` rows, the
    groups taken in the order of the first condition column (so a group shares, or nearly shares, its
    condition); minibatch standard deviation (Karras et al. 2018, §3) on the lattice statistics."""
    order = torch.argsort(c[:, 0], stable=True) if c is not None else torch.arange(len(s), device=s.device)
    gid = torch.empty_like(order)
    gid[order] = torch.arange(len(s), device=s.device) // size
    n = torch.bincount(gid).to(s.dtype)[:, None]
    mean = torch.zeros(len(n), s.shape[1], dtype=s.dtype, device=s.device).index_add(0, gid, s) / n
    var = torch.zeros_like(mean).index_add(0, gid, (s - mean[gid]) ** 2) / n
    return torch.sqrt(var[gid] + 1e-8)


class LatticeCritic(nn.Module):
    """``(x (B, *shape), c (B, n_c) | None) -> (B,)``: translation-invariant conv critic (see module doc)."""

    def __init__(self, shape: tuple[int, int, int], *, cond_dim: int, width: int, dilations: Sequence[int],
                 mode: str, head_hidden: int = 64, stats: bool = False, projection: bool = False,
                 group: int = 0):
        super().__init__()
        self.shape, self.stats, self.group = tuple(shape), stats, group
        self.stem = _conv(shape[0] + cond_dim, width, mode)
        self.blocks = nn.ModuleList(_conv(width, width, mode, d) for d in dilations)
        self.act = nn.LeakyReLU(0.2)
        n_feat = width + (N_STATS if stats else 0) + (N_STATS if group else 0)
        self.head = mlp([n_feat + cond_dim, head_hidden, 1])
        # projection (Miyato & Koyama 2018): + ⟨φ(c), pooled⟩, a condition-dependent linear read-out
        self.project = mlp([cond_dim, head_hidden, n_feat]) if projection and cond_dim else None

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = x.reshape(len(x), *self.shape)
        if c is not None:
            x = torch.cat([x, c[:, :, None, None].expand(-1, -1, *self.shape[1:])], 1)
        h = self.act(self.stem(x))
        for conv in self.blocks:
            h = h + self.act(conv(h))
        # site sums / √N: a global feature then has an O(1) gradient norm w.r.t. the lattice (a site mean has
        # 1/√N), so the gradient penalty (‖∇f‖ ≈ 1) leaves global statistics as much weight as local ones
        root_n = math.sqrt(self.shape[1] * self.shape[2])
        pooled = h.mean(dim=(2, 3)) * root_n
        if self.stats or self.group:
            stats = lattice_stats(x[:, :self.shape[0]]) * root_n
            pooled = torch.cat([pooled] + ([stats] if self.stats else [])
                               + ([group_spread(stats, c, self.group)] if self.group else []), 1)
        if c is None:
            return self.head(pooled).squeeze(1)
        out = self.head(torch.cat([pooled, c], 1)).squeeze(1)
        if self.project is not None:
            out = out + (self.project(c) * pooled).sum(1)
        return out
