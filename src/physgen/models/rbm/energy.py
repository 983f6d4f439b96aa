"""Energy, free energy and conditionals of restricted Boltzmann machines (pure maths, no training).

Three visible-unit types share one bipartite energy with Bernoulli hidden units ``h ∈ {0,1}^m``
and weights ``W (n, m)``, visible bias ``a (n,)``, hidden bias ``b (m,)``:

``bernoulli``  ``v ∈ {0,1}^n``:  ``E(v,h) = −aᵀv − bᵀh − vᵀWh``
               ``p(h_j=1|v) = σ(b_j + vᵀW_{:j})``,  ``p(v_i=1|h) = σ(a_i + W_{i:}h)``
               ``F(v) = −aᵀv − Σ_j softplus(b_j + vᵀW_{:j})``           (Hinton 2002; Hinton 2012 guide)
``spin``       ``s ∈ {−1,+1}^n`` with the same energy; ``p(s_i=+1|h) = σ(2(a_i + W_{i:}h))``,
               the natural parametrisation for Ising configurations (Torlai & Melko 2016).
``gaussian``   ``v ∈ ℝ^n`` (Gaussian–Bernoulli RBM in the form of Cho, Ilin & Raiko 2011):
               ``E(v,h) = Σ_i (v_i−a_i)²/(2σ_i²) − bᵀh − Σ_ij (v_i/σ_i²) W_ij h_j``
               ``p(v_i|h) = N(a_i + W_{i:}h, σ_i²)``,  ``p(h_j=1|v) = σ(b_j + Σ_i v_i W_ij/σ_i²)``
               ``F(v) = Σ_i (v_i−a_i)²/(2σ_i²) − Σ_j softplus(b_j + Σ_i v_i W_ij/σ_i²)``.
``binomial``   grey levels ``v_i ∈ {0, 1/N, …, 1}`` counted as ``n_i = N v_i`` (N = ``levels``), each unit N
               Bernoulli units sharing their weights (Teh & Hinton 2001; Welling, Rosen-Zvi & Hinton 2005):
               ``E(v,h) = −aᵀn − bᵀh − nᵀWh − Σ_i log C(N, n_i)``
               ``p(n_i|h) = Binomial(N, σ(a_i + W_{i:}h))``,  ``p(h_j=1|v) = σ(b_j + nᵀW_{:j})``
               ``F(v) = −aᵀn − Σ_i log C(N, n_i) − Σ_j softplus(b_j + nᵀW_{:j})``.
``softmax``    grey levels as categories: each pixel is a group of N + 1 units of which exactly one is on
               (the K-ary units of Salakhutdinov, Mnih & Hinton 2007), with the Bernoulli energy on the
               one-hot vector; ``p(pixel i = k | h) = softmax_k(a_ik + W_{ik:}h)`` and
               ``F(u) = −aᵀu − Σ_j softplus(b_j + uᵀW_{:j})``.

Tempered family (for parallel tempering and AIS).  For an inverse temperature ``β ∈ [0, 1]`` and a
"base" visible bias ``a_A`` (the independent model A with ``W = 0``, ``b = 0``) the joint is
``p_β(v,h) ∝ exp(−(1−β) E_A(v) − β E(v,h))`` (Salakhutdinov & Murray 2008, eq. 11), which is again an
RBM with ``W_β = βW``, ``b_β = βb`` and visible bias ``a_β = (1−β)a_A + βa``; its marginal has

``F_β(v) = (1−β) U_A(v) + β U(v) − Σ_j softplus(β (b_j + ṽᵀW_{:j}))``

with ``U`` the visible term of ``F`` (``−aᵀv``, the binomial's ``−aᵀn − Σ log C(N, n)`` or the Gaussian
quadratic) and ``ṽ = v`` (``v/σ²`` for Gaussian units, ``n = N v`` for binomial ones).  ``β`` may be a
tensor broadcastable against ``v.shape[:-1] + (1,)`` so that all replicas of parallel tempering are updated
with one matrix product.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch.nn.functional import softplus

from physgen.models.nets import cpu_has_bf16_kernels
from physgen.samplers.draws import bernoulli
from physgen.samplers.energy import sample_units  # noqa: F401  (also part of this module's API)



@dataclass(frozen=True)
class RBMEnergy:
    """One RBM's parameters (a :class:`physgen.samplers.energy.BipartiteEnergy`) (possibly tempered).
    Tensors: ``W (n, m)``, ``a (n,)``, ``b (m,)``, ``sigma (n,)``.

    ``beta`` is ``1.0`` or a tensor broadcastable to ``x.shape[:-1] + (1,)``; ``base_a`` is the base
    model's visible bias (defaults to ``a``).  Gradients flow through every method.
    """

    visible: str
    W: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor
    sigma: torch.Tensor | None = None
    beta: torch.Tensor | float = 1.0
    base_a: torch.Tensor | None = None
    Wc: torch.Tensor | None = None   # W in the products' dtype (bfloat16), set by :meth:`fast`
    levels: int = 1                  # binomial and softmax units: N, the number of grey-level steps

    @property
    def n_visible(self) -> int:
        return self.W.shape[0]

    @property
    def n_hidden(self) -> int:
        return self.W.shape[1]

    def tempered(self, beta: torch.Tensor | float, base_a: torch.Tensor | None = None) -> "RBMEnergy":
        """The member ``p_β`` of the tempered family (see module docstring)."""
        return replace(self, beta=beta, base_a=self.a if base_a is None else base_a)

    def fast(self, out: torch.Tensor | None = None) -> "RBMEnergy":
        """This energy with a bfloat16 copy of ``W`` for its matrix products when float32 products run at
        ``"medium"`` precision (``train.matmul_precision``, docs/training.md) on a CPU with bfloat16 kernels;
        else ``self``.  "medium" already rounds the operands to bfloat16 inside oneDNN, but per product
        (W re-cast three times per update); casting once is cheaper (benchmarks/records/rbm.md).  Products then
        return bfloat16 (relative rounding 2⁻⁹), converted back to ``W``'s dtype before any bias is added.  For
        sampling and CD statistics only (no autograd through ``Wc``).  ``out``: a bfloat16 tensor shaped like
        ``W`` to cast into (a trainer's per-update copy, reused)."""
        if not bf16_products(self.W):
            return self
        Wc = self.W.detach().to(torch.bfloat16) if out is None else out.copy_(self.W.detach())
        return replace(self, Wc=Wc)

    def operands(self, v: torch.Tensor) -> torch.Tensor | None:
        """Binary/spin rows ``v (..., n)`` as the operand of this energy's products (bfloat16 after
        :meth:`fast`, else ``v`` itself), to cast once for :meth:`hidden_logits` and :meth:`outer`; None for
        Gaussian and binomial units (their products take ``ṽ``)."""
        if self.visible in ("gaussian", "binomial"):
            return None
        return v if self.Wc is None else v.to(self.Wc.dtype)

    def _mm(self, x: torch.Tensor, transpose: bool, bias: torch.Tensor | None = None) -> torch.Tensor:
        """``x @ W`` (or ``x @ Wᵀ``) in the products' dtype, plus ``bias`` if given, returned in W's dtype
        (a bfloat16 product and the bias meet in one addition, which promotes exactly to W's dtype)."""
        W = self.W if self.Wc is None else self.Wc
        W = W.mT if transpose else W
        if self.Wc is None:
            if bias is None:
                return x @ W
            return torch.addmm(bias, x, W) if x.dim() == 2 else x @ W + bias
        out = x.to(W.dtype) @ W
        return out.to(self.W.dtype) if bias is None else torch.add(bias, out)

    def outer(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """``leftᵀ right``: ``(B, n), (B, m) -> (n, m)`` — the CD statistics ``Σ_b ṽ_b p_bᵀ`` — in the
        products' dtype, returned in W's dtype."""
        if self.Wc is None:
            return left.mT @ right
        return (left.to(self.Wc.dtype).mT @ right.to(self.Wc.dtype)).to(self.W.dtype)

    @property
    def untempered(self) -> bool:
        """``β = 1`` and no separate base bias: the plain RBM (not a member of the tempered family)."""
        return self.base_a is None and isinstance(self.beta, float) and self.beta == 1.0

    def _ba(self) -> torch.Tensor:
        return self.a if self.base_a is None else self.base_a

    def scaled(self, v: torch.Tensor) -> torch.Tensor:
        """``ṽ``: ``v``, ``v/σ²`` for Gaussian units, the counts ``N v`` for binomial ones."""
        if self.visible == "binomial":
            return v * self.levels
        return v / self.sigma ** 2 if self.visible == "gaussian" else v

    # --- conditionals -----------------------------------------------------------------------
    def hidden_logits(self, v: torch.Tensor) -> torch.Tensor:
        """``β (b + ṽW)``: ``(..., n) -> (..., m)`` (logits of ``p(h=1|v)``)."""
        z = self._mm(self.scaled(v), False, self.b)
        return z if isinstance(self.beta, float) and self.beta == 1.0 else self.beta * z

    def visible_field(self, h: torch.Tensor) -> torch.Tensor:
        """``a_β + β W h``: ``(..., m) -> (..., n)``: the logit (Bernoulli, binomial), half-logit (spin) or mean
        (Gaussian)."""
        beta = self.beta
        a = self.a if self.base_a is None else (1 - beta) * self.base_a + beta * self.a
        if isinstance(beta, float) and beta == 1.0:
            return self._mm(h, True, a)
        return a + beta * self._mm(h, True)

    def sample_hidden(self, v: torch.Tensor, generator: torch.Generator | None,
                      hidden_logits: torch.Tensor | None = None) -> torch.Tensor:
        return bernoulli(torch.sigmoid(self.hidden_logits(v) if hidden_logits is None else hidden_logits), generator)

    def visible_mean(self, h: torch.Tensor) -> torch.Tensor:
        """``E[v | h]``: ``(..., m) -> (..., n)``."""
        f = self.visible_field(h)
        if self.visible in ("bernoulli", "binomial"):
            return torch.sigmoid(f)
        if self.visible == "softmax":
            return f.unflatten(-1, (-1, self.levels + 1)).softmax(-1).flatten(-2)
        if self.visible == "spin":
            return torch.tanh(f)
        return f

    def sample_visible(self, h: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return sample_units(self.visible, self.visible_field(h), self.sigma, generator, self.levels)

    def gibbs_step(self, v: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """One block-Gibbs sweep ``v -> h ~ p(h|v) -> v' ~ p(v|h)``."""
        return self.sample_visible(self.sample_hidden(v, generator), generator)

    # --- energies --------------------------------------------------------------------------
    def visible_term(self, v: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """The visible part of ``F`` with bias ``a``: ``−aᵀv``, ``−aᵀn − Σ log C(N, n)`` (binomial) or
        ``Σ (v − a)²/(2σ²)``; ``(..., n) -> (...)``."""
        if self.visible == "gaussian":
            return (((v - a) / self.sigma) ** 2).sum(-1) / 2
        if self.visible == "binomial":
            n, N = v * self.levels, float(self.levels)
            log_c = math.lgamma(N + 1) - torch.lgamma(n + 1) - torch.lgamma(N - n + 1)
            return -(n * a + log_c).sum(-1)
        return -(v * a).sum(-1)

    def free_energy(self, v: torch.Tensor, hidden_logits: torch.Tensor | None = None) -> torch.Tensor:
        """``F_β(v) = −log Σ_h exp(−E_β(v, h))``: ``(..., n) -> (...)`` (pass ``hidden_logits(v)`` to reuse it)."""
        u = self.visible_term(v, self.a)
        if not self.untempered:
            beta = self.beta if isinstance(self.beta, float) else self.beta.squeeze(-1)
            u = (1 - beta) * self.visible_term(v, self._ba()) + beta * u
        x = self.hidden_logits(v) if hidden_logits is None else hidden_logits
        return u - softplus(x).sum(-1)

    def energy(self, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Joint energy ``E(v, h)`` (untempered): ``(..., n), (..., m) -> (...)``."""
        return self.visible_term(v, self.a) - (h * self.b).sum(-1) - ((self.scaled(v) @ self.W) * h).sum(-1)

    def log_z_base(self) -> torch.Tensor:
        """``log Z`` of the β = 0 member: ``m log 2 + Σ_i log Σ_{v_i} exp(a_A,i v_i)`` (exact, scalar)."""
        a = self._ba()
        if self.visible == "bernoulli":
            vis = softplus(a).sum()
        elif self.visible == "binomial":
            vis = self.levels * softplus(a).sum()   # Σ_n C(N, n) e^{a n} = (1 + e^a)^N
        elif self.visible == "softmax":
            vis = torch.logsumexp(a.unflatten(-1, (-1, self.levels + 1)), -1).sum()
        elif self.visible == "spin":
            vis = (a.abs() + torch.log1p(torch.exp(-2 * a.abs()))).sum()  # log 2cosh a
        else:
            vis = (torch.log(self.sigma) + 0.5 * math.log(2 * math.pi)).sum()
        return vis + self.n_hidden * math.log(2.0)

    def flip_log_ratio(self, v: torch.Tensor) -> torch.Tensor:
        """``log p_β(−s) − log p_β(s) = F_β(s) − F_β(−s)`` for spin units: ``(..., n) -> (...)``."""
        return self.free_energy(v) - self.free_energy(-v)

    def random_visible(self, shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
        """Samples of the independent base model ``(..., n)`` (a chain initialisation)."""
        a = self._ba().detach()
        field = torch.zeros(*shape, self.n_visible, device=a.device, dtype=a.dtype) + a
        return sample_units(self.visible, field, None if self.sigma is None else self.sigma.detach(), generator,
                            self.levels)

    def detach(self) -> "RBMEnergy":
        d = lambda t: t.detach() if isinstance(t, torch.Tensor) else t  # noqa: E731
        return RBMEnergy(self.visible, d(self.W), d(self.a), d(self.b), d(self.sigma), d(self.beta), d(self.base_a),
                         self.Wc, self.levels)

    def to(self, dtype: torch.dtype) -> "RBMEnergy":
        c = lambda t: t.to(dtype) if isinstance(t, torch.Tensor) else t  # noqa: E731
        return RBMEnergy(self.visible, c(self.W), c(self.a), c(self.b), c(self.sigma), c(self.beta), c(self.base_a),
                         levels=self.levels)


def bf16_products(W: torch.Tensor) -> bool:
    """bfloat16 operands for float32 CPU products at "medium" precision, where oneDNN has bf16 kernels."""
    return (W.dtype == torch.float32 and W.device.type == "cpu"
            and torch.get_float32_matmul_precision() == "medium" and cpu_has_bf16_kernels())
