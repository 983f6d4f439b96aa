"""Denoiser networks for the diffusion models: time embeddings, an MLP with residual blocks, a small U-Net.

* :func:`sinusoidal_embedding` — transformer position encoding of the timestep (Vaswani et al. 2017;
  Ho et al. 2020, appendix B).
* :class:`GaussianFourierFeatures` — [sin 2πWt, cos 2πWt], W ~ N(0, scale²) fixed (Tancik et al. 2020;
  the course's score-SDE code after Song et al. 2021).
* :class:`MLPDenoiser` — ``(B, d)`` + embedding ``(B, E)`` -> ``(B, d)`` for tabular / 2-D data.
* :class:`UNet` — ``(B, C, H, W)`` + embedding -> ``(B, C, H, W)``; residual conv blocks with GroupNorm and
  the embedding added per channel before the second GroupNorm (Ho et al. 2020) or, with ``film``, scaling and
  shifting its output (adaptive group normalisation, Dhariwal & Nichol 2021; FiLM, Perez et al. 2018), one or
  two stride-2 levels with skip connections (Ronneberger et al. 2015), circular padding for periodic spin
  lattices.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from physgen.models.nets import conv2d


def sinusoidal_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """``t: (B,)`` (any real scale) -> ``(B, dim)``: [cos(t ω_k), sin(t ω_k)], ω_k = max_period^(−k/(dim/2))."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    return nn.functional.pad(emb, (0, dim % 2))


class GaussianFourierFeatures(nn.Module):
    """``t: (B,)`` -> ``(B, dim)`` = [sin 2πWt, cos 2πWt] with a fixed random W ``(dim/2,)`` ~ N(0, scale²).

    W is a persistent buffer (checkpointed, not trained), drawn from the global torch RNG that the CLI seeds.
    """

    def __init__(self, dim: int, scale: float = 30.0):
        super().__init__()
        self.register_buffer("W", torch.randn(dim // 2) * scale)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        proj = t.float()[:, None] * self.W[None, :] * 2 * math.pi
        return torch.cat([torch.sin(proj), torch.cos(proj)], dim=1)


class ResMLPBlock(nn.Module):
    """h + Linear(SiLU(Linear(SiLU(LN(h)) + proj(emb))))."""

    def __init__(self, width: int, emb_dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.lin1 = nn.Linear(width, width)
        self.emb = nn.Linear(emb_dim, width)
        self.lin2 = nn.Linear(width, width)
        self.act = nn.SiLU()

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        z = self.lin1(self.act(self.norm(h))) + self.emb(emb)
        return h + self.lin2(self.act(z))


class MLPDenoiser(nn.Module):
    """``x: (B, d)``, ``emb: (B, E)`` -> ``(B, d)`` (ε̂ or the score network's output)."""

    def __init__(self, d: int, width: int, n_blocks: int, emb_dim: int):
        super().__init__()
        self.inp = nn.Linear(d, width)
        self.blocks = nn.ModuleList(ResMLPBlock(width, emb_dim) for _ in range(n_blocks))
        self.out = nn.Sequential(nn.LayerNorm(width), nn.SiLU(), nn.Linear(width, d))

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.inp(x.flatten(1))
        for block in self.blocks:
            h = block(h, emb)
        return self.out(h).view_as(x)


def _groups(ch: int) -> int:
    return math.gcd(ch, 8)


class GroupNorm(nn.GroupNorm):
    """``nn.GroupNorm`` of ``x + shift``, then ``· (1 + scale) + bias`` where ``film = (scale, bias)`` is given
    (each broadcast, e.g. per-sample channel values ``(B, C, 1, 1)``, or None); same parameters.  bfloat16
    channels-last CPU activations are shifted, normalised and modulated in the contiguous layout and returned
    channels-last: ATen's channels-last bfloat16 group norm, and its bfloat16 arithmetic broadcast along the
    innermost (channel) dimension, are slow paths on the CPU."""

    def forward(self, x: torch.Tensor, shift: torch.Tensor | None = None,
                film: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        reorder = x.dtype == torch.bfloat16 and x.device.type == "cpu" and x.dim() == 4 and not x.is_contiguous()
        x = x.contiguous() if reorder else x
        y = super().forward(x if shift is None else x + shift)
        if film is not None:
            y = torch.addcmul(film[1], y, 1 + film[0])
        return y.contiguous(memory_format=torch.channels_last) if reorder else y


class ResConvBlock(nn.Module):
    """Two 3×3 convolutions with GroupNorm + SiLU and a 1×1 skip; the embedding enters between them.

    ``film=False``: h ← GN(h + W e); the normalisation removes the offset's mean over each group and rescales
    the rest per sample.  ``film=True``: (s, b) = W e ``(B, 2 c_out)``, h ← GN(h)·(1 + s) + b, which reaches
    the activations unnormalised (Dhariwal & Nichol 2021, §3; Perez et al. 2018).
    """

    def __init__(self, c_in: int, c_out: int, emb_dim: int, circular: bool, film: bool = False):
        super().__init__()
        self.film = film
        self.n1, self.n2 = GroupNorm(_groups(c_in), c_in), GroupNorm(_groups(c_out), c_out)
        self.c1 = conv2d(c_in, c_out, 3, padding=1, circular=circular)
        self.c2 = conv2d(c_out, c_out, 3, padding=1, circular=circular)
        self.emb = nn.Linear(emb_dim, 2 * c_out if film else c_out)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.c1(self.act(self.n1(x)))
        e = self.emb(emb)[:, :, None, None]
        h = self.n2(h, film=e.chunk(2, dim=1)) if self.film else self.n2(h, e)
        return self.skip(x) + self.c2(self.act(h))


class UNet(nn.Module):
    """Small U-Net ``(B, C, H, W)`` -> ``(B, C, H, W)``.

    Level widths ``channels`` (e.g. (32, 64)); a stride-2 down/up stage between consecutive levels, used
    only while H and W stay even (so 28×28 → 14 → 7 and 16×16 → 8 → 4 both work).
    """

    def __init__(self, c: int, channels: tuple[int, ...], emb_dim: int, *, hw: tuple[int, int], circular: bool,
                 film: bool = False):
        super().__init__()
        levels, (h, w) = [channels[0]], hw
        for ch in channels[1:]:
            if h % 2 or w % 2:
                break
            levels.append(ch)
            h, w = h // 2, w // 2
        self.levels = levels
        self.inp = conv2d(c, levels[0], 3, padding=1, circular=circular)
        self.down = nn.ModuleList(ResConvBlock(a, a, emb_dim, circular, film) for a in levels)
        self.pool = nn.ModuleList(conv2d(a, b, 3, stride=2, padding=1, circular=circular)
                                  for a, b in zip(levels[:-1], levels[1:]))
        self.mid = ResConvBlock(levels[-1], levels[-1], emb_dim, circular, film)
        self.unpool = nn.ModuleList(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                                  conv2d(b, a, 3, padding=1, circular=circular))
                                    for a, b in zip(levels[:-1], levels[1:]))
        self.up = nn.ModuleList(ResConvBlock(2 * a, a, emb_dim, circular, film) for a in levels)
        self.out = nn.Sequential(GroupNorm(_groups(levels[0]), levels[0]), nn.SiLU(),
                                 conv2d(levels[0], c, 3, padding=1, circular=circular))

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        if h.device.type == "cpu" and not torch.is_grad_enabled():
            # sampling on the CPU: channels-last activations, the layout oneDNN's convolutions run natively
            # (NCHW inputs are reordered at every call); benchmarks/records/diffusion.md
            h = h.contiguous(memory_format=torch.channels_last)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, emb)
            skips.append(h)
            if i < len(self.pool):
                h = self.pool[i](h)
        h = self.mid(h, emb)
        for i in reversed(range(len(self.up))):
            if i < len(self.unpool):
                h = self.unpool[i](h)
            h = self.up[i](torch.cat([h, skips[i]], dim=1), emb)
        return self.out(h)
