"""``epic-fm``: conditional flow matching on particle clouds with a permutation-equivariant EPiC network.

Data: point clouds ``(N, P, F)`` (kind ``pointcloud``) whose padded slots are all zeros, so a batch's mask is
``any(x != 0)`` over the features; the trainer passes ``x`` (and ``labels`` with ``--condition labels``, e.g.
the jet type of merged ``physgen data jets`` files).

Model space: each particle feature is standardised by its mean and standard deviation over the real
particles of the training set, after ``log`` for a feature named ``pt_rel`` (so generated p_T,rel are
positive).  Padded slots stay zero and are excluded from every sum.

Flow matching (Lipman et al. 2023, with the straight conditional paths of Liu et al. 2023 / Tong et al.
2023, σ = 0): with x₀ ~ N(0, I) on the real slots, t ~ U(0, 1) and x_t = (1 − t) x₀ + t x₁, the network
v_θ(x_t, t, c, mask) is trained to minimise the masked mean of |v_θ − (x₁ − x₀)|²; sampling integrates
dx/dt = v_θ from t = 0 to 1 with ``steps`` fixed midpoint (or Euler) steps of the named velocity sampler
(:mod:`physgen.samplers.registry`).

Multiplicity: the number of particles of a generated cloud is drawn from the training set's multiplicity
histogram (per label when conditioned on labels), recorded in a checkpointed buffer; its first k slots are
then real, the rest padding.  The network sees the mask, so it is conditioned on the multiplicity.

Network (EPiC, Buhmann, Kasieczka, Thaler 2023): a per-particle embedding and a global vector; each of
``layers`` EPiC layers updates the global vector from the masked mean and sum of the particle features (the
sum divided by P) and the current global vector, then every particle from itself and the global vector;
residual connections, LeakyReLU; the time (sinusoidal embedding) and the condition enter every update.
Permutation equivariant in the particles, and linear in cost.

The options and their checks: :mod:`physgen.models.pointcloud_config`; the family's card (name, defaults, data
kind): :mod:`physgen.models.pointcloud_card`.

References: E. Buhmann, G. Kasieczka, J. Thaler, "EPiC-GAN: Equivariant point cloud generation for particle
jets", SciPost Phys. 15 (2023) 130, arXiv:2301.08128; J. Birk, E. Buhmann, C. Ewen, G. Kasieczka, D. Shih,
"Flow matching beyond kinematics: generating jets with particle-ID and trajectory displacement
information", arXiv:2312.00123 (EPiC-FM); Y. Lipman et al., "Flow matching for generative modeling", ICLR
2023, arXiv:2210.02747; A. Tong et al., "Improving and generalizing flow-based generative models with
minibatch optimal transport", TMLR 2024, arXiv:2302.00482.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from physgen.errors import UserError
from physgen.models.base import DataSpec, GenerativeModel
from physgen.models.epic import CloudSpace, EPiCLayer, masked_mean
from physgen.models.nets import Conditioner
from physgen.models.pointcloud_card import EPiCFMCard
from physgen.models.pointcloud_config import EPiCFMConfig
from physgen.models.registry import register
from physgen.samplers import registry as samplers


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """``(B,)`` times in [0, 1] → ``(B, dim)`` sines and cosines of geometrically spaced frequencies."""
    half = dim // 2
    freqs = torch.exp(-np.log(1000.0) * torch.arange(half, device=t.device, dtype=t.dtype) / max(half, 1))
    angles = 1000.0 * t[:, None] * freqs[None]
    out = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    return nn.functional.pad(out, (0, dim - 2 * half))


class EPiCNet(nn.Module):
    """v(x, t, c, mask): ``x`` ``(B, P, F)``, ``t`` ``(B,)``, ``c`` ``(B, C)`` or None, ``mask`` ``(B, P, 1)`` →
    ``(B, P, F)`` (zero on padded slots)."""

    def __init__(self, features: int, config: EPiCFMConfig, cond_dim: int):
        super().__init__()
        self.emb_dim = config.emb_dim
        ctx = config.emb_dim + cond_dim
        self.inp = nn.Linear(features + ctx, config.hidden)
        self.g0 = nn.Linear(config.hidden + ctx, config.global_dim)
        self.layers = nn.ModuleList(EPiCLayer(config.hidden, config.global_dim, ctx) for _ in range(config.layers))
        self.out = nn.Linear(config.hidden, features)
        self.act = nn.LeakyReLU(0.01)

    def forward(self, x, t, c, mask):
        ctx = time_embedding(t, self.emb_dim)
        if c is not None:
            ctx = torch.cat([ctx, c], dim=1)
        p = x.shape[1]
        h = self.act(self.inp(torch.cat([x, ctx[:, None].expand(-1, p, -1)], dim=2))) * mask
        g = self.act(self.g0(torch.cat([masked_mean(h, mask), ctx], dim=1)))
        for layer in self.layers:
            h, g = layer(h, g, ctx, mask)
        return self.out(h) * mask


@register
class EPiCFlowMatching(EPiCFMCard, CloudSpace, GenerativeModel):
    """Conditional flow matching with an EPiC network on particle clouds (module docstring).  Its card (name,
    defaults, data kind): :class:`physgen.models.pointcloud_card.EPiCFMCard`."""

    def __init__(self, config: EPiCFMConfig, spec: DataSpec):
        super().__init__(config, spec)
        if len(spec.shape) != 2:
            raise UserError(f"model epic-fm: point clouds of shape (P, F) expected, got {spec.shape}")
        self.cond = Conditioner(spec)
        p, f = spec.shape
        self.net = EPiCNet(f, config, self.cond.dim)
        self.init_cloud_space()

    def on_fit_start(self, data: dict[str, torch.Tensor], *, resumed: bool, generator: torch.Generator) -> None:
        """Fresh runs: the per-feature mean and standard deviation over real particles (after the log of
        p_T,rel) and the multiplicity histogram (per label when conditioned on labels)."""
        if not resumed:
            self.fit_cloud_space(data)

    def check_batch(self, batch: dict[str, torch.Tensor]) -> None:
        if not torch.isfinite(batch["x"]).all():
            raise UserError("training data: point-cloud features must be finite")

    # --- training -----------------------------------------------------------------------------------
    def loss(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator
             ) -> tuple[torch.Tensor, dict[str, float]]:
        x = batch["x"]
        mask = self.mask_of(x)
        x1 = self._forward_map(x, mask)
        x0 = torch.randn(x1.shape, generator=generator, device=x1.device, dtype=x1.dtype) * mask
        t = torch.rand(len(x1), generator=generator, device=x1.device, dtype=x1.dtype)
        xt = (1 - t[:, None, None]) * x0 + t[:, None, None] * x1
        v = self.net(xt, t, self.cond.from_batch(batch), mask)
        loss = ((v - (x1 - x0)) ** 2 * mask).sum() / (mask.sum() * x.shape[2]).clamp(min=1.0)
        return loss, {}

    def networks(self):
        x, cond, labels = self.dummy_inputs()
        x[:, :1] = 1.0
        c = self.cond(cond, labels) if self.cond.active else None
        return {"model": ([self], lambda: self.net(x, torch.zeros(len(x)), c, self.mask_of(x)))}

    def preview(self, *, generator: torch.Generator):
        return None

    # --- sampling -----------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator, condition: dict[str, float] | None = None,
               steps: int | None = None, sampler: str | None = None, **options: Any) -> torch.Tensor:
        """``(n, P, F)`` clouds: multiplicities from the training histogram, then the learned velocity carried
        from Gaussian noise by ``sampler`` (default ``model.sampler``) in ``steps`` steps (default
        ``model.steps``), with the sampler's ``options`` (:func:`physgen.samplers.registry.configure`)."""
        steps = int(steps if steps is not None else self.config.steps)
        if steps < 1:
            raise UserError(f"must be >= 1, got {steps}", key="steps")
        run = samplers.get(self.sampler_field, sampler or self.config.sampler, family=self.name)
        settings = samplers.configure(run, self.config, options)
        cond, labels = self.cond.for_sampling(n, condition, generator)
        c = self.cond(cond, labels) if self.cond.active else None
        dev = self.feat_mean.device
        mask = self.draw_mask(n, labels, generator)
        p, f = self.spec.shape
        z = torch.randn((n, p, f), generator=generator, device=generator.device).to(dev) * mask
        z = run.run(samplers.Problem(lambda x, t: self.net(x, t, c, mask), z.shape, generator, dev, settings,
                                     x0=z), steps)
        return self._inverse_map(z, mask)

