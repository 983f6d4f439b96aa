"""Annealed importance sampling of an RBM's log partition function (Neal 2001; Salakhutdinov & Murray 2008).

Forward: ``v_0 ~ p_0`` (the independent base model A, exact ``Z_A``); for ``k = 1..K``
``log w += F_{β_{k−1}}(v) − F_{β_k}(v)`` then one Gibbs sweep at ``β_k``.  ``E[w] = Z_B/Z_A``, so

``log Ẑ_B = log Z_A + log mean(w)``,  error (delta method) ``σ = std(w) / (mean(w) √N)``,

and ``log Z_A + mean(log w)`` is a stochastic *lower* bound (Jensen).  Reverse (Burda, Grosse &
Salakhutdinov 2015): starting from (approximate) model samples and annealing back to A,
``E[w_rev] = Z_A/Z_B`` and ``log Z_A − mean(log w_rev)`` is a stochastic *upper* bound when the start
samples are exact; together they bracket ``log Z``.  We start the reverse run from the forward run's
final states (approximate samples of p_B), which costs one more pass.

Both passes share one matrix product per half-sweep: the hidden pre-activation ``x = b + ṽW`` gives
``F_β(v) = (1−β) U_A(v) + β U(v) − Σ softplus(β x)`` for every β.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch.nn.functional import softplus

from physgen.errors import UserError
from physgen.samplers.energy import BipartiteEnergy, sample_units
from physgen.samplers.gibbs import flip_move


@dataclass
class AISResult:
    """``log_z ± log_z_error`` and the bracket ``[log_z_lower, log_z_upper]`` (upper/reverse when run)."""

    log_z: float
    log_z_error: float
    log_z_lower: float
    log_z_upper: float | None
    log_z_reverse: float | None
    n_chains: int
    n_betas: int

    def to_json(self) -> dict:
        return asdict(self)


def beta_schedule(n_betas: int = 10000, kind: str = "sm", *, device=None, dtype=torch.float64) -> torch.Tensor:
    """``(K+1,)`` schedule from 0 to 1.  ``"linear"``; ``"sigmoid"`` (denser at both ends);
    ``"sm"``: Salakhutdinov & Murray's piecewise-linear 0→0.5 (10%), 0.5→0.9 (40%), 0.9→1 (50%)."""
    if n_betas < 2:
        raise UserError(f"AIS: n_betas must be >= 2 (got {n_betas})")
    if kind == "linear":
        return torch.linspace(0, 1, n_betas + 1, device=device, dtype=dtype)
    if kind == "sigmoid":
        s = torch.sigmoid(torch.linspace(-6, 6, n_betas + 1, device=device, dtype=dtype))
        return (s - s[0]) / (s[-1] - s[0])
    if kind != "sm":
        raise UserError(f"AIS: unknown schedule {kind!r} (linear, sigmoid, sm)")
    n1, n2 = max(1, n_betas // 10), max(1, (n_betas * 4) // 10)
    n3 = n_betas - n1 - n2
    parts = [torch.linspace(0, 0.5, n1 + 1), torch.linspace(0.5, 0.9, n2 + 1)[1:], torch.linspace(0.9, 1, n3 + 1)[1:]]
    return torch.cat(parts).to(device=device, dtype=dtype)


class _Annealer:
    """Cached pieces of the tempered free energies for one state ``v`` ``(C, n)``."""

    def __init__(self, energy: BipartiteEnergy, base_a: torch.Tensor):
        self.e, self.base_a = energy, base_a

    def prepare(self, v: torch.Tensor) -> None:
        e = self.e
        self.v = v
        self.x = e.scaled(v) @ e.W + e.b                         # (C, m)
        self.u_a, self.u_b = e.visible_term(v, self.base_a), e.visible_term(v, e.a)

    def free_energy(self, beta: float) -> torch.Tensor:
        return (1 - beta) * self.u_a + beta * self.u_b - softplus(beta * self.x).sum(-1)

    def step(self, beta: float, generator, flip: bool) -> torch.Tensor:
        """One Gibbs sweep of ``p_β`` (and the spin-flip move): ``h ~ σ(βx)``, ``v ~ p(v | a_β + βWh)``."""
        e = self.e
        p = torch.sigmoid(beta * self.x)
        h = (torch.rand(p.shape, generator=generator, device=p.device, dtype=p.dtype) < p).to(p.dtype)
        field = torch.addmm((1 - beta) * self.base_a + beta * e.a, h, e.W.T, alpha=beta)
        v = sample_units(e.visible, field, e.sigma, generator, e.levels)
        if flip:
            v, _ = flip_move(e.tempered(beta, self.base_a), v, generator)
        self.prepare(v)
        return v


def _log_mean_exp(x: torch.Tensor) -> float:
    return float(torch.logsumexp(x, 0) - math.log(len(x)))


def _delta_error(log_w: torch.Tensor) -> float:
    r = torch.exp(log_w - log_w.max())
    return float(r.std() / (r.mean() * math.sqrt(len(r)))) if len(r) > 1 else float("inf")


def ais_log_z(energy: BipartiteEnergy, *, n_chains: int = 100, n_betas: int = 10000, schedule: str = "sm",
              betas: torch.Tensor | None = None, base_a: torch.Tensor | None = None,
              generator: torch.Generator | None = None, reverse: bool = True, flip: bool = False) -> AISResult:
    """AIS estimate of ``log Z`` of an untempered bipartite energy (e.g. an RBM; computed in float64).

    ``base_a``: visible bias of the base model (default the model's ``a``; Salakhutdinov & Murray use
    the data's base rates).  ``flip``: add the global spin-flip move (spin units).
    """
    if n_chains < 2:
        raise UserError(f"AIS: n_chains must be >= 2 (got {n_chains})")
    e = energy.detach().to(torch.float64)
    base = (e.a if base_a is None else base_a.detach().to(e.a)).clone()
    b = beta_schedule(n_betas, schedule, dtype=torch.float64) if betas is None else betas.to(torch.float64)
    b = [float(t) for t in b]
    log_z_a = float(e.tempered(0.0, base).log_z_base())
    with torch.no_grad():
        ann = _Annealer(e, base)
        ann.prepare(e.tempered(0.0, base).random_visible((n_chains,), generator))
        log_w = torch.zeros(n_chains, dtype=torch.float64, device=e.W.device)
        for k in range(1, len(b)):
            log_w += ann.free_energy(b[k - 1]) - ann.free_energy(b[k])
            if k < len(b) - 1:
                ann.step(b[k], generator, flip)
        ann.step(1.0, generator, flip)
        fwd = log_z_a + _log_mean_exp(log_w)
        res = AISResult(fwd, _delta_error(log_w), log_z_a + float(log_w.mean()), None, None, n_chains, len(b) - 1)
        if reverse:
            log_wr = torch.zeros_like(log_w)
            for k in range(len(b) - 1, 0, -1):
                log_wr += ann.free_energy(b[k]) - ann.free_energy(b[k - 1])
                ann.step(b[k - 1], generator, flip)
            res.log_z_reverse = log_z_a - _log_mean_exp(log_wr)
            res.log_z_upper = log_z_a - float(log_wr.mean())
    return res
