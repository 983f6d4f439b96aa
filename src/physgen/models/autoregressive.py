"""An autoregressive Bernoulli likelihood over a lattice, conditioned on a per-site context map.

A VAE whose decoder factorises, p(x|z) = Π_i p(x_i|z), adds independent noise to every site of a
sample; on a spin lattice that noise breaks bonds and inflates the energy at every temperature. This
head makes the decoder autoregressive in raster order, as in PixelVAE (Gulrajani et al. 2017) and the
variational lossy autoencoder (Chen et al. 2017)::

    p(x | h) = Π_i σ(±ℓ_i),    ℓ_i = g( (W_A ⋆ s)_i + U h_i ),    s = 2x − 1 ∈ {−1, +1},

where ``W_A`` is a k×k window masked to the sites before i, ``h (C, H, W)`` is the decoder's context map
(it carries z and the condition) and ``g`` is a small per-site MLP. On an open lattice the window is type A
of van den Oord et al. (2016): the k//2 rows above and the k//2 sites to the left, sites outside the
lattice counting as 0. With ``periodic`` (spin lattices with periodic boundaries) the window wraps round
the torus and keeps every site of it that comes before i in raster order, so the last row sees the first
and the last column the first: without that the 2L bonds across the boundary of an L×L lattice (1/L of
all bonds) are only coupled through h, and the energy per spin of a weakly correlated lattice comes out
short by about that fraction. Training scores all sites in one pass (teacher forcing); sampling visits the
H·W sites in order, each step a k×k dot product per sample, so a 16×16 lattice costs 256 small matrix
products.

The window sees k//2 rows; with ``global_mean`` each site also gets the mean of every spin drawn
before it, m_<i = (1/i) Σ_{j<i} s_j (0 at the first site), through a learned ``V m_<i`` added inside
g. That carries the sign and size of the magnetization the sample has committed to, which a local
window loses: without it an ordered lattice can flip into a second domain once the first lies more
than k//2 rows above.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from physgen.models.nets import activation


class AutoregressiveHead(nn.Module):
    """Logits ``(B, H, W)`` of x_i given x_<i and the context ``h (B, context, H, W)``.

    ``kernel`` (odd) sets the causal window, ``width`` the hidden size and ``depth`` the number of
    per-site hidden layers of g; ``periodic`` wraps the window round the torus (module docstring).
    """

    def __init__(self, context: int, *, kernel: int = 5, width: int = 64, depth: int = 2, act: str = "leaky_relu",
                 global_mean: bool = False, periodic: bool = False):
        super().__init__()
        self.kernel, self.periodic = kernel, periodic
        self.global_mean = nn.Linear(1, width, bias=False) if global_mean else None
        self.conv = nn.Conv2d(1, width, kernel, padding=kernel // 2)
        self._tables: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
        self.context = nn.Linear(context, width, bias=False)
        layers: list[nn.Module] = [activation(act)]
        for _ in range(depth - 1):
            layers += [nn.Linear(width, width), activation(act)]
        layers.append(nn.Linear(width, 1))
        self.out = nn.Sequential(*layers)

    def neighbours(self, rows: int, cols: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        """``(index, mask)``, each ``(H·W, k²)``: the flat site under each window offset of each site (H·W, a
        zero slot, outside an open lattice) and 1 where that site comes before the centre in raster order."""
        key = (rows, cols, str(device))
        if key not in self._tables:
            half = self.kernel // 2
            d = torch.arange(-half, half + 1, device=device)
            r = torch.arange(rows, device=device).view(-1, 1, 1, 1) + d.view(1, 1, -1, 1)   # (H, 1, k, 1)
            c = torch.arange(cols, device=device).view(1, -1, 1, 1) + d.view(1, 1, 1, -1)   # (1, W, 1, k)
            r, c = r.expand(rows, cols, -1, self.kernel), c.expand(rows, cols, self.kernel, -1)
            if self.periodic:
                inside = torch.ones_like(r, dtype=torch.bool)
                r, c = r % rows, c % cols
            else:
                inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
            site = torch.where(inside, r * cols + c, rows * cols).reshape(rows * cols, -1)
            before = site < torch.arange(rows * cols, device=device).unsqueeze(1)
            self._tables[key] = site, (before & inside.reshape(rows * cols, -1)).to(torch.get_default_dtype())
        return self._tables[key]

    def _window(self, s_flat: torch.Tensor, index: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``s_flat (B, H·W)`` -> the masked windows ``(B, n, k²)`` of the ``n`` sites in ``index (n, k²)``."""
        padded = F.pad(s_flat, (0, 1))                                # the zero slot H·W
        return padded[:, index] * mask.to(s_flat.dtype)

    def forward(self, s: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits: ``s (B, H, W)`` spins (±1), ``h (B, C, H, W)`` -> ``(B, H, W)``."""
        index, mask = self.neighbours(*s.shape[1:], s.device)
        w = self.conv.weight.reshape(len(self.conv.weight), -1)                  # (width, k²)
        a = (self._window(s.flatten(1), index, mask) @ w.t() + self.conv.bias).reshape(*s.shape, -1)
        pre = a + self.context(h.permute(0, 2, 3, 1))                           # (B, H, W, width)
        if self.global_mean is not None:
            flat = s.flatten(1)
            before = flat.cumsum(1) - flat                                         # Σ_{j<i} s_j
            count = torch.arange(flat.shape[1], device=s.device, dtype=s.dtype).clamp(min=1)
            pre = pre + self.global_mean((before / count).reshape(*s.shape, 1))
        return self.out(pre).squeeze(-1)

    @torch.no_grad()
    def sample(self, h: torch.Tensor, *, generator: torch.Generator | None) -> torch.Tensor:
        """Ancestral draw in raster order: ``h (B, C, H, W)`` -> bits ``(B, H, W)`` in {0, 1}."""
        b, _, rows, cols = h.shape
        index, mask = self.neighbours(rows, cols, h.device)
        n = rows * cols
        s = torch.zeros(b, n + 1, device=h.device, dtype=h.dtype)                # the spins and the zero slot n
        mask = mask.to(h.dtype)
        w = self.conv.weight.reshape(len(self.conv.weight), -1).t()             # (k², width)
        ctx = (self.context(h.permute(0, 2, 3, 1)) + self.conv.bias).reshape(b, rows * cols, -1)
        u = torch.rand((b, rows, cols), generator=generator, device=h.device, dtype=h.dtype).reshape(b, -1)
        total = torch.zeros(b, 1, device=h.device, dtype=h.dtype)                 # Σ_{j<i} s_j
        for i in range(n):
            pre = (s[:, index[i]] * mask[i]) @ w + ctx[:, i]
            if self.global_mean is not None:
                pre = pre + self.global_mean(total / max(i, 1))
            spin = torch.where(u[:, i] < torch.sigmoid(self.out(pre).squeeze(-1)), 1.0, -1.0)
            s[:, i] = spin
            total += spin.unsqueeze(1)
        return ((s[:, :n] + 1) / 2).reshape(b, rows, cols)
