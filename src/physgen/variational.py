"""The variational Monte Carlo driver that :mod:`physgen.vmc` (particles in continuous space) and
:mod:`physgen.nqs` (spins on a lattice) both run (:func:`optimise`), the Adam update of a real parameter vector
and the check of a run's sampling budget.

Adam: Kingma & Ba, ICLR 2015 (arXiv:1412.6980), with bias-corrected first and second moments.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from physgen.errors import UserError


@dataclass
class Adam:
    """``m ← β₁m + (1−β₁)g``, ``v ← β₂v + (1−β₂)g²``, ``θ ← θ − lr·m̂/(√v̂ + ε)`` on ``(P,)`` float64 vectors."""

    lr: float
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    t: int = 0
    m: np.ndarray | None = field(default=None, repr=False)
    v: np.ndarray | None = field(default=None, repr=False)

    def step(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        if self.m is None:
            self.m, self.v = np.zeros_like(theta), np.zeros_like(theta)
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grad
        self.v = self.beta2 * self.v + (1 - self.beta2) * grad ** 2
        m_hat = self.m / (1 - self.beta1 ** self.t)
        v_hat = self.v / (1 - self.beta2 ** self.t)
        return theta - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def check_budget(config) -> None:
    """``iterations``, ``walkers`` ≥ 1, ``burn_in`` ≥ 0, ``samples`` and ``final_samples`` (if set) at least two
    sweeps of all walkers; errors name the field (``key=``)."""
    for name in ("iterations", "walkers"):
        if getattr(config, name) < 1:
            raise UserError(f"must be >= 1, got {getattr(config, name)}", key=name)
    if config.burn_in < 0:
        raise UserError(f"must be >= 0, got {config.burn_in}", key="burn_in")
    for name in ("samples", "final_samples"):
        value = getattr(config, name)
        if value is not None and value < 2 * config.walkers:
            raise UserError(f"must be at least 2 sweeps of all walkers (>= {2 * config.walkers}), got {value}",
                            key=name)


def optimise(iterations: int, step: Callable[[int], dict | None], *, lr: float,
             progress: Callable[[dict], None] | None = None) -> list[dict]:
    """The variational loop: iteration ``it`` calls ``step(it)``, which samples |ψ|², estimates the energy and
    its gradient (or the force of stochastic reconfiguration), updates the parameters and returns the
    iteration's record, or None, without an update, when an estimate is not finite.  Each record gets its wall
    time (``seconds``), joins the history and goes to ``progress``.  A non-finite estimate is a UserError that
    names the learning rate ``lr``."""
    history = []
    for it in range(iterations):
        t = time.perf_counter()
        record = step(it)
        if record is None:
            raise UserError(f"the energy became non-finite at iteration {it + 1} (lower the learning rate, {lr:g})",
                            key="lr")
        record["seconds"] = time.perf_counter() - t
        history.append(record)
        if progress is not None:
            progress(record)
    return history
