"""Hierarchical autoregressive network of an L×L periodic lattice: boundaries first, interiors in parallel.

The lattice is drawn in stages (Białas, Korcyl & Stebel, *Hierarchical autoregressive neural networks for
statistical systems*, Comput. Phys. Commun. 281, 108502, 2022):

1. **the frame**: row 0, then column 0 (2L − 1 sites), by one MADE conditioned on c alone.  With periodic
   boundaries the frame is the whole boundary of the (L−1)×(L−1) interior: it lies above and below it, left
   and right of it.
2. **a region** (an h×w rectangle whose ring of surrounding sites is known): its middle row and its middle
   column (a cross of h + w − 1 sites) are drawn by a MADE whose context inputs are the ring's 2(w + 2) + 2h
   spins (:class:`~physgen.models.made.MADE`, ``context``).  The cross cuts the region into four smaller
   regions, each with a known ring, and so on down to single sites.

Regions of the same shape share one network, and all of them are drawn at once as one batch.  A stage's
hidden layers are at most twice as wide as its network's inputs (cross and ring): a single site's law given its
ring needs few units, and the many small regions of the last stages dominate the cost.  For L = 2^k
every stage holds regions of one shape: L = 32 takes 63 + 61 + 29 + 13 + 5 + 1 = 172 sequential site draws
instead of 1,024, L = 64 takes 361 instead of 4,096.  Each site belongs to exactly one stage, so

    log q₀(s | c) = Σ_stages Σ_regions log q_net(cross | ring, c)

is exact and normalised, and one teacher-forced pass of each network scores a batch.

Shapes: spins ``(B, L²)`` ±1 in raster order; condition ``(B, C)``; log-probabilities ``(B,)`` float64.
"""
from __future__ import annotations

import torch
from torch import nn

from physgen.models.made import MADE


def _ring(r0: int, c0: int, h: int, w: int, size: int) -> list[int]:
    """The flat raster indices of the sites around the rectangle of rows r0 … r0+h−1, columns c0 … c0+w−1
    (its rows above and below with the corners, then its columns left and right), periodic in both axes."""
    rows = [(r0 - 1) % size] * (w + 2) + [(r0 + h) % size] * (w + 2) + list(range(r0, r0 + h)) * 2
    cols = list(range(c0 - 1, c0 + w + 1)) * 2 + [(c0 - 1) % size] * h + [(c0 + w) % size] * h
    return [r * size + c % size for r, c in zip(rows, cols)]


def _split(r0: int, c0: int, h: int, w: int, size: int, stages: dict, depth: int) -> None:
    """Record the cross of the region (r0, c0, h, w) at ``depth`` and recurse into the four regions it leaves."""
    if h == 0 or w == 0:
        return
    rm, cm = r0 + h // 2, c0 + w // 2
    cross = [rm * size + c for c in range(c0, c0 + w)] + [r * size + cm for r in range(r0, r0 + h) if r != rm]
    stages.setdefault(depth, {}).setdefault((h, w), []).append((cross, _ring(r0, c0, h, w, size)))
    for r, hh in ((r0, h // 2), (rm + 1, h - h // 2 - 1)):
        for c, ww in ((c0, w // 2), (cm + 1, w - w // 2 - 1)):
            _split(r, c, hh, ww, size, stages, depth + 1)


def plan(size: int) -> list[tuple[str, torch.Tensor, torch.Tensor | None]]:
    """The stages of an L×L periodic lattice in drawing order: ``(key, sites (R, d), ring (R, m) or None)`` per
    group of R same-shaped regions; the frame comes first and has no ring."""
    frame = list(range(size)) + [r * size for r in range(1, size)]
    groups = [("frame", torch.tensor([frame]), None)]
    stages: dict = {}
    _split(1, 1, size - 1, size - 1, size, stages, 0)
    for depth in sorted(stages):
        for (h, w), regions in sorted(stages[depth].items()):
            sites = torch.tensor([cross for cross, _ in regions])
            ring = torch.tensor([ring for _, ring in regions])
            groups.append((f"{h}x{w}", sites, ring))
    return groups


class HierarchicalAR(nn.Module):
    """Exact autoregressive law of ±1 spins on an L×L periodic lattice, drawn boundary first (module
    docstring).  ``hidden``, ``direct``, ``act``, ``gain``: those of every stage's :class:`MADE`; ``cond_dim``:
    the width of the condition c every stage sees."""

    def __init__(self, size: int, hidden: tuple[int, ...], *, direct: bool, act: str, cond_dim: int,
                 gain: bool = False):
        super().__init__()
        self.d = size * size
        self.keys: list[str] = []
        nets = {}
        for i, (key, sites, ring) in enumerate(plan(size)):
            context = 0 if ring is None else ring.shape[1]
            if key not in nets:
                d = sites.shape[1]
                widths = tuple(min(width, 2 * (d + context)) for width in hidden)
                nets[key] = MADE(d, widths, direct=direct, act=act, cond_dim=cond_dim, gain=gain, context=context)
            self.keys.append(key)
            self.register_buffer(f"sites_{i}", sites, persistent=False)
            self.register_buffer(f"ring_{i}", ring if ring is not None else torch.zeros(1, 0, dtype=torch.long),
                                 persistent=False)
        self.nets = nn.ModuleDict(nets)

    def _groups(self):
        for i, key in enumerate(self.keys):
            yield self.nets[key], getattr(self, f"sites_{i}"), getattr(self, f"ring_{i}")

    @staticmethod
    def _inputs(s: torch.Tensor, c: torch.Tensor | None, sites: torch.Tensor, ring: torch.Tensor):
        """One group's cross spins ``(B·R, d)``, condition ``(B·R, C)`` and ring spins ``(B·R, m)`` (None when
        the group has no ring)."""
        n, regions = len(s), sites.shape[0]
        cc = None if c is None else c.repeat_interleave(regions, 0)
        x = s[:, ring].reshape(n * regions, -1) if ring.shape[1] else None
        return s[:, sites].reshape(n * regions, -1), cc, x

    def log_prob(self, s: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """log q₀(s | c) ``(B,)`` float64 of spins ``s (B, L²)``: every stage's networks in one pass each."""
        total = torch.zeros(len(s), dtype=torch.float64, device=s.device)
        for net, sites, ring in self._groups():
            cross, cc, x = self._inputs(s, c, sites, ring)
            total = total + net.log_prob(cross, cc, x).view(len(s), -1).sum(1)
        return total

    @torch.no_grad()
    def sample(self, n: int, c: torch.Tensor | None, generator: torch.Generator | None, like: torch.Tensor
               ) -> torch.Tensor:
        """``n`` draws ``(n, L²)`` ±1 of q₀(· | c): stage by stage, every region of a group in one batch."""
        s = torch.zeros(n, self.d, dtype=like.dtype, device=like.device)
        for net, sites, ring in self._groups():
            regions = sites.shape[0]
            _, cc, x = self._inputs(s, c, sites, ring)
            s[:, sites] = net.sample(n * regions, cc, generator, like, x).view(n, regions, -1)
        return s
