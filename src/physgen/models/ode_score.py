"""``log_prob(x, method="ode")`` of ``ddpm``, ``score-sde`` and ``flow-matching`` on continuous data: the
log-likelihood through the family's probability-flow ODE (``physgen score RUN --method ode``).

Each family gives its flow, ``probability_flow(eps_net, steps)`` (:mod:`physgen.samplers.probability_flow`);
:func:`ode_log_prob` runs it with :func:`physgen.samplers.ode_likelihood.log_likelihood` on a float64 copy of
the denoiser, in chunks, with the run's condition and without guidance (the density is the conditional
model's).  The values are log-densities in the model's space (after the run's ``data.transform``);
:meth:`physgen.training.run.Run.log_prob` adds the transform's log-Jacobian, as for every family.

The estimate carries the ODE's discretisation (RK4, :data:`~physgen.samplers.probability_flow.DEFAULT_STEPS`
steps by default) and the prior's mismatch with the true end marginal; with Hutchinson's divergence (D > 16,
or ``k`` probes asked for) the attribute ``log_prob_error`` ``(N,)`` is each value's standard error from the
probes, and ``mean_log_prob_error`` that of the mean.

References: Y. Song et al., ICLR 2021 (eq. 13); R. T. Q. Chen et al., NeurIPS 2018; W. Grathwohl et al., ICLR
2019; M. F. Hutchinson, Commun. Stat. Simul. Comput. 19 (1990) 433.
"""
from __future__ import annotations

import copy
import math
from typing import Any

import torch

from physgen.errors import UserError

ODE_FAMILIES = ("ddpm", "score-sde", "flow-matching")
ODE_KINDS = ("continuous",)


def check_ode(name: str, kind: str) -> None:
    """UserError (key ``method``) unless ``name`` is one of :data:`ODE_FAMILIES` and ``kind`` continuous."""
    if name not in ODE_FAMILIES or kind not in ODE_KINDS:
        raise UserError(f"the probability-flow ODE scores {' and '.join(ODE_KINDS)} data under "
                        f"{', '.join(ODE_FAMILIES)} runs (this run: {name} on {kind} data)", key="method", value="ode")


def float64_denoiser(denoiser: torch.nn.Module) -> torch.nn.Module:
    """A float64 copy of a diffusion :class:`~physgen.models.diffusion.Denoiser` without gradients for its
    weights; its time features (computed in float32) are cast to float64 before its first linear layer."""
    den = copy.deepcopy(denoiser).double().requires_grad_(False).eval()
    den.time[0].register_forward_hook(lambda module, args, out: out.double())
    return den


def ode_log_prob(model, x: torch.Tensor, *, method: str, generator: torch.Generator | None, k: int | None,
                 cond: torch.Tensor | None, labels: torch.Tensor | None, steps: int | None, chunk: int
                 ) -> tuple[torch.Tensor, dict[str, Any]]:
    """``(N,)`` float64 log-likelihoods of ``x (N, *shape)`` (model space) under ``model`` and the attributes
    (``divergence`` exact | hutchinson, ``probes``, ``steps``, ``log_prob_error`` ``(N,)``,
    ``mean_log_prob_error``)."""
    from physgen.samplers.ode_likelihood import log_likelihood, probes_for
    from physgen.samplers.probability_flow import DEFAULT_STEPS

    if method != "ode":
        raise UserError(f"model {model.name!r} scores by the probability-flow ODE: method ode", key="method",
                        value=method)
    check_ode(model.name, model.spec.kind)
    steps = DEFAULT_STEPS if steps is None else int(steps)
    if steps < 1:
        raise UserError("must be >= 1", key="steps", value=steps)
    shape = tuple(model.spec.shape)
    d = math.prod(shape)
    probes = probes_for(d, k)
    den = float64_denoiser(model.denoiser)

    def net(y: torch.Tensor, t: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        return den(y.view(len(y), *shape), t, c).flatten(1)

    flow = model.probability_flow(net, steps)
    rows = max(1, int(chunk) // (probes or d))
    values, errors = [], []
    for s in range(0, len(x), rows):
        xs = model.to_model_space(x[s:s + rows]).double().flatten(1)
        c = None
        if model.cond.active:
            with torch.no_grad():
                c = model.cond(None if cond is None else cond[s:s + rows],
                               None if labels is None else labels[s:s + rows]).double()
        lp, err = log_likelihood(flow, xs, probes=probes, generator=generator, context=c)
        values.append(lp)
        errors.append(err)
    lp, err = torch.cat(values), torch.cat(errors)
    attrs: dict[str, Any] = {"method": "ode", "divergence": "exact" if probes is None else "hutchinson",
                             "probes": 0 if probes is None else probes, "steps": steps, "integrator": "rk4",
                             "log_prob_error": err.cpu(),
                             "mean_log_prob_error": float(err.pow(2).sum().sqrt()) / len(err)}
    return lp, attrs
