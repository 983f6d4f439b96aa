"""The Markov-chain samplers by name (:mod:`physgen.samplers.registry`): the loops of the energy-based families,
declared as ``physgen.samplers`` entry points in ``pyproject.toml`` beside the diffusion and ODE samplers.

Two fields:

* ``bipartite`` — the :class:`~physgen.samplers.energy.BipartiteEnergy` of an RBM, ``(n, n_visible)`` rows:
  ``gibbs`` (block Gibbs ``v → h → v′``, :func:`~physgen.samplers.gibbs.gibbs_sample`) and ``pt`` (parallel
  tempering over the inverse temperatures ``schedule``, Desjardins et al. 2010,
  :func:`~physgen.samplers.tempering.pt_sample`);
* ``energy`` — an unnormalised log-density ``log p(x) = −E(x | c)``, ``(C, *shape) -> (C,)``, differentiable in
  ``x``, from the chains' start ``x0``: ``langevin`` (unadjusted Langevin, :func:`~physgen.samplers.langevin.ula`,
  clamped to the box ``clip``) and ``discrete`` (the discrete Langevin proposal with a Metropolis–Hastings test
  on ±1 states, Zhang, Liu & Liu 2022, :func:`~physgen.samplers.discrete.dlp`).

``steps`` is the number of sweeps (``bipartite``: the burn-in before the first sample, default the family's
``burn_in``) or of moves (``energy``: the family always gives it).  A chain's settings come from the family's
config (``burn_in``, ``thin``, ``step_size``, ...), and a user changes them for one call by the sampler's
options (``--set sampler.thin=5``).
"""
from __future__ import annotations

from typing import Sequence

from physgen.samplers.discrete import dlp, to_spins
from physgen.samplers.gibbs import gibbs_sample
from physgen.samplers.langevin import LangevinResult, ula
from physgen.samplers.registry import Problem, Sampler
from physgen.samplers.tempering import pt_sample


# --- an RBM's bipartite energy ------------------------------------------------------------------------------
def _bipartite(tempered: bool):
    def run(p: Problem, steps: int | None):
        cfg = p.settings
        chains = dict(chains=p.chains, burn_in=int(cfg.burn_in if steps is None else steps), thin=cfg.thin,
                      init=p.x0, flip=p.symmetric)
        if tempered:
            return pt_sample(p.field, p.shape[0], betas=p.schedule, generator=p.generator, **chains)
        return gibbs_sample(p.field, p.shape[0], generator=p.generator, **chains)
    return run


GIBBS = Sampler("gibbs", "bipartite", _bipartite(tempered=False),
                "block Gibbs sweeps v → h → v′, with the global flip on a symmetric model",
                options={"burn_in": "burn_in", "thin": "thin"})
PT = Sampler("pt", "bipartite", _bipartite(tempered=True),
             "parallel tempering over the model's inverse temperatures (Desjardins et al. 2010)",
             options={"burn_in": "burn_in", "thin": "thin"})


# --- an energy E(x | c) -------------------------------------------------------------------------------------
def langevin(p: Problem, steps: int, snapshot_steps: Sequence[int] = ()) -> LangevinResult:
    """``steps`` Langevin moves of the family's ``langevin`` form: ``decoupled`` is the conventional update
    with drift η ∇log p (step 2η) and noise std ``noise`` (Du & Mordatch 2019); ``conventional`` and ``course``
    as :mod:`physgen.samplers.langevin` states them.  ∇E is clipped elementwise at ``grad_clip`` (0: off)."""
    cfg = p.settings
    decoupled = cfg.langevin == "decoupled"
    return ula(p.field, p.x0, step_size=2 * cfg.step_size if decoupled else cfg.step_size, n_steps=steps,
               generator=p.generator, form="conventional" if decoupled else cfg.langevin,
               noise_scale=cfg.noise if decoupled else None, grad_clip=cfg.grad_clip or None, clamp=p.clip,
               diagnostics=False, validate=False, snapshot_steps=snapshot_steps)


def _discrete(p: Problem, steps: int | None):
    return dlp(p.field, to_spins(p.x0), step_size=p.settings.discrete_step, n_steps=int(steps),
               generator=p.generator, mh=p.settings.mh).samples


LANGEVIN = Sampler("langevin", "energy", lambda p, steps: langevin(p, int(steps)).samples,
                   "unadjusted Langevin dynamics on −E, clamped to the data's box",
                   options={"step_size": "step_size", "noise": "noise", "grad_clip": "grad_clip",
                            "form": "langevin"})
DISCRETE = Sampler("discrete", "energy", _discrete,
                   "the discrete Langevin proposal on ±1 states with a Metropolis–Hastings test (Zhang, Liu & Liu "
                   "2022)", options={"step": "discrete_step", "mh": "mh"})
