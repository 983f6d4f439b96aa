"""One MADE per training temperature, joined linearly in the temperature: the ``van``'s ``model.experts``.

A single autoregressive network conditioned on the temperature shares its hidden units between temperatures,
and what it learns at one pulls its law at the others. With K training temperatures at the mapped condition
values κ_1 < … < κ_K (the knots) the run instead holds K networks, and the logits at condition c are::

    ℓ_i(s_<i, c) = Σ_k w_k(c) ℓ_i^{(k)}(s_<i, c),

with w(c) the piecewise-linear interpolation weights of c between its two neighbouring knots (w_k(κ_k) = 1;
below κ_1 and above κ_K the nearest network alone). Every conditional stays a Bernoulli law, so q is exactly
normalised and sampled site by site as before; at a training temperature it is that temperature's network
alone, which trains on its own lattices only. Between knots the logits, not the laws, are interpolated: for
a Boltzmann law the logits of the conditionals scale with β, and the mixture of two laws would widen the
energy distribution instead. The mixture-of-experts form follows Jacobs, Jordan, Nowlan & Hinton, *Adaptive
mixtures of local experts*, Neural Computation 3, 79 (1991), with fixed gates.

Shapes: spins ``(B, D)`` ±1, condition ``(B, C)`` (the gates read its first column), logits ``(B, D)``.
"""
from __future__ import annotations

import torch
from torch import nn

from physgen.models.made import MADE, log_sigmoid_sum, logistic_thresholds

#: the most distinct training temperatures that ``model.experts = auto`` gives a network each
MAX_EXPERTS = 8


def expert_values(spec, objective: str = "likelihood", arch: str = "made") -> list[float]:
    """The distinct training values of the condition that one network each can model, increasing; [] where the
    run cannot have such networks: other than likelihood training of one MADE on spin or binary lattices
    conditioned on one continuous condition."""
    if (objective != "likelihood" or arch != "made" or spec.kind not in ("spins", "binary")
            or len(spec.condition_names) != 1 or spec.n_labels):
        return []
    return sorted(set(float(v) for v in spec.condition_values.get(spec.condition_names[0], ())))


def experts_for(spec, objective: str = "likelihood", arch: str = "made") -> int:
    """How many networks ``model.experts = auto`` gives a run on data like ``spec``: one per training
    temperature for 2 to :data:`MAX_EXPERTS` of them, else 0 (the single network)."""
    k = len(expert_values(spec, objective, arch))
    return k if 2 <= k <= MAX_EXPERTS else 0


class TemperatureExperts(nn.Module):
    """K MADEs ``nets`` with the increasing mapped condition values ``knots (K,)`` they are trained at (module
    docstring); the interface of :class:`~physgen.models.made.MADE` for ±1 spins without context."""

    def __init__(self, nets: list[MADE], knots: torch.Tensor):
        super().__init__()
        if len(nets) != len(knots) or not bool((knots[1:] > knots[:-1]).all()):
            raise ValueError("one network per knot, the knots increasing")
        self.nets = nn.ModuleList(nets)
        self.d = nets[0].d
        self.register_buffer("knots", knots.detach().clone(), persistent=False)

    def weights(self, c: torch.Tensor) -> torch.Tensor:
        """Gates ``(B, K)``: the linear interpolation weights of ``c[:, 0]`` between its neighbouring knots (the
        nearest knot alone outside their range; weights within 10⁻⁶ of 0 or 1 rounded to them)."""
        t, knots = c[:, 0].to(self.knots.dtype).contiguous(), self.knots
        w = torch.zeros(len(t), len(knots), dtype=c.dtype, device=c.device)
        if len(knots) == 1:
            return w + 1
        hi = torch.bucketize(t, knots).clamp(1, len(knots) - 1)
        lo = hi - 1
        frac = ((t - knots[lo]) / (knots[hi] - knots[lo])).clamp(0, 1)
        frac = torch.where(frac < 1e-6, 0.0, torch.where(frac > 1 - 1e-6, 1.0, frac)).to(c.dtype)
        w.scatter_add_(1, lo[:, None], (1 - frac)[:, None])
        return w.scatter_add_(1, hi[:, None], frac[:, None])

    def _active(self, w: torch.Tensor):
        """(network, its rows, their weights) of every network with a non-zero gate on some row."""
        for k, net in enumerate(self.nets):
            rows = torch.nonzero(w[:, k] > 0).squeeze(1)
            if rows.numel():
                yield net, rows, w[rows, k]

    def forward(self, s: torch.Tensor, c: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced logits ``(B, D)`` of spins ``s (B, D)``: each network runs on the rows it gates."""
        out = torch.zeros(len(s), self.d, dtype=s.dtype, device=s.device)
        for net, rows, wk in self._active(self.weights(c)):
            out = out.index_add(0, rows, wk[:, None] * net(s[rows], c[rows]))
        return out

    def log_prob(self, s: torch.Tensor, c: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """log q₀(s | c) = Σ_i log σ(s_i ℓ_i) ``(B,)`` float64."""
        return log_sigmoid_sum(s, self(s, c))

    @torch.no_grad()
    def sample(self, n: int, c: torch.Tensor, generator: torch.Generator | None, like: torch.Tensor,
               x: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` ancestral draws ``(n, D)`` ±1: at each site the gated networks' logits are summed, the spin drawn
        and handed back to each network (:meth:`MADE.start <physgen.models.made.MADE.start>`)."""
        threshold = logistic_thresholds(n, self.d, generator, like)
        up, down = (torch.tensor(v, dtype=like.dtype, device=like.device) for v in (1.0, -1.0))
        parts = [(net, rows, wk.to(like.dtype), net.start(len(rows), c[rows], like))
                 for net, rows, wk in self._active(self.weights(c))]
        s = torch.zeros(n, self.d, dtype=like.dtype, device=like.device)
        for i in range(self.d):
            logit = torch.zeros(n, dtype=like.dtype, device=like.device)
            for net, rows, wk, state in parts:
                logit.index_add_(0, rows, wk * net.logit(state, i))
            spin = torch.where(logit > threshold[:, i], up, down)
            s[:, i] = spin
            for net, rows, _, state in parts:
                net.push(state, i, spin[rows])
        return s
