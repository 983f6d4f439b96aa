"""The variational Monte Carlo loop that both quantum runs drive (:func:`optimise`): particles in continuous
space (:mod:`physgen.quantum.vmc`) and spins on a lattice (:mod:`physgen.quantum.nqs`), with the sampling
budget of a run (:class:`SamplingBudget`, :func:`check_budget`).

Each iteration samples |ψ|² with ``walkers`` independent Markov chains, ``samples // walkers`` recorded sweeps
after ``burn_in`` discarded ones, estimates the energy and its gradient (or the force of stochastic
reconfiguration) and updates the parameters (:mod:`physgen.quantum.optimisers`); a final run of
``final_samples`` at the trained parameters gives the reported energy.
"""
from __future__ import annotations

import time
from dataclasses import asdict
from typing import Callable, ClassVar

import numpy as np

from physgen.config import validate
from physgen.constraints import NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE_INT, Constraint, Interval
from physgen.errors import UserError
from physgen.quantum.optimisers import Gradient

#: the flat parameters of a wave function: ``(get() -> θ (P,), set(θ))``
Parameters = tuple[Callable[[], np.ndarray], Callable[[np.ndarray], None]]


class SamplingBudget:
    """The sweeps of a run's settings (a dataclass with ``samples``, ``walkers`` and ``final_samples``, None:
    10 × ``samples``), their declared ranges, and the settings as a dict."""

    constraints: ClassVar[dict[str, Constraint]] = {
        "iterations": POSITIVE_INT, "walkers": POSITIVE_INT, "burn_in": NON_NEGATIVE_INT,
        "samples": POSITIVE_INT, "final_samples": Interval(int, 1, None, none=True), "init_scale": NON_NEGATIVE}

    @property
    def sweeps(self) -> int:
        return self.samples // self.walkers

    @property
    def final_sweeps(self) -> int:
        return (self.final_samples or 10 * self.samples) // self.walkers

    def as_dict(self) -> dict:
        return asdict(self)


def check_budget(config) -> None:
    """The declared ranges of a run's settings (:class:`SamplingBudget`'s and the config's own), then ``samples``
    and ``final_samples`` (if set) at least two sweeps of all walkers; errors name the field (``key=``)."""
    validate(config, None)
    for name in ("samples", "final_samples"):
        value = getattr(config, name)
        if value is not None and value < 2 * config.walkers:
            raise UserError(f"must be at least 2 sweeps of all walkers (>= {2 * config.walkers}), got {value}",
                            key=name)


def optimise(iterations: int, measure: Callable[[int], tuple[dict, Gradient]], params: Parameters, optimiser, *,
             progress: Callable[[dict], None] | None = None) -> list[dict]:
    """The variational loop of both runs.  Iteration ``it`` calls ``measure(it)``, which samples |ψ|² and returns
    the iteration's record (with its ``energy``) and its :class:`~physgen.quantum.optimisers.Gradient`; the
    ``optimiser`` (:mod:`physgen.quantum.optimisers`) then steps the flat parameters, read and written through
    ``params`` = (get, set).  Each record gets its wall time (``seconds``), joins the history and goes to
    ``progress``.  A non-finite energy or gradient is a UserError that names the learning rate, before any update
    from it."""
    get, put = params
    history = []
    for it in range(iterations):
        t = time.perf_counter()
        record, gradient = measure(it)
        if not (np.isfinite(record["energy"]) and gradient.finite()):
            raise UserError(f"the energy became non-finite at iteration {it + 1} (lower the learning rate, "
                            f"{optimiser.lr:g})", key="lr")
        put(optimiser.step(get(), gradient))
        record["seconds"] = time.perf_counter() - t
        history.append(record)
        if progress is not None:
            progress(record)
    return history
