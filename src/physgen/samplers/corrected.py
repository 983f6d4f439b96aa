"""The samplers that make a model's draws exact for a known Boltzmann law, by name (:mod:`physgen.samplers.registry`,
field ``boltzmann``): ``physgen sample RUN --mcmc`` and ``--importance``.

The family hands over its :class:`~physgen.samplers.boltzmann.Proposal` as the problem's ``field`` and the target
π = e^{−βH}/Z, a :class:`~physgen.samplers.boltzmann.LatticeTarget`, as its ``schedule``; ``shape[0]`` is the
number of samples.

* ``mcmc`` — Metropolis–Hastings chains with the model as proposal (:func:`~physgen.samplers.boltzmann.
  boltzmann_chains`): ``chains`` chains (the problem's, else :attr:`Correction.chains`), ``burn_in`` moves
  discarded (``steps`` where the caller gives it), every ``thin``-th state kept.  Returns the
  :class:`~physgen.samplers.boltzmann.ChainResult`.
* ``importance`` — i.i.d. draws from q with self-normalised weights π/q and their effective sample size
  (:func:`~physgen.samplers.boltzmann.importance_weights`).  Returns a :class:`Weighted`.

Unlike the samplers of a generative path, whose settings are keys of the family's config, these two have their
own settings, :class:`Correction`, whatever the family: ``physgen sample RUN --mcmc --set sampler.thin=5``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from physgen.config import validate
from physgen.constraints import NON_NEGATIVE_INT, POSITIVE_INT, Constraint
from physgen.samplers import DEFAULT_CHAINS
from physgen.samplers.registry import Problem, Sampler


@dataclass(frozen=True)
class Correction:
    """The settings of ``mcmc`` (``chains`` parallel chains, ``burn_in`` moves discarded from each start, every
    ``thin``-th state recorded); ``importance`` has none."""

    chains: int = DEFAULT_CHAINS
    burn_in: int = 100
    thin: int = 1
    constraints: ClassVar[dict[str, Constraint]] = {"chains": POSITIVE_INT, "burn_in": NON_NEGATIVE_INT,
                                                    "thin": POSITIVE_INT}

    def __post_init__(self) -> None:
        validate(self, "sampler")


@dataclass(frozen=True)
class Weighted:
    """Draws ``samples`` ``(n, *shape)`` from q with self-normalised ``log_weights`` ``(n,)`` against π and the
    effective sample size ``ess`` = (Σ w)² / Σ w²."""

    samples: Any
    log_weights: np.ndarray
    ess: float


def _mcmc(p: Problem, steps: int | None):
    from physgen.samplers.boltzmann import boltzmann_chains

    cfg = p.settings
    return boltzmann_chains(p.field, p.schedule, p.shape[0], chains=p.chains or cfg.chains, generator=p.generator,
                            burn_in=cfg.burn_in if steps is None else int(steps), thin=cfg.thin, init=p.x0)


def _importance(p: Problem, steps: int | None) -> Weighted:
    from physgen.samplers.boltzmann import importance_weights

    s, log_q = p.field.draw(p.shape[0], p.generator)
    log_w, ess = importance_weights(p.schedule.log_weight(s).cpu().numpy(), log_q.detach().cpu().numpy())
    return Weighted(s, log_w, ess)


MCMC = Sampler("mcmc", "boltzmann", _mcmc, "Metropolis–Hastings chains proposing from the model, accepting with "
               "e^(−βH) (exact whatever the model)", options={"burn_in": "burn_in", "thin": "thin"},
               settings=Correction)
IMPORTANCE = Sampler("importance", "boltzmann", _importance, "the model's draws with self-normalised importance "
                     "weights e^(−βH)/q", settings=Correction)
