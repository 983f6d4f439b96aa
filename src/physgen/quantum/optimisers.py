"""Parameter updates of the variational runs: gradient descent, Adam, stochastic reconfiguration, and the one
factory that builds them by name (:func:`make_optimizer`).

Two kinds of step, by what the run hands over:

* on the **energy gradient** ``g = ∂E/∂θ`` of a real parameter vector (``physgen vmc``, which accumulates g
  sweep by sweep): :class:`GradientDescent`, ``θ ← θ − η g``, and :class:`Adam` (Kingma & Ba, ICLR 2015,
  arXiv:1412.6980), with bias-corrected first and second moments — :data:`GRADIENT_OPTIMIZERS`;
* on the **samples** themselves, the derivatives O_k = ∂ ln ψ/∂θ_k ``(n, P)`` and the local energies E_L
  ``(n,)`` of n samples of |ψ|² (``physgen nqs``) — :data:`SAMPLE_OPTIMIZERS`.  With centred derivatives
  Ō_k = O_k − ⟨O_k⟩ and Ē_L = E_L − ⟨E_L⟩ the force is F_k = ⟨Ō_k* Ē_L⟩ (the energy gradient is 2 Re F for
  real parameters, ∂E/∂θ* = F for complex ones).

  - **Stochastic reconfiguration** (:class:`SR`; Sorella, Phys. Rev. Lett. 80, 4558 (1998)): the quantum
    geometric tensor S_kl = ⟨Ō_k* Ō_l⟩, shifted on the diagonal by λ for stability, preconditions the force,
    θ ← θ − η (S + λ1)⁻¹ F — imaginary-time evolution projected onto the ansatz.  With more parameters than
    samples the same step is solved in sample space, (S + λ1)⁻¹F = Ō†(ŌŌ† + nλ1)⁻¹Ē_L (push-through identity).
  - **Adam** (:class:`EnergyAdam`) on the energy gradient 2F; complex parameters as (Re, Im) pairs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from physgen.constraints import POSITIVE, require
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


@dataclass
class GradientDescent:
    """``θ ← θ − lr·g``."""

    lr: float

    def step(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        return theta - self.lr * grad


def _centred(o: np.ndarray, e: np.ndarray, is_complex: bool) -> tuple[np.ndarray, np.ndarray]:
    oc = o - o.mean(axis=0)
    ec = e - e.mean()
    if not is_complex:
        oc, ec = np.real(oc), np.real(ec)
    return oc, ec


def force(o: np.ndarray, e: np.ndarray, is_complex: bool) -> np.ndarray:
    """``F = ⟨Ō* Ē_L⟩``, ``(P,)``, from ``O (n, P)`` and ``E_L (n,)``."""
    oc, ec = _centred(o, e, is_complex)
    return oc.conj().T @ ec / len(e)


@dataclass
class SR:
    """Stochastic reconfiguration with learning rate ``lr`` and diagonal shift ``diag_shift``."""

    lr: float = 0.05
    diag_shift: float = 0.01

    def step(self, theta: np.ndarray, o: np.ndarray, e: np.ndarray, is_complex: bool) -> np.ndarray:
        import scipy.linalg                                             # (loaded on first use: ~0.1 s)

        oc, ec = _centred(o, e, is_complex)
        n, p = oc.shape
        if p <= n:
            s = oc.conj().T @ oc / n + self.diag_shift * np.eye(p)
            delta = scipy.linalg.solve(s, oc.conj().T @ ec / n, assume_a="pos")
        else:
            k = oc @ oc.conj().T + n * self.diag_shift * np.eye(n)
            delta = oc.conj().T @ scipy.linalg.solve(k, ec, assume_a="pos")
        return theta - self.lr * delta


@dataclass
class EnergyAdam:
    """:class:`Adam` on the energy gradient (2 Re F, 2 Im F) of the samples."""

    lr: float = 0.01
    inner: Adam | None = field(default=None, repr=False)

    def step(self, theta: np.ndarray, o: np.ndarray, e: np.ndarray, is_complex: bool) -> np.ndarray:
        if self.inner is None:
            self.inner = Adam(self.lr)
        g = 2.0 * force(o, e, is_complex)
        if not is_complex:
            return self.inner.step(np.real(theta), np.real(g))
        p = len(theta)
        flat = self.inner.step(np.concatenate([theta.real, theta.imag]), np.concatenate([g.real, g.imag]))
        return flat[:p] + 1j * flat[p:]


#: name -> builder ``(lr, diag_shift)``: the optimisers of ``physgen vmc``, ``step(θ, ∂E/∂θ)``
GRADIENT_OPTIMIZERS: dict[str, Callable] = {"gd": lambda lr, diag_shift: GradientDescent(lr),
                                            "adam": lambda lr, diag_shift: Adam(lr)}
#: name -> builder ``(lr, diag_shift)``: the optimisers of ``physgen nqs``, ``step(θ, O, E_L, is_complex)``
SAMPLE_OPTIMIZERS: dict[str, Callable] = {"sr": lambda lr, diag_shift: SR(lr, diag_shift),
                                          "adam": lambda lr, diag_shift: EnergyAdam(lr)}


def make_optimizer(name: str, lr: float, diag_shift: float | None = None, *, choices: dict[str, Callable]):
    """The optimiser ``name`` of ``choices`` (:data:`GRADIENT_OPTIMIZERS` or :data:`SAMPLE_OPTIMIZERS`) with
    learning rate ``lr`` and, where given, SR's diagonal shift ``diag_shift``; errors name the field."""
    require(lr, POSITIVE, "lr")
    if diag_shift is not None:   # S alone is singular with fewer samples than parameters
        require(diag_shift, POSITIVE, "diag_shift")
    if name not in choices:
        raise UserError(f"must be one of {', '.join(choices)}, got {name!r}", key="optimizer")
    return choices[name](lr, diag_shift)
