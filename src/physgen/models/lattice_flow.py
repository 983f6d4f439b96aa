"""A normalizing flow of real lattice fields: affine coupling layers on checkerboard masks with convolutional
conditioners, equivariant under φ -> −φ (Albergo, Kanwar & Shanahan, PRD 100, 034515, 2019; RealNVP: Dinh,
Sohl-Dickstein & Bengio, ICLR 2017).

The map z -> φ is a stack of ``layers`` couplings.  Layer k updates the sites of parity (i + j) ≡ k (mod 2)
given the others ("frozen"):

    φ_active = z_active · e^{s(φ_frozen)} + t(φ_frozen),    log |det| = Σ_active s,

with s and t from a small convolutional network on the periodic lattice (circular padding), so that the flow
commutes with the lattice translations by an even vector.  The network sees the frozen field (active sites set
to zero) and the condition (the temperature) as constant extra channels.  Symmetrising the network,
s(φ) = ½ [n_s(φ) + n_s(−φ)] and t(φ) = ½ [n_t(φ) − n_t(−φ)], makes every layer odd, so with the Gaussian base
the density is even: q(−φ) = q(φ), the symmetry of the φ⁴ action.  The last convolution starts at zero: the
untrained flow is the identity and q is the base N(0, I).

    log q(φ) = log N(z; 0, I) − Σ_layers Σ_active s,    z = f⁻¹(φ) (exact, one pass).

Shapes: fields ``(B, L, L)``, conditions ``(B, C)``, log q ``(B,)``.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class _Conditioner(nn.Module):
    """``(frozen field (B, 1, L, L), condition channels (B, C, L, L))`` -> ``(s, t)`` each ``(B, L, L)``."""

    def __init__(self, cond_dim: int, hidden: tuple[int, ...], kernel: int = 3):
        super().__init__()
        widths = (1 + cond_dim, *hidden)
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv2d(a, b, kernel, padding=kernel // 2, padding_mode="circular"), nn.Tanh()]
        last = nn.Conv2d(widths[-1], 2, kernel, padding=kernel // 2, padding_mode="circular")
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.net = nn.Sequential(*layers, last)

    def forward(self, frozen: torch.Tensor, cond: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        def raw(x):
            inputs = x if cond is None else torch.cat([x, cond], 1)
            return self.net(inputs)
        plus, minus = raw(frozen), raw(-frozen)
        return 0.5 * (plus[:, 0] + minus[:, 0]), 0.5 * (plus[:, 1] - minus[:, 1])


class CouplingFlow(nn.Module):
    """The flow of the module docstring on an ``size``² lattice: ``layers`` couplings, conditioner widths
    ``hidden``, ``cond_dim`` condition inputs."""

    def __init__(self, size: int, layers: int, hidden: tuple[int, ...], cond_dim: int = 0):
        super().__init__()
        i = torch.arange(size)
        parity = ((i[:, None] + i[None, :]) % 2).float()
        self.register_buffer("masks", torch.stack([parity if k % 2 == 0 else 1 - parity for k in range(layers)]))
        self.couplings = nn.ModuleList(_Conditioner(cond_dim, tuple(hidden)) for _ in range(layers))
        self.size = size

    def _cond(self, c: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
        if c is None or c.shape[-1] == 0:
            return None
        return c.to(like.dtype)[:, :, None, None].expand(-1, -1, self.size, self.size)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """z ``(B, L, L)`` -> (φ, log |det ∂φ/∂z| ``(B,)``)."""
        cond, x = self._cond(c, z), z
        log_det = torch.zeros(len(z), dtype=z.dtype, device=z.device)
        for mask, layer in zip(self.masks, self.couplings):
            frozen = x * (1 - mask)
            s, t = layer(frozen[:, None], cond)
            x = frozen + mask * (x * torch.exp(s) + t)
            log_det = log_det + (mask * s).sum((1, 2))
        return x, log_det

    def inverse(self, x: torch.Tensor, c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """φ ``(B, L, L)`` -> (z, log |det ∂z/∂φ| ``(B,)``)."""
        cond, z = self._cond(c, x), x
        log_det = torch.zeros(len(x), dtype=x.dtype, device=x.device)
        for mask, layer in zip(reversed(self.masks), reversed(self.couplings)):
            frozen = z * (1 - mask)
            s, t = layer(frozen[:, None], cond)
            z = frozen + mask * (z - t) * torch.exp(-s)
            log_det = log_det - (mask * s).sum((1, 2))
        return z, log_det

    @staticmethod
    def base_log_prob(z: torch.Tensor) -> torch.Tensor:
        return -0.5 * (z * z).sum((1, 2)) - 0.5 * z[0].numel() * math.log(2 * math.pi)

    def log_q(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """log q(φ) ``(B,)`` (module docstring)."""
        z, log_det = self.inverse(x, c)
        return self.base_log_prob(z) + log_det

    def sample(self, n: int, c: torch.Tensor | None, generator: torch.Generator | None, like: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` fields ``(n, L, L)`` and their log q ``(n,)``, differentiable in the flow's weights (the
        reparameterised draw the free-energy objective needs)."""
        from physgen.randomness import randn

        z = randn((n, self.size, self.size), generator, like.device, like.dtype)
        x, log_det = self.forward(z, c)
        return x, self.base_log_prob(z) - log_det
