"""Energy networks of the energy-based model ``ebm`` (:mod:`physgen.models.ebm`): E_θ(x | c) ``(B,)``.

* :class:`MLPEnergy` — tabular data ``(B, d)``: an MLP with SiLU activations, whose smooth gradients ∇_x E
  suit Langevin chains;
* :class:`CNNEnergy` — lattices and images ``(B, C, H, W)``: 3×3 convolutions with SiLU, stride 2 while H and
  W stay even, then an MLP head; periodic padding, a full-resolution first layer on request and a global mean
  pool on lattices, zero padding and a flattened feature map on pictures.

The condition vector ``c (B, cond_dim)`` is concatenated to the input (as constant planes for the CNN) and to
the head's features.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from physgen.models.nets import conv2d, mlp


class CNNEnergy(nn.Module):
    """``(B, C, H, W)`` (+ condition planes) -> ``(B,)``: 3×3 convs + SiLU, halving H and W while they stay
    even, then an MLP head.

    Lattices (``circular``, periodic padding) are translation invariant: a global mean pool, and stride 2 from
    the first layer (``full_stem=False``) or from the second (``full_stem=True``: the first layer's 3×3 window
    sits on every site, so its features resolve each nearest-neighbour bond s_i s_j, the Ising energy's terms).
    Pictures (zero padding) are not: the first layer keeps the full resolution and the head sees the flattened
    feature map, so the energy knows where a stroke is (on the digits the picture layout is the closer to the
    data: benchmarks/records/ebm.md).
    """

    def __init__(self, shape: tuple[int, int, int], channels: Sequence[int], cond_dim: int, circular: bool,
                 full_stem: bool = False):
        super().__init__()
        c, h, w = shape
        layers: list[nn.Module] = []
        prev = c + cond_dim
        for i, ch in enumerate(channels):
            halve = h % 2 == 0 and w % 2 == 0 and h > 2 and (i > 0 or (circular and not full_stem))
            stride = 2 if halve else 1
            h, w = h // stride, w // stride
            layers += [conv2d(prev, ch, 3, stride=stride, padding=1, circular=circular), nn.SiLU()]
            prev = ch
        self.convs = nn.Sequential(*layers)
        self.pool = circular
        features = prev if circular else prev * h * w
        self.head = nn.Sequential(nn.Linear(features + cond_dim, prev), nn.SiLU(), nn.Linear(prev, 1))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if c is not None:
            planes = c[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
            x = torch.cat([x, planes], 1)
        h = self.convs(x)
        h = h.mean(dim=(2, 3)) if self.pool else h.flatten(1)
        return self.head(h if c is None else torch.cat([h, c], 1)).squeeze(1)


class MLPEnergy(nn.Module):
    """``(B, d)`` (+ condition) -> ``(B,)`` with SiLU activations (smooth gradients for Langevin)."""

    def __init__(self, d: int, hidden: Sequence[int], cond_dim: int):
        super().__init__()
        self.net = mlp([d + cond_dim, *hidden, 1], act="silu")

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = x.flatten(1)
        return self.net(h if c is None else torch.cat([h, c], 1)).squeeze(1)
