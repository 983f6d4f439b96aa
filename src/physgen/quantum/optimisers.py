"""Parameter updates of the variational runs: gradient descent, Adam and stochastic reconfiguration, each a
``step(θ, g) -> θ`` on the flat parameters θ ``(P,)`` and the iteration's :class:`Gradient` g, and the one factory
that builds them by name (:func:`make_optimizer`).

A :class:`Gradient` is what an iteration measured: the energy gradient ``∂E/∂θ`` itself (``physgen vmc``, which
accumulates it sweep by sweep), or the samples it comes from, the derivatives O_k = ∂ ln ψ/∂θ_k ``(n, P)`` and
the local energies E_L ``(n,)`` of n samples of |ψ|² (``physgen nqs``).  With centred derivatives
Ō_k = O_k − ⟨O_k⟩ and Ē_L = E_L − ⟨E_L⟩ the force is F_k = ⟨Ō_k* Ē_L⟩, and the energy gradient is 2F (its real
part for real parameters; complex parameters are stepped as (Re, Im) pairs).

* :class:`GradientDescent`, ``θ ← θ − η ∂E/∂θ``;
* :class:`Adam` (Kingma & Ba, ICLR 2015, arXiv:1412.6980), with bias-corrected first and second moments;
* **stochastic reconfiguration** (:class:`SR`; Sorella, Phys. Rev. Lett. 80, 4558 (1998)), which needs the
  samples: the quantum geometric tensor S_kl = ⟨Ō_k* Ō_l⟩, shifted on the diagonal by λ for stability,
  preconditions the force, θ ← θ − η (S + λ1)⁻¹ F — imaginary-time evolution projected onto the ansatz.  With
  more parameters than samples the same step is solved in sample space, (S + λ1)⁻¹F = Ō†(ŌŌ† + nλ1)⁻¹Ē_L
  (push-through identity).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from physgen.constraints import POSITIVE, require
from physgen.errors import UserError


@dataclass(frozen=True)
class Gradient:
    """One iteration's measurement: the energy gradient ``vector (P,)``, or the samples ``o (n, P)`` and ``e (n,)``
    (and whether the parameters are complex) that it comes from."""

    vector: np.ndarray | None = None
    o: np.ndarray | None = None
    e: np.ndarray | None = None
    is_complex: bool = False

    def energy(self) -> np.ndarray:
        """∂E/∂θ ``(P,)``: ``vector``, or 2F from the samples."""
        return self.vector if self.vector is not None else 2.0 * force(self.o, self.e, self.is_complex)

    def finite(self) -> bool:
        """Whether the measured vector (or the samples' derivatives) are finite."""
        return bool(np.all(np.isfinite(self.vector if self.vector is not None else self.o)))


def _as_real(step: Callable[[np.ndarray, np.ndarray], np.ndarray], theta: np.ndarray, g: Gradient) -> np.ndarray:
    """``step`` on real vectors: θ and ∂E/∂θ as they are, or complex ones as their (Re, Im) halves."""
    grad = g.energy()
    if not g.is_complex:
        return step(np.real(theta), np.real(grad))
    p = len(theta)
    flat = step(np.concatenate([theta.real, theta.imag]), np.concatenate([grad.real, grad.imag]))
    return flat[:p] + 1j * flat[p:]


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

    def step(self, theta: np.ndarray, g: Gradient) -> np.ndarray:
        return _as_real(self._update, theta, g)

    def _update(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
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
    """``θ ← θ − lr·∂E/∂θ``."""

    lr: float

    def step(self, theta: np.ndarray, g: Gradient) -> np.ndarray:
        return _as_real(lambda t, grad: t - self.lr * grad, theta, g)


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

    def step(self, theta: np.ndarray, g: Gradient) -> np.ndarray:
        import scipy.linalg                                             # (loaded on first use: ~0.1 s)

        if g.o is None:
            raise UserError("stochastic reconfiguration needs the samples' derivatives", key="optimizer")
        oc, ec = _centred(g.o, g.e, g.is_complex)
        n, p = oc.shape
        if p <= n:
            s = oc.conj().T @ oc / n + self.diag_shift * np.eye(p)
            delta = scipy.linalg.solve(s, oc.conj().T @ ec / n, assume_a="pos")
        else:
            k = oc @ oc.conj().T + n * self.diag_shift * np.eye(n)
            delta = oc.conj().T @ scipy.linalg.solve(k, ec, assume_a="pos")
        return theta - self.lr * delta


#: name -> builder ``(lr, diag_shift)``
OPTIMIZERS: dict[str, Callable] = {"gd": lambda lr, diag_shift: GradientDescent(lr),
                                   "adam": lambda lr, diag_shift: Adam(lr),
                                   "sr": lambda lr, diag_shift: SR(lr, diag_shift)}
#: the optimisers of ``physgen vmc`` (its estimator accumulates the gradient, not the samples SR needs)
GRADIENT_OPTIMIZERS = ("gd", "adam")
#: the optimisers of ``physgen nqs``
SAMPLE_OPTIMIZERS = ("sr", "adam")


def make_optimizer(name: str, lr: float, diag_shift: float | None = None, *, choices: tuple[str, ...] = tuple(OPTIMIZERS)):
    """The optimiser ``name`` of ``choices`` (names of :data:`OPTIMIZERS`) with learning rate ``lr`` and, where
    given, SR's diagonal shift ``diag_shift``; errors name the field."""
    require(lr, POSITIVE, "lr")
    if diag_shift is not None:   # S alone is singular with fewer samples than parameters
        require(diag_shift, POSITIVE, "diag_shift")
    if name not in choices:
        raise UserError(f"must be one of {', '.join(choices)}, got {name!r}", key="optimizer")
    return OPTIMIZERS[name](lr, diag_shift)
