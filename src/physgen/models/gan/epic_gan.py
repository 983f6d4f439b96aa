"""``epic-gan``: the equivariant point-cloud GAN of Buhmann, Kasieczka and Thaler (EPiC-GAN, SciPost Phys. 15
(2023) 130, arXiv:2301.08128) on particle clouds (kind ``pointcloud``, e.g. ``physgen data jets``).

Model space: the features of :class:`~physgen.models.epic.CloudSpace` (standardised over the real particles,
log p_T,rel), with the mask appended as a last channel: the GAN's internal clouds are ``(B, P, F + 1)``, so
that the generator hands its multiplicity to the discriminator with the points.

Generator: a global latent z_g ~ N(0, I_latent) and one latent point z_i ~ N(0, I_point_latent) per real slot;
the points are embedded by a linear map, the global vector is a linear map of z_g, then ``layers_g`` EPiC
layers (:class:`~physgen.models.epic.EPiCLayer`) and a linear map to the F features, zero on padded slots.
Discriminator: a linear embedding of the points, ``layers_d`` EPiC layers, then an MLP of the masked mean and
sum of the points and the global vector to one output.  The condition (a one-hot jet type, or a learned
embedding) enters every layer of both.  Both networks are permutation equivariant (the discriminator
invariant) and linear in P.

Multiplicity: a generated cloud's number of particles k is drawn from the training set's multiplicity
histogram (per label when conditioned on labels, a checkpointed buffer); its first k slots are real.  In
training the generated batch takes the multiplicities of the real batch it is compared with, a draw from the
same distribution (per label, too).

Loss: least squares (LSGAN, Mao et al. 2017, arXiv:1611.04076), as in the paper: D minimises
½ E (D(x) − 1)² + ½ E D(G(z))², G minimises ½ E (D(G(z)) − 1)²; one D and one G update per step.
"""
from __future__ import annotations


import torch
from torch import nn

from physgen.errors import UserError
from physgen.models.base import DataSpec
from physgen.models.epic import CloudSpace, EPiCLayer, context, mask_of, masked_mean
from physgen.models.gan.base import GAN
from physgen.models.gan.card import EPiCGANCard
from physgen.models.gan.config import EPiCGANConfig
from physgen.models.registry import register


class EPiCGenerator(nn.Module):
    """G(z, c): ``z`` ``(B, latent + P (1 + point_latent))`` = [z_g, (mask_i, z_i) for each slot] and ``c``
    ``(B, C)`` or None → ``(B, P, F + 1)``: the features (zero on padded slots) and the mask."""

    def __init__(self, p: int, features: int, config: EPiCGANConfig, cond_dim: int):
        super().__init__()
        self.p, self.latent, self.point_latent = p, config.latent, config.point_latent
        self.inp = nn.Linear(config.point_latent + cond_dim, config.hidden)
        self.g0 = nn.Linear(config.latent + cond_dim, config.global_dim)
        self.layers = nn.ModuleList(EPiCLayer(config.hidden, config.global_dim, cond_dim)
                                    for _ in range(config.layers_g))
        self.out = nn.Linear(config.hidden, features)
        self.act = nn.LeakyReLU(0.01)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        b = len(z)
        points = z[:, self.latent:].reshape(b, self.p, 1 + self.point_latent)    # (B, P, 1 + point_latent)
        mask, zp = points[..., :1], points[..., 1:]
        ctx = context(c, b, z)
        h = self.act(self.inp(torch.cat([zp, ctx[:, None].expand(-1, self.p, -1)], dim=2))) * mask
        g = self.act(self.g0(torch.cat([z[:, :self.latent], ctx], dim=1)))
        for layer in self.layers:
            h, g = layer(h, g, ctx, mask)
        return torch.cat([self.out(h) * mask, mask], dim=2)


class EPiCDiscriminator(nn.Module):
    """D(x, c): ``x`` ``(B, P, F + 1)`` (features and mask), ``c`` ``(B, C)`` or None → ``(B,)`` outputs,
    invariant under permutations of the particles."""

    def __init__(self, features: int, config: EPiCGANConfig, cond_dim: int):
        super().__init__()
        self.inp = nn.Linear(features + cond_dim, config.hidden)
        self.g0 = nn.Linear(config.hidden + cond_dim, config.global_dim)
        self.layers = nn.ModuleList(EPiCLayer(config.hidden, config.global_dim, cond_dim)
                                    for _ in range(config.layers_d))
        self.head = nn.Sequential(nn.Linear(2 * config.hidden + config.global_dim + cond_dim, config.hidden),
                                  nn.LeakyReLU(0.01), nn.Linear(config.hidden, 1))
        self.act = nn.LeakyReLU(0.01)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        b, p = x.shape[:2]
        mask, feats = x[..., -1:], x[..., :-1]
        ctx = context(c, b, x)
        h = self.act(self.inp(torch.cat([feats, ctx[:, None].expand(-1, p, -1)], dim=2))) * mask
        g = self.act(self.g0(torch.cat([masked_mean(h, mask), ctx], dim=1)))
        for layer in self.layers:
            h, g = layer(h, g, ctx, mask)
        pooled = torch.cat([masked_mean(h, mask), (h * mask).sum(1) / p, g, ctx], dim=1)
        return self.head(pooled)[:, 0]


@register
class EPiCGAN(EPiCGANCard, CloudSpace, GAN):
    """EPiC-GAN on particle clouds (module docstring).  Its card (name, defaults, data kind):
    :class:`physgen.models.gan.card.EPiCGANCard`."""

    def build(self, config: EPiCGANConfig, spec: DataSpec) -> None:
        if len(spec.shape) != 2:
            raise UserError(f"model epic-gan: point clouds of shape (P, F) expected, got {spec.shape}")
        p, f = spec.shape
        self.gen = EPiCGenerator(p, f, config, self.cond.dim)
        self.disc = EPiCDiscriminator(f, config, self.cond.dim)
        self.init_cloud_space()

    # --- spaces -------------------------------------------------------------------------------------
    def to_internal(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, P, F)`` clouds → ``(B, P, F + 1)``: standardised features and the mask."""
        mask = mask_of(x)
        return torch.cat([self._forward_map(x, mask), mask], dim=2)

    def to_data(self, y: torch.Tensor) -> torch.Tensor:
        return self._inverse_map(y[..., :-1], y[..., -1:])

    def generate(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.gen(z, c)

    @property
    def noise_dim(self) -> int:
        return self.config.latent + self.spec.shape[0] * (1 + self.config.point_latent)

    def noise(self, n: int, generator: torch.Generator | None, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``(n, noise_dim)``: the global latent, then per slot the mask and the point latent (zero on padded
        slots).  The mask is ``mask`` ``(n, P, 1)``, else drawn from the multiplicity histogram of all clouds."""
        if mask is None:
            mask = self.draw_mask(n, None, generator)
        p, dev = self.spec.shape[0], self.device
        draw = (lambda *s: torch.randn(s, generator=generator, device=dev)) if self.config.noise == "normal" else \
            (lambda *s: torch.rand(s, generator=generator, device=dev) * 2 - 1)
        zg = draw(n, self.config.latent)
        zp = draw(n, p, self.config.point_latent) * mask
        return torch.cat([zg, torch.cat([mask, zp], dim=2).flatten(1)], dim=1)

    # --- training -----------------------------------------------------------------------------------
    def on_fit_start(self, data: dict[str, torch.Tensor], *, resumed: bool, generator: torch.Generator) -> None:
        """Fresh runs: the feature standardisation and the multiplicity histogram (per label)."""
        super().on_fit_start(data, resumed=resumed, generator=generator)
        if not resumed:
            self.fit_cloud_space(data)

    def training_noise(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The generated clouds take the multiplicities of the real batch ``x`` they are compared with (a draw
        from the data's multiplicity distribution)."""
        return self.noise(len(x), generator, x[..., -1:])

    def check_batch(self, batch: dict[str, torch.Tensor]) -> None:
        if not torch.isfinite(batch["x"]).all():
            raise UserError("training data: point-cloud features must be finite")

    # --- sampling -----------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator, condition: dict[str, float] | None = None,
               z: torch.Tensor | None = None) -> torch.Tensor:
        """``(n, P, F)`` clouds: multiplicities from the training histogram of each cloud's label, then one
        generator pass (``z`` given: use it)."""
        cond, labels = self.cond.for_sampling(n, condition, generator)
        c = self.cond(cond, labels) if self.cond.active else None
        if z is None:
            z = self.noise(n, generator, self.draw_mask(n, labels, generator))
        return self.to_data(self.generate(z.to(self.device), c))
