"""Sampling an :class:`~physgen.models.rbm.model.RBM`: block Gibbs or parallel tempering, and Boltzmann proposals.

* :func:`sample`: ``(n, *spec.shape)`` samples of the RBM of one condition value by block Gibbs
  ``v → h → v′`` (:func:`physgen.samplers.gibbs.gibbs_sample`; with the global spin flip ``s → −s`` on spins)
  or parallel tempering (Desjardins et al. 2010; :func:`physgen.samplers.tempering.pt_sample`), from the
  persistent training chains, random rows or given rows (:func:`init_rows`).  Binary units on grey images
  return the mean ``E[v | h]`` of a last half-sweep.
* :func:`proposal`: the block-Gibbs kernel as a proposal for exact Boltzmann sampling
  (:mod:`physgen.samplers.boltzmann`): one sweep is reversible with respect to the marginal
  ``q(v) ∝ e^{−F(v)}``, so ``log q = −F(v)`` (float64).

Functions take the model as an argument; the ``RBM`` methods delegate here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from physgen.errors import UserError
from physgen.models.rbm import checks
from physgen.samplers.boltzmann import Proposal
from physgen.samplers import registry as samplers
from physgen.samplers.gibbs import gibbs_steps
from physgen.samplers.tempering import default_betas

if TYPE_CHECKING:
    from physgen.models.rbm.model import RBM


@torch.no_grad()
def sample(model: RBM, n: int, *, generator: torch.Generator, condition: dict[str, float] | None = None,
           burn_in: int | None = None, thin: int | None = None, init: Any = "persistent",
           chains: int | None = None, sampler: str | None = None, steps: int | None = None,
           flip: bool | None = None) -> torch.Tensor:
    """``(n, *spec.shape)`` samples by block Gibbs (or PT for ``sampler="pt"``/method pt; the ``bipartite``
    samplers of :mod:`physgen.samplers.markov`).

    ``burn_in`` (alias ``steps``) sweeps, then one sample per chain every ``thin`` sweeps;
    ``init``: ``"persistent"`` (the training chains when present, else random), ``"random"``,
    or a tensor of starting rows (e.g. data).  Grey images return E[v | h] after the last sweep.
    """
    k = model.condition_index(condition)
    e = model.energy(k).detach()
    c = model.config
    run = samplers.get(model.sampler_field, sampler or ("pt" if c.method == "pt" else "gibbs"), family=model.name)
    options = {key: v for key, v in (("burn_in", burn_in), ("thin", thin)) if v is not None}
    betas = model.betas if len(model.betas) > 1 else default_betas(c.n_temperatures, c.beta_min)
    problem = samplers.Problem(e, (n, e.W.shape[-2]), generator, model.W.device, samplers.configure(run, c, options),
                               schedule=betas, x0=init_rows(model, k, init), chains=chains,
                               symmetric=model.flip if flip is None else flip)
    x = run.run(problem, steps if burn_in is None else None)   # burn_in wins over its alias steps
    x = model.decode(x)
    if model.visible == "bernoulli" and model.spec.kind == "image":   # grey levels: the mean E[v | h] of a
        # last half-sweep, not binary draws (binomial and softmax units draw grey levels themselves)
        x = e.visible_mean(e.sample_hidden(x.to(model.W), generator)).to(x.dtype)
    return x.reshape(n, *model.spec.shape)


def init_rows(model: RBM, k: int, init: Any) -> torch.Tensor | None:
    """Starting visible rows of group ``k``'s chains ``(C, n)``: the persistent chains (``"persistent"``, once
    started), None (random start) or the encoded rows of the tensor ``init``."""
    if isinstance(init, str):
        if init not in ("persistent", "random"):
            raise UserError(f"sample init {init!r}: use 'persistent', 'random' or a tensor of rows")
        have = init == "persistent" and model.ready[k] and model.chains.shape[-2] > 0
        return model.chains[k].reshape(-1, model.chains.shape[-1]) if have else None
    return None if init is None else model.encode(torch.as_tensor(init).reshape(len(init), -1).to(model.W))


def proposal(model: RBM, condition: dict[str, float] | None = None) -> Proposal:
    """The block-Gibbs kernel of the RBM trained nearest to ``condition``, as a proposal for exact Boltzmann
    sampling (:mod:`physgen.samplers.boltzmann`): one sweep ``v → h → v′`` is reversible with respect to
    the marginal q(v) ∝ e^{−F(v)}, whose ``log q = −F(v)`` it reports (spin and q-state lattices; q states enter
    as their one-hot softmax units, :meth:`~physgen.models.rbm.model.RBM.encode`)."""
    if model.spec.kind not in ("spins", "categorical"):
        raise UserError(f"the rbm proposes Boltzmann moves on spin or q-state lattices, not {model.spec.kind} data")
    k, cond = 0, None
    if model.cond_values:
        want = float(next(iter(condition.values()))) if condition else float("nan")
        k = min(range(len(model.cond_values)), key=lambda i: abs(model.cond_values[i] - want)) if want == want else 0
        cond = {checks.condition_key(model.spec): model.cond_values[k]}
    e = model.energy(k).detach()
    e64, shape = e.to(torch.float64), model.spec.shape

    def log_q(x: torch.Tensor) -> torch.Tensor:
        return -e64.free_energy(model.encode(x.reshape(len(x), -1)).double())

    def draw(n: int, generator: torch.Generator):
        v = model.sample(n, generator=generator, condition=cond)
        return v.reshape(n, *shape), log_q(v)

    def move(s: torch.Tensor, _log_q: torch.Tensor, generator: torch.Generator):
        v = model.decode(gibbs_steps(e, model.encode(s.reshape(len(s), -1).to(model.W)), 1, generator))
        return v.reshape(len(s), *shape), log_q(v)

    return Proposal(draw, move, lambda s, generator: log_q(s.to(model.W)))
