"""An autoregressive Bernoulli likelihood over a lattice, conditioned on a per-site context map.

A VAE whose decoder factorises, p(x|z) = Π_i p(x_i|z), adds independent noise to every site of a
sample; on a spin lattice that noise breaks bonds and inflates the energy at every temperature. This
head makes the decoder autoregressive in raster order, as in PixelVAE (Gulrajani et al. 2017) and the
variational lossy autoencoder (Chen et al. 2017)::

    p(x | h) = Π_i σ(±ℓ_i),    ℓ_i = g( (W_A ⋆ s)_i + U h_i ),    s = 2x − 1 ∈ {−1, +1},

where ``W_A`` is a k×k convolution masked to the sites before i (type A of van den Oord et al. 2016:
the k//2 rows above and the k//2 sites to the left), ``h (C, H, W)`` is the decoder's context map (it
carries z and the condition) and ``g`` is a small per-site MLP. Sites outside the lattice count as 0.
Training scores all sites in one pass (teacher forcing); sampling visits the H·W sites in order, each
step a k×k dot product per sample, so a 16×16 lattice costs 256 small matrix products.

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


def causal_mask(kernel: int) -> torch.Tensor:
    """``(kernel, kernel)`` mask of the sites strictly before the centre in raster order (type A)."""
    mask = torch.zeros(kernel, kernel)
    mid = kernel // 2
    mask[:mid] = 1
    mask[mid, :mid] = 1
    return mask


class AutoregressiveHead(nn.Module):
    """Logits ``(B, H, W)`` of x_i given x_<i and the context ``h (B, context, H, W)``.

    ``kernel`` (odd) sets the causal window, ``width`` the hidden size and ``depth`` the number of
    per-site hidden layers of g.
    """

    def __init__(self, context: int, *, kernel: int = 5, width: int = 64, depth: int = 2, act: str = "leaky_relu",
                 global_mean: bool = False):
        super().__init__()
        self.kernel = kernel
        self.global_mean = nn.Linear(1, width, bias=False) if global_mean else None
        self.conv = nn.Conv2d(1, width, kernel, padding=kernel // 2)
        self.register_buffer("mask", causal_mask(kernel), persistent=False)
        self.register_buffer("causal", self.mask.flatten().nonzero().squeeze(1), persistent=False)  # (k²//2,)
        self.context = nn.Linear(context, width, bias=False)
        layers: list[nn.Module] = [activation(act)]
        for _ in range(depth - 1):
            layers += [nn.Linear(width, width), activation(act)]
        layers.append(nn.Linear(width, 1))
        self.out = nn.Sequential(*layers)

    def weight(self) -> torch.Tensor:
        return self.conv.weight * self.mask

    def forward(self, s: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits: ``s (B, H, W)`` spins (±1), ``h (B, C, H, W)`` -> ``(B, H, W)``."""
        k = self.kernel                                                        # the k²//2 sites before i:
        patches = F.unfold(s.unsqueeze(1), k, padding=k // 2)[:, self.causal]    # (B, k²//2, H·W)
        w = self.conv.weight.reshape(len(self.conv.weight), k * k)[:, self.causal]   # (width, k²//2)
        a = (patches.transpose(1, 2) @ w.t() + self.conv.bias).reshape(*s.shape, -1)
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
        k, pad = self.kernel, self.kernel // 2
        s = torch.zeros(b, rows + 2 * pad, cols + 2 * pad, device=h.device, dtype=h.dtype)
        w = self.weight().reshape(len(self.conv.weight), k * k).t()             # (k², width)
        ctx = self.context(h.permute(0, 2, 3, 1)) + self.conv.bias              # (B, H, W, width)
        u = torch.rand((b, rows, cols), generator=generator, device=h.device, dtype=h.dtype)
        total = torch.zeros(b, 1, device=h.device, dtype=h.dtype)                 # Σ_{j<i} s_j
        for r in range(rows):
            for c in range(cols):
                patch = s[:, r:r + k, c:c + k].reshape(b, k * k)
                pre = patch @ w + ctx[:, r, c]
                if self.global_mean is not None:
                    pre = pre + self.global_mean(total / max(r * cols + c, 1))
                spin = torch.where(u[:, r, c] < torch.sigmoid(self.out(pre).squeeze(-1)), 1.0, -1.0)
                s[:, r + pad, c + pad] = spin
                total += spin.unsqueeze(1)
        return (s[:, pad:pad + rows, pad:pad + cols] + 1) / 2
