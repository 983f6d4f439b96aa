"""Contrastive divergence with closed-form gradients (the fast path of CD-k and PCD-k).

The CD surrogate ``L = mean_{v∈data} F(v) − mean_{v⁻∈neg} F(v⁻)`` has, with ``x = b + ṽW`` the hidden
logits (``ṽ = v``, or ``v/σ²`` for Gaussian units) and ``σ(x)`` the hidden activation probabilities,

    ∂L/∂W = −( ṽ₀ᵀσ(x₀)/B − ṽ⁻ᵀσ(x⁻)/C )      ∂L/∂b = −( ⟨σ(x₀)⟩ − ⟨σ(x⁻)⟩ )
    ∂L/∂a = −( ⟨v₀⟩ − ⟨v⁻⟩ ) / σ²             (σ² = 1 for Bernoulli and spin units; N ⟨·⟩ for binomial)

— the positive minus negative statistics of Hinton (2002) / Tieleman (2008).  Computing them directly
reuses the logits the Gibbs chain already needs, so one CD-1 update costs the five matrix products of the
course's hand-written loop instead of the seven of back-propagating through ``F`` — and PCD runs them as three
calls: the chain's ``h → v``, the logits of data and chain rows stacked ``[v₀; v⁻]W``, and both statistics as
one product ``[ṽ₀; ṽ⁻]ᵀ[−σ(x₀)/B; σ(x⁻)/C]`` (bigger products run closer to the core's peak, and with
bfloat16 operands, :meth:`RBMEnergy.fast`, the positive−negative difference is formed in float32 inside
the product, not after rounding each term); the values are
handed to autograd through :class:`ExplicitGradient`, so the shared trainer, its optimizers and DDP's
gradient all-reduce see ordinary ``.grad`` fields.

Chains are advanced from a hidden state (``h → v → x → h``, :func:`physgen.samplers.gibbs.sweeps`), so
a persistent chain carries its hidden units between updates as scikit-learn's ``BernoulliRBM`` does; for
spin units the global flip ``s → −s`` is accepted with ``min(1, p(−s)/p(s))`` from the logits alone,
since the logits of ``−s`` are ``2b − x``.
"""
from __future__ import annotations

import functools

import torch
from torch.nn.functional import softplus

from physgen.models.rbm.energy import RBMEnergy
from physgen.samplers.draws import bernoulli  # noqa: F401  (the chain moves, used by the model as cd.*)
from physgen.samplers.gibbs import flip_from_logits, sweeps  # noqa: F401


class ExplicitGradient(torch.autograd.Function):
    """``value`` as a differentiable scalar whose gradient with respect to ``params`` is ``grads``
    (computed in closed form by the caller): ``backward`` returns ``g · grads``."""

    @staticmethod
    def forward(ctx, value: torch.Tensor, grads: tuple[torch.Tensor, ...], *params: torch.Tensor) -> torch.Tensor:
        ctx.grads = grads
        return value.detach().clone()

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        grads, ctx.grads = ctx.grads, None
        if g.numel() == 1 and float(g) == 1.0:  # loss.backward(): hand the tensors over (autograd then
            return (None, None, *grads)       # moves them into .grad without a copy: no other reference)
        return (None, None, *(g * grad for grad in grads))


def cd_gradients(e: RBMEnergy, v0: torch.Tensor, x0: torch.Tensor, vn: torch.Tensor, xn: torch.Tensor, *,
                 value: bool = True) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(L, ∂L/∂W (n, m), ∂L/∂a (n,), ∂L/∂b (m,))`` of the surrogate above from data ``v0 (B, n)`` and
    negatives ``vn (C, n)`` with their hidden logits ``x0``, ``xn`` (no autograd; float of ``W``);
    ``L`` is None unless ``value``."""
    return stacked_gradients(e, torch.cat([v0, vn]), torch.cat([x0, xn]), len(v0), value=value)


def stacked_gradients(e: RBMEnergy, v: torch.Tensor, x: torch.Tensor, n_data: int, p: torch.Tensor | None = None,
                      vc: torch.Tensor | None = None, *, value: bool = True
                      ) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`cd_gradients` from data and negatives stacked: ``v (B + C, n)`` and their logits
    ``x (B + C, m)``, the first ``n_data = B`` rows data.  With row weights ``w = (−1/B, …, +1/C, …)``
    every statistic is one weighted sum: ``∂L/∂W = ṽᵀ(w ⊙ σ(x))`` (one product, the positive − negative
    difference formed inside its float32 accumulation), ``∂L/∂a = vᵀw / σ²``, ``∂L/∂b = wᵀσ(x)`` and
    ``L = −wᵀF(v)``, for binary/spin units ``aᵀ(vᵀw) + wᵀΣ_j softplus(x)`` (reusing ``vᵀw``).  ``p = σ(x)``
    may be passed when the caller has it, ``vc`` = ``v`` already in the products' dtype
    (:meth:`RBMEnergy.operands`); ``value=False`` skips ``L`` (None).  (The vector sums are taken as
    elementwise products summed over rows: matrix-vector products would follow ``train.matmul_precision``
    into bfloat16 kernels, slower at this size: benchmarks/records/rbm.md.)"""
    w = _row_weights(len(v), n_data, x.dtype, x.device)
    pw = (torch.sigmoid(x) if p is None else p) * w
    dW = e.outer(e.scaled(v) if vc is None else vc, pw)
    vw = (v * w).sum(0)
    da = vw * e.sigma ** -2 if e.visible == "gaussian" else vw * e.levels if e.visible == "binomial" else vw
    if not value:
        loss = None
    elif e.visible in ("gaussian", "binomial") or not e.untempered:
        loss = -torch.dot(w[:, 0], e.free_energy(v, x))
    else:
        loss = torch.dot(e.a, vw) + torch.dot(w[:, 0], softplus(x).sum(-1))
    return loss, dW, da, pw.sum(0)


@functools.lru_cache(maxsize=16)
def _row_weights(rows: int, n_data: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``w (rows, 1)``: ``−1/n_data`` for the data rows, ``+1/(rows − n_data)`` for the negatives.  Cached, read-only."""
    w = torch.full((rows, 1), 1.0 / (rows - n_data), dtype=dtype, device=device)
    w[:n_data] = -1.0 / n_data
    return w
