"""Plain gradient descent and Adam on a parameter vector (numpy, float64).

Adam: Kingma & Ba, ICLR 2015 (arXiv:1412.6980), with bias-corrected first and second moments.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from physgen.errors import UserError

OPTIMIZERS = ("gd", "adam")


@dataclass
class GradientDescent:
    """``θ ← θ − lr·g``."""

    lr: float

    def step(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        return theta - self.lr * grad


@dataclass
class Adam:
    """``m ← β₁m + (1−β₁)g``, ``v ← β₂v + (1−β₂)g²``, ``θ ← θ − lr·m̂/(√v̂ + ε)``."""

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


def make_optimizer(name: str, lr: float):
    if not (np.isfinite(lr) and lr > 0):
        raise UserError(f"must be > 0, got {lr}", key="lr")
    if name == "gd":
        return GradientDescent(lr)
    if name == "adam":
        return Adam(lr)
    raise UserError(f"must be one of {', '.join(OPTIMIZERS)}, got {name!r}", key="optimizer")
