"""A normalizing flow of real lattice fields: coupling layers on checkerboard masks with convolutional
conditioners, equivariant under φ -> −φ (Albergo, Kanwar & Shanahan, PRD 100, 034515, 2019).

The map z -> φ is a stack of ``layers`` couplings.  Layer k updates the sites of parity (i + j) ≡ k (mod 2)
given the others ("frozen"), site by site with a monotone map g_θ whose parameters θ(φ_frozen) come from a
small convolutional network on the periodic lattice (circular padding), so that the flow commutes with the
lattice translations by an even vector.  Two maps (``coupling``):

* ``affine`` (RealNVP: Dinh, Sohl-Dickstein & Bengio, ICLR 2017; Albergo et al.'s layers):
  g(z) = z · e^{s} + t, θ = (s, t), log |g'| = s;
* ``spline``: a monotone rational-quadratic spline on [−B, B] with K bins, the identity outside (Durkan,
  Bekasov, Murray & Papamakarios, *Neural spline flows*, NeurIPS 2019; zuko's ``MonotonicRQSTransform``),
  θ = K widths, K heights and K − 1 inner knot slopes.  One layer can turn the Gaussian conditional of a site
  into the double-peaked one of the broken-symmetry φ⁴ potential, which an affine layer cannot.

The network sees the frozen field (active sites set to zero) and the condition (the temperature) as constant
extra channels.  **Z₂ equivariance**: with the network's raw output n(φ) and a fixed signed permutation P of
its channels (affine: s ↦ s, t ↦ −t; spline: each of widths, heights and slopes read backwards),
θ(φ) = ½ [n(φ) + P n(−φ)] satisfies θ(−φ) = P θ(φ), and g_{Pθ}(−z) = −g_θ(z) for both maps: every layer is
odd, so with the Gaussian base the density is even, q(−φ) = q(φ), the symmetry of the φ⁴ action.

``zero_mode`` adds a last layer on the zero-momentum mode (:class:`_ZeroMode`): φ -> φ + g(φ̄) − φ̄ with g a
monotone odd spline of the lattice mean.  The last convolution and the mean's spline start at zero: the
untrained flow is the identity and q is the base N(0, I).

    log q(φ) = log N(z; 0, I) − Σ_layers Σ_active log g_θ'(·) [− log g'(φ̄)],    z = f⁻¹(φ) (exact, one pass).

Shapes: fields ``(B, L, L)``, conditions ``(B, C)``, log q ``(B,)``.
"""
from __future__ import annotations

import math

import torch
from torch import nn


def _mirror(coupling: str, bins: int) -> tuple[list[int], list[float]]:
    """The signed channel permutation P of the module docstring: ``(channel order, signs)``."""
    if coupling == "affine":
        return [0, 1], [1.0, -1.0]
    order = [*range(bins - 1, -1, -1), *range(2 * bins - 1, bins - 1, -1), *range(3 * bins - 2, 2 * bins - 1, -1)]
    return order, [1.0] * (3 * bins - 1)


class _Conditioner(nn.Module):
    """``(frozen field (B, 1, L, L), condition channels (B, C, L, L))`` -> θ ``(B, P, L, L)``, P = 2 (affine) or
    3K − 1 (spline), symmetrised (module docstring)."""

    def __init__(self, cond_dim: int, hidden: tuple[int, ...], coupling: str, bins: int, kernel: int = 3):
        super().__init__()
        order, signs = _mirror(coupling, bins)
        widths = (1 + cond_dim, *hidden, len(order))
        self.convs = nn.ModuleList(nn.Conv2d(a, b, kernel) for a, b in zip(widths[:-1], widths[1:]))
        nn.init.zeros_(self.convs[-1].weight)
        nn.init.zeros_(self.convs[-1].bias)
        self.order, self.halo = order, kernel // 2
        self.register_buffer("signs", torch.tensor(signs)[None, :, None, None], persistent=False)

    def _periodic(self, x: torch.Tensor) -> torch.Tensor:
        """``x (B, C, L, L)`` with a halo of ``kernel // 2`` sites copied from the opposite edges (periodic
        boundaries; two concatenations, cheaper than convolution's circular padding mode)."""
        k = self.halo
        x = torch.cat([x[..., -k:], x, x[..., :k]], -1)
        return torch.cat([x[..., -k:, :], x, x[..., :k, :]], -2)

    def forward(self, frozen: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        both = torch.cat([frozen, -frozen])                     # n(φ) and n(−φ) in one pass
        h = both if cond is None else torch.cat([both, torch.cat([cond, cond])], 1)
        for i, conv in enumerate(self.convs):
            h = conv(self._periodic(h))
            if i < len(self.convs) - 1:
                h = torch.tanh(h)
        plus, minus = h.chunk(2)
        return 0.5 * (plus + self.signs.to(minus.dtype) * minus[:, self.order])


class _Affine:
    """g(z) = z e^s + t from θ ``(B, 2, L, L)``."""

    def __init__(self, theta: torch.Tensor):
        self.s, self.t = theta[:, 0], theta[:, 1]

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return z * torch.exp(self.s) + self.t, self.s

    def inverse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (x - self.t) * torch.exp(-self.s), -self.s


class _Spline:
    """zuko's monotone rational-quadratic spline on [−B, B] from θ ``(B, 3K − 1, L, L)``."""

    def __init__(self, theta: torch.Tensor, bins: int, bound: float):
        from zuko.transforms import MonotonicRQSTransform

        p = theta.permute(0, 2, 3, 1)
        self.map = MonotonicRQSTransform(p[..., :bins], p[..., bins:2 * bins], p[..., 2 * bins:], bound=bound)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.map.call_and_ladj(z)

    def inverse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.map.inv.call_and_ladj(x)


class _ZeroMode(nn.Module):
    """A monotone odd spline g of the lattice mean m = φ̄, added to every site: φ' = φ + (g(m) − m),
    so that φ̄' = g(m).  The Jacobian is I + (g'(m) − 1) 1 1ᵀ/V, whose determinant is g'(m) (the matrix
    determinant lemma), and the inverse reads m = g⁻¹(φ̄') from the mean.  One layer reshapes the law of the
    zero-momentum mode, which local couplings reach only through many layers.  Its parameters come from the
    condition (a linear map, or constants without one), symmetrised as the couplings' are so that g is odd."""

    def __init__(self, cond_dim: int, bins: int, bound: float):
        super().__init__()
        order, _ = _mirror("spline", bins)
        self.order, self.bins, self.bound = order, bins, bound
        self.net = nn.Linear(max(cond_dim, 1), len(order))
        nn.init.zeros_(self.net.weight)
        nn.init.zeros_(self.net.bias)

    def _map(self, c: torch.Tensor | None, like: torch.Tensor) -> _Spline:
        if c is None or c.shape[-1] == 0:
            inputs = torch.ones(len(like), 1, dtype=like.dtype, device=like.device)
        else:
            inputs = c.to(like.dtype)
        raw = self.net(inputs)
        theta = 0.5 * (raw + raw[:, self.order])
        return _Spline(theta[:, :, None, None], self.bins, self.bound)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        m = x.mean((1, 2))
        g, ladj = self._map(c, x).forward(m[:, None, None])
        return x + (g[:, 0, 0] - m)[:, None, None], ladj[:, 0, 0]

    def inverse(self, x: torch.Tensor, c: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        g = x.mean((1, 2))
        m, ladj = self._map(c, x).inverse(g[:, None, None])
        return x - (g - m[:, 0, 0])[:, None, None], ladj[:, 0, 0]


class CouplingFlow(nn.Module):
    """The flow of the module docstring on an ``size``² lattice: ``layers`` couplings of kind ``coupling``
    (``affine`` or ``spline`` with ``bins`` bins on [−``bound``, ``bound``]), conditioner widths ``hidden``,
    ``cond_dim`` condition inputs."""

    def __init__(self, size: int, layers: int, hidden: tuple[int, ...], cond_dim: int = 0, *,
                 coupling: str = "affine", bins: int = 8, bound: float = 5.0, zero_mode: bool = False):
        super().__init__()
        i = torch.arange(size)
        parity = ((i[:, None] + i[None, :]) % 2).float()
        self.register_buffer("masks", torch.stack([parity if k % 2 == 0 else 1 - parity for k in range(layers)]))
        self.couplings = nn.ModuleList(_Conditioner(cond_dim, tuple(hidden), coupling, bins) for _ in range(layers))
        self.size, self.coupling, self.bins, self.bound = size, coupling, bins, bound
        self.zero_mode = _ZeroMode(cond_dim, 16, 2.0) if zero_mode else None

    def _map(self, theta: torch.Tensor) -> _Affine | _Spline:
        return _Affine(theta) if self.coupling == "affine" else _Spline(theta, self.bins, self.bound)

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
            y, ladj = self._map(layer(frozen[:, None], cond)).forward(x)
            x = frozen + mask * y
            log_det = log_det + (mask * ladj).sum((1, 2))
        if self.zero_mode is not None:
            x, ladj = self.zero_mode(x, c)
            log_det = log_det + ladj
        return x, log_det

    def inverse(self, x: torch.Tensor, c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """φ ``(B, L, L)`` -> (z, log |det ∂z/∂φ| ``(B,)``)."""
        cond, z = self._cond(c, x), x
        log_det = torch.zeros(len(x), dtype=x.dtype, device=x.device)
        if self.zero_mode is not None:
            z, log_det = self.zero_mode.inverse(z, c)
        for mask, layer in zip(reversed(self.masks), reversed(self.couplings)):
            frozen = z * (1 - mask)
            y, ladj = self._map(layer(frozen[:, None], cond)).inverse(z)
            z = frozen + mask * y
            log_det = log_det + (mask * ladj).sum((1, 2))
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
