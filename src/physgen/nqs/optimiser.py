"""Parameter updates from samples: stochastic reconfiguration and Adam.

With centred derivatives Ō_k = O_k − ⟨O_k⟩ and Ē_L = E_L − ⟨E_L⟩ over n samples of |ψ|², the force is
F_k = ⟨Ō_k* Ē_L⟩ (the energy gradient is 2 Re F for real parameters, ∂E/∂θ* = F for complex ones).

* **Stochastic reconfiguration** (Sorella, Phys. Rev. Lett. 80, 4558 (1998)): the quantum geometric tensor
  S_kl = ⟨Ō_k* Ō_l⟩, shifted on the diagonal by λ for stability, preconditions the force,
  θ ← θ − η (S + λ1)⁻¹ F — imaginary-time evolution projected onto the ansatz.  With more parameters than
  samples the same step is solved in sample space, (S + λ1)⁻¹F = Ō†(ŌŌ† + nλ1)⁻¹Ē_L (push-through identity).
* **Adam** (Kingma & Ba, ICLR 2015) on the energy gradient; complex parameters as (Re, Im) pairs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

from physgen import variational
from physgen.errors import UserError

OPTIMIZERS = ("sr", "adam")


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
class Adam:
    """Adam on the energy gradient (2 Re F, 2 Im F)."""

    lr: float = 0.01
    inner: variational.Adam | None = field(default=None, repr=False)

    def step(self, theta: np.ndarray, o: np.ndarray, e: np.ndarray, is_complex: bool) -> np.ndarray:
        if self.inner is None:
            self.inner = variational.Adam(self.lr)
        g = 2.0 * force(o, e, is_complex)
        if not is_complex:
            return self.inner.step(np.real(theta), np.real(g))
        p = len(theta)
        flat = self.inner.step(np.concatenate([theta.real, theta.imag]), np.concatenate([g.real, g.imag]))
        return flat[:p] + 1j * flat[p:]


def make_optimizer(name: str, lr: float, diag_shift: float = 0.01):
    if not (np.isfinite(lr) and lr > 0):
        raise UserError(f"must be > 0, got {lr}", key="lr")
    if not (np.isfinite(diag_shift) and diag_shift > 0):  # S alone is singular with fewer samples than parameters
        raise UserError(f"must be > 0, got {diag_shift}", key="diag_shift")
    if name == "sr":
        return SR(lr, diag_shift)
    if name == "adam":
        return Adam(lr)
    raise UserError(f"must be one of {', '.join(OPTIMIZERS)}, got {name!r}", key="optimizer")
