"""Likelihoods of an :class:`~physgen.models.rbm.model.RBM`: exact or AIS ``log p``, pseudo-likelihood, monitors.

* :func:`log_prob`: ``log p(x) = −F(x) − log Z`` ``(N,)`` in float64, per condition value with that value's
  RBM; ``log Z`` by enumerating the smaller layer (:func:`physgen.models.rbm.partition.exact_log_z`) or by
  annealed importance sampling (:func:`physgen.samplers.ais.ais_log_z`, Salakhutdinov & Murray 2008).
* :func:`pseudo_log_likelihood`: the stochastic estimate ``n · log σ(F(ṽ) − F(v))`` ``(N,)`` of binary or
  spin rows (Besag 1975).
* :func:`monitor`: the training's monitors of one group — reconstruction error, pseudo-likelihood and,
  for models small enough to enumerate, the exact mean log-likelihood.

Functions take the model (or its :class:`RBMEnergy`) as an argument; the ``RBM`` methods delegate here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch.nn.functional import logsigmoid

from physgen.errors import UserError
from physgen.models.rbm import checks, partition
from physgen.models.rbm.energy import RBMEnergy
from physgen.samplers import ais as ais_mod

if TYPE_CHECKING:
    from physgen.models.rbm.model import RBM


def log_prob(model: RBM, x: torch.Tensor, *, method: str = "exact", generator: torch.Generator | None = None,
             cond: torch.Tensor | None = None, n_chains: int = 100, n_betas: int = 5000,
             schedule: str = "sm", **options: Any) -> tuple[torch.Tensor, dict[str, Any]]:
    """``log p(x) = −F(x) − log Z`` ``(N,)`` of rows ``x (N, ...)`` with ``log Z`` exact (``method="exact"``)
    or by AIS (``method="ais"``, ``n_chains`` × ``n_betas``, ``schedule``); attrs hold ``log_z``,
    ``log_z_error`` (lists when conditioned, one per condition value) and the AIS bracket."""
    if method not in ("exact", "ais"):
        raise UserError(f"method={method}: the rbm supports exact and ais")
    x = x.reshape(len(x), -1).to(model.W)
    checks.check_values(x, model.visible, model.spec.kind, model.levels)
    batch = {"x": x} if cond is None else {"x": x, "cond": cond.to(model.W)}
    idx = torch.zeros(len(x), dtype=torch.long) if not model.cond_values else checks.batch_index(
        model.spec, model.cond_values, batch).cpu()
    out = torch.empty(len(x), dtype=torch.float64)
    infos = []
    for k in sorted(set(idx.tolist())):
        e = model.energy(k).detach().to(torch.float64)
        info = log_z(e, method, generator, n_chains, n_betas, schedule, flip=model.flip)
        sel = idx == k
        out[sel] = (-e.free_energy(model.encode(x[sel.to(x.device)]).double()) - info["log_z"]).cpu()
        infos.append(info)
    attrs = infos[0] if len(infos) == 1 else {key: [i[key] for i in infos] for key in infos[0]}
    return out, attrs


def log_z(e: RBMEnergy, method: str, generator: torch.Generator | None, n_chains: int, n_betas: int, schedule: str,
          *, flip: bool) -> dict:
    """``{"log_z", "log_z_error", "method", ...}`` of ``e``: exact enumeration (error 0), or AIS with its
    bracket (``flip``: the AIS chains' global spin flip)."""
    if method == "exact":
        return {"log_z": float(partition.exact_log_z(e)), "log_z_error": 0.0, "method": "exact"}
    r = ais_mod.ais_log_z(e, n_chains=n_chains, n_betas=n_betas, schedule=schedule,
                          generator=generator, flip=flip)
    return {**r.to_json(), "method": "ais"}


@torch.no_grad()
def pseudo_log_likelihood(e: RBMEnergy, v: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Stochastic pseudo-log-likelihood ``(N,)``: ``n · log σ(F(ṽ) − F(v))`` with ``ṽ`` = ``v`` with one
    uniformly chosen unit flipped (Besag 1975; the estimator of scikit-learn's ``BernoulliRBM.score_samples``)."""
    n = v.shape[-1]
    i = torch.randint(n, (len(v),), generator=generator, device=v.device)
    flipped = v.clone()
    rows = torch.arange(len(v), device=v.device)
    flipped[rows, i] = (1 - v[rows, i]) if e.visible == "bernoulli" else -v[rows, i]
    return n * logsigmoid(e.free_energy(flipped) - e.free_energy(v))


@torch.no_grad()
def monitor(model: RBM, e: RBMEnergy, v: torch.Tensor, generator: torch.Generator, prefix: str = "") -> dict[str, float]:
    """Reconstruction error, pseudo-likelihood (binary/spin) and exact mean log-likelihood (small models) of
    rows ``v (B, n)`` under ``e``, keyed ``prefix + name``."""
    recon = e.visible_mean(torch.sigmoid(e.hidden_logits(v)))
    out = {prefix + "recon_error": float(((v - recon) ** 2).sum(-1).mean())}
    if model.enumerable:
        out[prefix + "pseudo_likelihood"] = float(pseudo_log_likelihood(e, v, generator).mean())
    if min(e.n_hidden, e.n_visible if model.enumerable else 99) <= 16:
        e64 = e.to(torch.float64)
        out[prefix + "exact_log_likelihood"] = float(-e64.free_energy(v.double()).mean()
                                                     - partition.exact_log_z(e64))
    return out
