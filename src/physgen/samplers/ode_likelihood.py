"""Log-likelihoods through an ODE: the instantaneous change of variables, integrated with RK4, with the exact
divergence or Hutchinson's estimate of it.

A model whose samples come from an ODE gives a flow dy/ds = f(y, s) that carries a data point y(s_0) = x to
y(s_1) at a prior with a closed-form density p_1 (diffusion's probability-flow ODE, flow matching's velocity
field; :mod:`physgen.samplers.probability_flow`).  Along the path d log p_s(y(s))/ds = −∇·f(y(s), s), so

    log p_0(x) = log p_1(y(s_1)) + ∫_{s_0}^{s_1} ∇·f(y(s), s) ds

(Chen et al., *Neural ordinary differential equations*, NeurIPS 2018, Thm. 1; Grathwohl et al., *FFJORD*,
ICLR 2019, eq. 4).  :func:`log_likelihood` integrates y and the integral together with the classical RK4 step
between consecutive knots s_0 < s_1 < … of the flow (the flow chooses the grid; fourth order where f is smooth),
in the dtype of ``x`` (float64 from :mod:`physgen.models.ode_score`).

The divergence at each RK4 stage is pᵀ (∂f/∂y) p summed over the D unit vectors p = e_i (exact: D
vector-Jacobian products, one backward pass over D copies of the batch) or averaged over K Rademacher probes
(Hutchinson, *A stochastic estimator of the trace of the influence matrix for Laplacian smoothing splines*,
Commun. Stat. Simul. Comput. 19, 1990): E[pᵀ A p] = tr A for p with independent ±1 entries.  Each probe is kept
along the whole path (as FFJORD does), so the K per-probe integrals I_k are independent unbiased estimates of the
integral given the path, and the estimate's standard error per sample is std_k(I_k)/√K.  The default is exact
for D ≤ :data:`EXACT_MAX_DIM`, else :data:`DEFAULT_PROBES` probes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from physgen.errors import UserError

EXACT_MAX_DIM = 16      # the divergence is exact (D backward passes) up to this dimension, else Hutchinson's
DEFAULT_PROBES = 16     # Hutchinson probes by default (its standard error needs at least 2)
#: ``field(y (R, D), s, context (R, ...) or None) -> dy/ds (R, D)``
Field = Callable[[torch.Tensor, float, "torch.Tensor | None"], torch.Tensor]


@dataclass
class ProbabilityFlow:
    """dy/ds = ``field(y, s, context)`` on the grid ``knots`` (data at ``knots[0]``, the prior at ``knots[-1]``;
    one RK4 step between consecutive knots) and the prior's ``prior_log_prob(y (B, D)) -> (B,)``."""

    field: Field
    knots: Sequence[float]
    prior_log_prob: Callable[[torch.Tensor], torch.Tensor]


def gaussian_log_prob(y: torch.Tensor, std: float = 1.0) -> torch.Tensor:
    """log N(y; 0, std² I) of ``y (B, D)`` -> ``(B,)``."""
    d = y.shape[1]
    return -0.5 * (y / std).pow(2).sum(1) - d * (math.log(std) + 0.5 * math.log(2 * math.pi))


def probes_for(d: int, k: int | None) -> int | None:
    """The Hutchinson probes for dimension ``d``: ``k`` when given (>= 2), else None (exact) for d <=
    :data:`EXACT_MAX_DIM`, else :data:`DEFAULT_PROBES`."""
    if k is None:
        return None if d <= EXACT_MAX_DIM else DEFAULT_PROBES
    if int(k) < 2:
        raise UserError("Hutchinson's estimator needs at least 2 probes for its standard error", key="k", value=k)
    return int(k)


def log_likelihood(flow: ProbabilityFlow, x: torch.Tensor, *, probes: int | None = None,
                   generator: torch.Generator | None = None, context: torch.Tensor | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(log p_0(x) (B,), standard error (B,))`` for ``x (B, D)``: exact divergences when ``probes`` is None
    (error 0), else Hutchinson's with ``probes`` Rademacher vectors per sample drawn from ``generator``.
    ``context (B, ...)`` (e.g. a condition) goes with each row of ``y`` to the field."""
    from physgen.randomness import rand

    b, d = x.shape
    k = d if probes is None else int(probes)
    if probes is None:
        p = torch.eye(d, dtype=x.dtype, device=x.device).expand(b, d, d)
    else:
        p = torch.where(rand((b, k, d), generator, x.device, x.dtype) < 0.5, -1.0, 1.0).to(x.dtype)
    p = p.reshape(b * k, d)
    ctx = None if context is None else context.repeat_interleave(k, 0)

    def stage(y: torch.Tensor, s: float) -> tuple[torch.Tensor, torch.Tensor]:
        """dy/ds ``(B, D)`` and pᵀ (∂f/∂y) p ``(B, K)`` at ``(y, s)``."""
        rows = y.detach().repeat_interleave(k, 0).requires_grad_(True)
        with torch.enable_grad():
            f = flow.field(rows, s, ctx)
            (vjp,) = torch.autograd.grad(f, rows, grad_outputs=p)
        return f.detach().view(b, k, d)[:, 0], (vjp * p).sum(1).view(b, k)

    y = x
    integral = torch.zeros(b, k, dtype=x.dtype, device=x.device)
    knots = [float(s) for s in flow.knots]
    for s, s_next in zip(knots[:-1], knots[1:]):
        h = s_next - s
        k1, q1 = stage(y, s)
        k2, q2 = stage(y + 0.5 * h * k1, s + 0.5 * h)
        k3, q3 = stage(y + 0.5 * h * k2, s + 0.5 * h)
        k4, q4 = stage(y + h * k3, s_next)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        integral = integral + h / 6 * (q1 + 2 * q2 + 2 * q3 + q4)
    prior = flow.prior_log_prob(y)
    if probes is None:
        return prior + integral.sum(1), torch.zeros_like(prior)
    return prior + integral.mean(1), integral.std(1) / math.sqrt(k)
