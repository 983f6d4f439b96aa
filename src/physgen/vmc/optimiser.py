"""The optimiser of a ``physgen vmc`` run on its parameter vector (numpy, float64): plain gradient descent, or
Adam (:class:`physgen.variational.Adam`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physgen.errors import UserError
from physgen.variational import Adam

OPTIMIZERS = ("gd", "adam")


@dataclass
class GradientDescent:
    """``θ ← θ − lr·g``."""

    lr: float

    def step(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        return theta - self.lr * grad


def make_optimizer(name: str, lr: float):
    if not (np.isfinite(lr) and lr > 0):
        raise UserError(f"must be > 0, got {lr}", key="lr")
    if name == "gd":
        return GradientDescent(lr)
    if name == "adam":
        return Adam(lr)
    raise UserError(f"must be one of {', '.join(OPTIMIZERS)}, got {name!r}", key="optimizer")
