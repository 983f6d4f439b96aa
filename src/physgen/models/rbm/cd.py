"""Contrastive divergence with closed-form gradients (the fast path of CD-k and PCD-k).

The CD surrogate ``L = mean_{v∈data} F(v) − mean_{v⁻∈neg} F(v⁻)`` has, with ``x = b + ṽW`` the hidden
logits (``ṽ = v``, or ``v/σ²`` for Gaussian units) and ``σ(x)`` the hidden activation probabilities,

    ∂L/∂W = −( ṽ₀ᵀσ(x₀)/B − ṽ⁻ᵀσ(x⁻)/C )      ∂L/∂b = −( ⟨σ(x₀)⟩ − ⟨σ(x⁻)⟩ )
    ∂L/∂a = −( ⟨v₀⟩ − ⟨v⁻⟩ ) / σ²             (σ² = 1 for Bernoulli and spin units)

— the positive minus negative statistics of Hinton (2002) / Tieleman (2008).  Computing them directly
reuses the logits the Gibbs chain already needs, so one CD-1 update costs five matrix products (as the
course's hand-written loop) instead of the seven of back-propagating through ``F``; the values are
handed to autograd through :class:`ExplicitGradient`, so the shared trainer, its optimizers and DDP's
gradient all-reduce see ordinary ``.grad`` fields.

Chains are advanced from a hidden state (``h → v → x → h``, :func:`physgen.samplers.gibbs.sweeps`), so
a persistent chain carries its hidden units between updates as scikit-learn's ``BernoulliRBM`` does; for
spin units the global flip ``s → −s`` is accepted with ``min(1, p(−s)/p(s))`` from the logits alone,
since the logits of ``−s`` are ``2b − x``.
"""
from __future__ import annotations

import torch

from physgen.models.rbm.energy import RBMEnergy
from physgen.samplers.gibbs import bernoulli, flip_from_logits, sweeps  # noqa: F401  (the chain moves)


class ExplicitGradient(torch.autograd.Function):
    """``value`` as a differentiable scalar whose gradient with respect to ``params`` is ``grads``
    (computed in closed form by the caller): ``backward`` returns ``g · grads``."""

    @staticmethod
    def forward(ctx, value: torch.Tensor, grads: tuple[torch.Tensor, ...], *params: torch.Tensor) -> torch.Tensor:
        ctx.grads = grads
        return value.detach().clone()

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        return (None, None, *(g * grad for grad in ctx.grads))


def cd_gradients(e: RBMEnergy, v0: torch.Tensor, x0: torch.Tensor, vn: torch.Tensor, xn: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(L, ∂L/∂W (n, m), ∂L/∂a (n,), ∂L/∂b (m,))`` of the surrogate above from data ``v0 (B, n)`` and
    negatives ``vn (C, n)`` with their hidden logits ``x0``, ``xn`` (no autograd; float of ``W``)."""
    p0, pn = torch.sigmoid(x0), torch.sigmoid(xn)
    s0, sn = e._scaled(v0), e._scaled(vn)
    dW = torch.mm(sn.T, pn).mul_(1.0 / len(vn))
    dW.addmm_(s0.T, p0, alpha=-1.0 / len(v0))
    inv_var = 1.0 if e.visible != "gaussian" else e.sigma ** -2
    da = (vn.mean(0) - v0.mean(0)) * inv_var
    db = pn.mean(0) - p0.mean(0)
    value = e.free_energy(v0, x0).mean() - e.free_energy(vn, xn).mean()
    return value, dW, da, db
