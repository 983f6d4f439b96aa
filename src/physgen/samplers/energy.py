"""What the RBM samplers (block Gibbs, parallel tempering, AIS) need from an energy, declared below the models.

A bipartite energy couples visible units ``v (..., n)`` to Bernoulli hidden units ``h (..., m)`` through
weights ``W (n, m)`` with biases ``a (n,)``, ``b (m,)``; its marginal over ``v`` is ``p(v) ∝ exp(−F(v))``.
The samplers own the loops and reach the maths only through :class:`BipartiteEnergy` (a structural
protocol: any object with these members qualifies, e.g. ``physgen.models.rbm.energy.RBMEnergy``), so
this package never imports a model.  The tempered family ``p_β`` (``tempered``) is the one of
Salakhutdinov & Murray (2008, eq. 11): ``W_β = βW``, ``b_β = βb``, ``a_β = (1 − β) a_A + β a``.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from physgen.samplers.draws import bernoulli, binomial_fraction, categorical


@runtime_checkable
class BipartiteEnergy(Protocol):
    """The members Gibbs sweeps, the global spin flip, parallel tempering and AIS use.

    ``visible``: ``"bernoulli"`` ({0,1}), ``"spin"`` (±1), ``"gaussian"`` (ℝ, std ``sigma (n,)``) or
    ``"binomial"`` (grey levels k/N, ``levels`` = N) or ``"softmax"`` (one-hot groups of N + 1 units);
    ``beta``: ``1.0`` or a tensor broadcastable to ``v.shape[:-1] + (1,)``; ``base_a``: the base model's
    visible bias (None: untempered).
    """

    visible: str
    W: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor
    sigma: torch.Tensor | None
    beta: torch.Tensor | float
    base_a: torch.Tensor | None
    levels: int

    @property
    def n_visible(self) -> int: ...

    @property
    def untempered(self) -> bool:
        """``β = 1`` and no separate base bias."""
        ...

    def tempered(self, beta: torch.Tensor | float, base_a: torch.Tensor | None = None) -> "BipartiteEnergy":
        """The member ``p_β`` of the tempered family."""
        ...

    def hidden_logits(self, v: torch.Tensor) -> torch.Tensor:
        """``β (b + ṽW)``: ``(..., n) -> (..., m)``, ``ṽ = v`` (``v/σ²`` for Gaussian units)."""
        ...

    def scaled(self, v: torch.Tensor) -> torch.Tensor:
        """``ṽ``: ``v``, or ``v/σ²`` for Gaussian units."""
        ...

    def visible_term(self, v: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """The visible part ``U`` of ``F`` with bias ``a``: ``−aᵀv`` or ``Σ (v − a)²/(2σ²)``; ``(..., n) -> (...)``."""
        ...

    def sample_visible(self, h: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor: ...

    def gibbs_step(self, v: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor: ...

    def free_energy(self, v: torch.Tensor, hidden_logits: torch.Tensor | None = None) -> torch.Tensor: ...

    def flip_log_ratio(self, v: torch.Tensor) -> torch.Tensor:
        """``F_β(s) − F_β(−s)`` for spin units."""
        ...

    def random_visible(self, shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
        """Samples ``(*shape, n)`` of the independent base model."""
        ...

    def log_z_base(self) -> torch.Tensor:
        """Exact ``log Z`` of the β = 0 member."""
        ...

    def detach(self) -> "BipartiteEnergy": ...

    def to(self, dtype: torch.dtype) -> "BipartiteEnergy": ...


def sample_units(visible: str, field: torch.Tensor, sigma: torch.Tensor | None,
                 generator: torch.Generator | None, levels: int = 1) -> torch.Tensor:
    """Draw visible units given their field ``(..., n)``: Bernoulli ``σ(f)``, spin ``p(+1) = σ(2f)``,
    Gaussian ``N(f, σ²)``, binomial ``Binomial(N, σ(f))/N`` (``levels`` = N), softmax: one category of each
    consecutive group of N + 1 units drawn with probabilities ``softmax(f_group)`` (Gumbel-max), one-hot."""
    if visible == "softmax":
        pick = categorical(field.unflatten(-1, (-1, levels + 1)), generator)
        return torch.nn.functional.one_hot(pick, levels + 1).to(field.dtype).flatten(-2)
    if visible == "binomial":
        return binomial_fraction(levels, torch.sigmoid(field), generator)
    if visible == "gaussian":
        return field + sigma * torch.randn(field.shape, generator=generator, device=field.device, dtype=field.dtype)
    if visible == "bernoulli":
        return bernoulli(torch.sigmoid(field), generator)
    return bernoulli(torch.sigmoid(2 * field), generator).mul_(2).sub_(1)   # p(+1) = σ(2f)
