"""Observable matching for spin-lattice GANs: a generator penalty on the Ising observables per condition value.

Feature matching (Salimans et al. 2016, §3.1) asks the generator to reproduce the data's mean of chosen
features; here the features are the lattice's physical statistics ``s(x) = (|m|, m², e)`` (magnetisation per
site, its square, nearest-neighbour energy per site; :func:`~physgen.models.gan.conv_lattice.lattice_stats`),
and the means are taken per trained condition value ``T_k`` (one Monte Carlo ensemble each)::

    P = Σ_k (n_k / B) Σ_j (μ̂_kj − t_kj)² / σ_j²,      t_k = E_data[s | T_k],  σ_j = std_data(s_j)

over the ``n_k`` generated lattices of a batch at ``T_k``.  With ``fluctuations`` (``model.match_fluctuations``)
the features also include the squared deviations ``(|m| − t_k,|m|)²`` and ``(e − t_k,e)²`` from the targets,
whose means are the data's variances at ``T_k`` when the means are right — the susceptibility
``χ = N Var|m| / T`` and specific heat ``C = N Var e / T²`` — with σ the spread of the squared deviations of
the training lattices from their own temperature's means.  Means alone can be met by a mixture of too-ordered
and too-disordered lattices, and raw second moments ⟨e²⟩ in units of their spread over all temperatures are
too weak a constraint on C (benchmarks/records/wgan-gp.md).
Squaring a batch mean adds its variance,
``E(μ̂ − t)² = (μ − t)² + Var s / n``, which would reward the generator for making ``s`` the same on every
lattice — the opposite of the fluctuations (susceptibility, ⟨m²⟩) it must learn.  So each group is split
into two halves A and B and ``(μ̂_A − t)(μ̂_B − t)`` is used: independent halves make it an unbiased
estimate of ``(μ − t)²`` (groups with a single lattice are skipped).  The targets are buffers computed from
the training data at the start of training and checkpointed with the model.

The generated statistics are those of the lattices physgen outputs, ``sign(y)`` of the generator's tanh
output ``y``, with the gradient passed straight through to ``y`` (``ŝ = y + (sign y − y)`` with the bracket
detached; the straight-through estimator of Bengio, Léonard & Courville 2013).  Matching ``s(y)`` of the
soft outputs instead is biased: a site with ``y = 0.1`` counts 0.1 towards ``m`` but becomes a full spin, so
the generator is pulled to soft values whose signs are too ordered or too disordered (benchmarks/records/wgan-gp.md).
"""
from __future__ import annotations

import torch
from torch import nn

from physgen.errors import UserError
from physgen.models.gan.conv_lattice import lattice_stats
from physgen.models.spaces import from_signed

N_OBS = 3  # |m|, m², e
SPREAD = [0, 2]  # with fluctuations: squared deviations of |m| and e from their targets (χ, C)


def observables(x: torch.Tensor) -> torch.Tensor:
    """``x (B, H, W)`` or ``(B, C, H, W)`` spins (±1, or tanh outputs) -> ``(B, 3)``: |m|, m², e per site."""
    x = x.reshape(len(x), -1, *x.shape[-2:])
    return lattice_stats(x)[:, 1:]


def deviations(s: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
    """``s (B, 3)`` observables and each row's centre ``(B, 3)`` -> ``(B, 5)``: ``s`` and the squared
    deviations of |m| and e (:data:`SPREAD`) from the centre."""
    return torch.cat([s, (s[:, SPREAD] - centre[:, SPREAD]) ** 2], 1)


def straight_through_spins(y: torch.Tensor) -> torch.Tensor:
    """The sampled spins ``sign(y)`` (:func:`~physgen.models.spaces.from_signed`) with the identity as gradient."""
    return y + (from_signed(y, "spins") - y).detach()


class ObservableMatching(nn.Module):
    """Per-condition targets of :func:`observables` and the split-half penalty (module docstring).

    ``keys (K, n_c)`` are the condition features of the ``K`` trained values (``K = 1`` unconditioned);
    buffers ``target (K, F)`` and ``scale (F,)`` (``F`` = 3, or 5 with ``fluctuations``: the variances of |m|
    and e) are set by :meth:`fit`.
    """

    def __init__(self, spec, conditioner: nn.Module, values: torch.Tensor | None = None, fluctuations: bool = False):
        super().__init__()
        if spec.kind != "spins" or len(spec.shape) not in (2, 3):
            raise UserError(f"model.match_observables: only for spin lattices, the data are {spec.kind!r} "
                            f"of shape {tuple(spec.shape)}")
        names = tuple(spec.condition_names)
        if len(names) > 1 or spec.n_labels:
            raise UserError("model.match_observables: needs at most one continuous condition (e.g. temperature), "
                            f"the run has {', '.join(names + (('labels',) if spec.n_labels else ()))}")
        if values is None:  # the trained values (else e.g. the grid of model.reweight)
            values = torch.tensor(spec.condition_values[names[0]] if names else [0.0], dtype=torch.float32)
        self.conditioned, self.fluctuations = bool(names), fluctuations
        n_obs = N_OBS + len(SPREAD) * fluctuations
        keys = conditioner(values[:, None]) if names else torch.zeros(1, 1)
        self.register_buffer("keys", keys.detach(), persistent=False)
        self.register_buffer("values", values, persistent=False)
        self.register_buffer("target", torch.zeros(len(values), n_obs))
        self.register_buffer("scale", torch.ones(n_obs))

    def index(self, c: torch.Tensor | None, n: int) -> torch.Tensor:
        """``(n,)`` index of the trained value nearest to each row's condition features ``c (n, n_c)``."""
        if not self.conditioned or c is None:
            return torch.zeros(n, dtype=torch.long, device=self.target.device)
        return torch.cdist(c.float(), self.keys).argmin(1)

    @torch.no_grad()
    def fit(self, x: torch.Tensor, cond: torch.Tensor | None, reals=None) -> None:
        """Targets from the training lattices ``x (N, …)`` with raw conditions ``cond (N, 1)``; with ``reals``
        (a fitted :class:`~physgen.models.gan.reweighted.ReweightedReals` over the same lattices, whose grid
        are this module's values) the reweighted means (and variances) at the grid temperatures."""
        s = observables(x.float())
        idx = None if reals is not None else self._index_of_values(cond, len(s))
        target, scale = (reals.weighted_means(s) if idx is None else _means(s, idx, len(self.values))), s.std(0)
        if self.fluctuations:
            key = cond[:, 0].float() if self.conditioned else torch.zeros(len(s), device=s.device)
            _, ensemble = torch.unique(key, return_inverse=True)   # rows centred on their own ensemble's means
            dev = deviations(s, _means(s, ensemble)[ensemble])[:, N_OBS:]
            spread = (reals.weighted_means(s[:, SPREAD] ** 2) - target[:, SPREAD] ** 2 if idx is None
                      else _means(dev, idx, len(self.values)))
            target, scale = torch.cat([target, spread], 1), torch.cat([scale, dev.std(0)])
        self.target.copy_(target)
        self.scale.copy_(scale.clamp(min=1e-3))

    def _index_of_values(self, cond: torch.Tensor | None, n: int) -> torch.Tensor:
        """``(n,)`` index of the value nearest to each raw condition ``cond (n, 1)`` (0 when unconditioned)."""
        if not self.conditioned:
            return torch.zeros(n, dtype=torch.long, device=self.values.device)
        return (cond.float()[:, :1] - self.values.to(cond.device)).abs().argmin(1).to(self.values.device)

    def penalty(self, fake: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        """Split-half estimate of ``P`` for generated lattices ``fake (B, …)`` with features ``c`` (differentiable)."""
        s, K, B = observables(straight_through_spins(fake)), len(self.target), len(fake)
        idx = self.index(c, B)
        if self.fluctuations:
            s = deviations(s, self.target[idx])
        order = torch.argsort(idx, stable=True)
        ranked = idx[order]
        rank = torch.arange(B, device=idx.device) - torch.searchsorted(ranked, ranked)
        half = torch.empty_like(idx)
        half[order] = rank % 2
        cell = 2 * idx + half
        counts = torch.bincount(cell, minlength=2 * K).to(s.dtype)
        means = s.new_zeros(2 * K, s.shape[1]).index_add(0, cell, s) / counts.clamp(min=1)[:, None]
        d = (means - self.target.repeat_interleave(2, 0)) / self.scale
        both = (counts[0::2] > 0) & (counts[1::2] > 0)
        weight = (counts[0::2] + counts[1::2]) / B * both
        return ((d[0::2] * d[1::2]).sum(1) * weight).sum()


def _means(s: torch.Tensor, idx: torch.Tensor, k: int | None = None) -> torch.Tensor:
    """Means of the rows of ``s (N, F)`` per index ``idx (N,)`` in ``range(k)``: ``(k, F)`` (0 for an empty index)."""
    k = int(idx.max()) + 1 if k is None else k
    counts = torch.bincount(idx, minlength=k).clamp(min=1).to(s.dtype)
    return torch.zeros(k, s.shape[1], dtype=s.dtype, device=s.device).index_add_(0, idx, s) / counts[:, None]
