"""Building blocks shared by the point-cloud families (``epic-fm``, ``epic-gan``): the EPiC layer, the mask of a
padded cloud, the standardised model space of the particle features and the multiplicity histogram.

Clouds are ``(B, P, F)`` tensors whose padded slots are all zeros; ``mask`` is ``(B, P, 1)`` float, 1 on the
real particles.

EPiC layer (Buhmann, Kasieczka, Thaler, "EPiC-GAN: Equivariant point cloud generation for particle jets",
SciPost Phys. 15 (2023) 130, arXiv:2301.08128): with per-particle features h_i ``(B, P, H)``, a global
vector g ``(B, G)`` and a context c ``(B, C)`` (condition, time; C may be 0),

    g ← σ(g + φ_g[mean_i h_i, Σ_i h_i / P, g, c]),    h_i ← σ(h_i + φ_h[h_i, g, c]) · mask_i,

with φ two-layer MLPs, σ = LeakyReLU(0.01), sums over the real particles only.  A permutation of the particles
permutes the h_i and leaves g unchanged; the cost is linear in P.
"""
from __future__ import annotations

import torch
from torch import nn


def mask_of(x: torch.Tensor) -> torch.Tensor:
    """``(B, P, 1)`` float: 1 where a slot of ``x`` ``(B, P, F)`` has any non-zero feature."""
    return (x != 0).any(dim=2, keepdim=True).to(x.dtype)


def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``(B, H)`` mean of ``h`` ``(B, P, H)`` over the real slots (0 for an empty cloud)."""
    return (h * mask).sum(1) / mask.sum(1).clamp(min=1.0)


class EPiCLayer(nn.Module):
    """One equivariant point-cloud layer: global ← global + MLP(mean, sum/P, global, ctx); particle ←
    particle + MLP(particle, global, ctx), masked."""

    def __init__(self, hidden: int, global_dim: int, ctx: int):
        super().__init__()
        act = nn.LeakyReLU(0.01)
        self.glob = nn.Sequential(nn.Linear(2 * hidden + global_dim + ctx, hidden), act, nn.Linear(hidden, global_dim))
        self.local = nn.Sequential(nn.Linear(hidden + global_dim + ctx, hidden), act, nn.Linear(hidden, hidden))
        self.act = act

    def forward(self, h, g, ctx, mask):
        count = mask.sum(1).clamp(min=1.0)                      # (B, 1)
        total = (h * mask).sum(1)
        pooled = torch.cat([total / count, total / h.shape[1], g, ctx], dim=1)
        g = self.act(g + self.glob(pooled))
        p = h.shape[1]
        local = torch.cat([h, g[:, None].expand(-1, p, -1), ctx[:, None].expand(-1, p, -1)], dim=2)
        h = self.act(h + self.local(local)) * mask
        return h, g


def context(c: torch.Tensor | None, n: int, like: torch.Tensor) -> torch.Tensor:
    """The condition ``c`` ``(n, C)``, or an empty ``(n, 0)`` context when unconditioned."""
    return c if c is not None else like.new_zeros(n, 0)


class CloudSpace:
    """Mixin for a :class:`~physgen.models.base.GenerativeModel` on point clouds: checkpointed buffers
    ``feat_mean``, ``feat_std`` (``(F,)``) and ``multiplicity`` (``(max(n_labels, 1), P + 1)`` counts), and the
    maps between data and model space.

    Model space: each feature standardised by its mean and standard deviation over the real particles of the
    training set, after ``log`` for a feature named ``pt_rel`` (so generated p_T,rel are positive); padded
    slots stay zero.  The families' data kind and usual data are on their shared card,
    :class:`physgen.models.pointcloud_card.CloudCard`."""

    def init_cloud_space(self) -> None:
        p, f = self.spec.shape
        names = list(self.spec.feature_names or [])
        self.log_feature = names.index("pt_rel") if "pt_rel" in names else -1
        self.register_buffer("feat_mean", torch.zeros(f))
        self.register_buffer("feat_std", torch.ones(f))
        self.register_buffer("multiplicity", torch.ones(max(self.spec.n_labels or 1, 1), p + 1))

    mask_of = staticmethod(mask_of)

    def _forward_map(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.log_feature >= 0:
            k = self.log_feature
            x = x.clone()
            x[..., k] = torch.log(x[..., k].clamp(min=1e-12))
        return (x - self.feat_mean) / self.feat_std * mask

    def _inverse_map(self, z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = z * self.feat_std + self.feat_mean
        if self.log_feature >= 0:
            k = self.log_feature
            x = x.clone()
            x[..., k] = torch.exp(x[..., k])
        return x * mask

    def fit_cloud_space(self, data: dict[str, torch.Tensor]) -> None:
        """The per-feature mean and standard deviation over real particles (after the log of p_T,rel) and the
        multiplicity histogram (per label when conditioned on labels; a label without clouds takes the
        histogram of all)."""
        x = data["x"]
        mask = mask_of(x)
        if self.log_feature >= 0:
            x = x.clone()
            x[..., self.log_feature] = torch.log(x[..., self.log_feature].clamp(min=1e-12))
        m = mask.expand_as(x).bool()
        real = x[m].reshape(-1, x.shape[2]) if m.any() else torch.zeros(1, x.shape[2], device=x.device)
        self.feat_mean.copy_(real.mean(0))
        self.feat_std.copy_(real.std(0).clamp(min=1e-6) if len(real) > 1 else torch.ones_like(self.feat_std))
        counts = mask[..., 0].sum(1).long()
        labels = data.get("labels")
        hist = torch.zeros_like(self.multiplicity)
        rows = labels.long() if (labels is not None and self.spec.n_labels) else torch.zeros_like(counts)
        hist.index_put_((rows, counts), torch.ones_like(counts, dtype=hist.dtype), accumulate=True)
        empty = hist.sum(1) == 0
        hist[empty] = hist.sum(0, keepdim=True).expand(int(empty.sum()), -1) if (~empty).any() else 1.0
        self.multiplicity.copy_(hist)

    def draw_mask(self, n: int, labels: torch.Tensor | None, generator: torch.Generator | None) -> torch.Tensor:
        """``(n, P, 1)`` masks whose multiplicities k are drawn from the training histogram (the row of each
        label, or row 0 without labels); the first k slots are real."""
        dev = self.feat_mean.device
        rows = labels if labels is not None else torch.zeros(n, dtype=torch.long, device=dev)
        probs = self.multiplicity[rows].to(torch.float64)
        cpu = cpu_generator(generator) if generator is not None else None
        k = torch.multinomial(probs.cpu(), 1, generator=cpu)[:, 0].to(dev)
        p = self.spec.shape[0]
        return (torch.arange(p, device=dev)[None] < k[:, None]).to(self.feat_mean.dtype)[..., None]


def cpu_generator(generator: torch.Generator) -> torch.Generator | None:
    """``generator`` when it lives on the CPU (torch.multinomial on CPU tensors needs a CPU generator), else
    a CPU generator seeded from it."""
    if generator.device.type == "cpu":
        return generator
    seed = int(torch.randint(0, 2 ** 62, (1,), generator=generator, device=generator.device).item())
    return torch.Generator().manual_seed(seed)
