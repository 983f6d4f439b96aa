"""Wave functions of N spins: ln ψ(s) and its parameter derivatives O_k(s) = ∂ ln ψ(s)/∂θ_k in closed form.

Every ansatz takes configurations ``s (B, N)`` of ±1 and gives ``log_psi(s) (B,)`` and ``derivatives(s)
(B, P)``; its parameters are one flat vector (``params``, settable), real or complex.  With complex
parameters ψ is a holomorphic function of them and O_k is the holomorphic derivative.

* :class:`RBM` — Carleo & Troyer, Science 355, 602 (2017): with M = αN hidden units summed out,
  ln ψ = Σ_i a_i s_i + Σ_j ln cosh θ_j,  θ_j = b_j + Σ_i W_ij s_i;
  O_{a_i} = s_i, O_{b_j} = tanh θ_j, O_{W_ij} = s_i tanh θ_j.
* :class:`SymmetricRBM` — the same with the weights shared by all L^d lattice translations T_g
  (α filters W_f, biases b_f, one visible bias a; Carleo & Troyer's translation-invariant RBM):
  ln ψ = a Σ_i s_i + Σ_{f,g} ln cosh θ_fg,  θ_fg = b_f + Σ_i W_fi s_{T_g(i)}.
* :class:`Jastrow` — ln ψ = Σ_i a_i s_i + Σ_{i<j} J_ij s_i s_j (a two-body baseline).
* :class:`MeanField` — ln ψ = Σ_i a_i s_i, a product state (the mean-field baseline).

``ln cosh`` is evaluated as |Re z|-stable ``ln cosh z = σz + ln(1 + e^{−2σz}) − ln 2`` with σ = sign Re z.
"""
from __future__ import annotations

import math

import numpy as np

from physgen.errors import UserError

ANSATZE = ("rbm", "rbm-symmetric", "jastrow", "mean-field")


def log_cosh(z: np.ndarray) -> np.ndarray:
    """``ln cosh z`` for real or complex z without overflow."""
    sign = np.where(np.real(z) < 0, -1.0, 1.0)
    u = sign * z
    return u + np.log1p(np.exp(-2.0 * u)) - math.log(2.0)


class Ansatz:
    """Shared bookkeeping: the parameter arrays in ``_names`` form the flat vector ``params``."""

    _names: tuple[str, ...] = ()

    def _init(self, shapes: dict, rng: np.random.Generator, scale: float, dtype) -> None:
        self.dtype = np.dtype(dtype)
        for name, shape in shapes.items():
            value = rng.normal(0.0, scale, shape)
            if self.dtype.kind == "c":
                value = value + 1j * rng.normal(0.0, scale, shape)
            setattr(self, name, value.astype(self.dtype))
        self._names = tuple(shapes)

    @property
    def params(self) -> np.ndarray:
        """All parameters as one vector ``(P,)`` in the order of ``_names``."""
        return np.concatenate([np.ravel(getattr(self, n)) for n in self._names])

    @params.setter
    def params(self, theta: np.ndarray) -> None:
        at = 0
        for name in self._names:
            old = getattr(self, name)
            setattr(self, name, np.asarray(theta[at:at + old.size], dtype=self.dtype).reshape(old.shape))
            at += old.size

    @property
    def n_params(self) -> int:
        return sum(getattr(self, n).size for n in self._names)

    @property
    def is_complex(self) -> bool:
        return self.dtype.kind == "c"

    def tensors(self) -> dict[str, np.ndarray]:
        """The parameter arrays by name (for saving)."""
        return {n: getattr(self, n) for n in self._names}


class RBM(Ansatz):
    """``n_sites`` visible spins, ``hidden = alpha·n_sites`` hidden units; ``a (N,)``, ``b (M,)``, ``W (N, M)``."""

    def __init__(self, n_sites: int, alpha: float = 1.0, *, rng: np.random.Generator, scale: float = 0.01,
                 dtype=np.float64):
        hidden = max(1, int(round(alpha * n_sites)))
        self._init({"a": (n_sites,), "b": (hidden,), "W": (n_sites, hidden)}, rng, scale, dtype)

    def log_psi(self, s: np.ndarray) -> np.ndarray:
        return s @ self.a + np.sum(log_cosh(self.b + s @ self.W), axis=1)

    def derivatives(self, s: np.ndarray) -> np.ndarray:
        t = np.tanh(self.b + s @ self.W)                                   # (B, M)
        return np.concatenate([s.astype(t.dtype), t, (s[:, :, None] * t[:, None, :]).reshape(len(s), -1)], axis=1)


class SymmetricRBM(Ansatz):
    """``alpha`` filters shared over the translations ``(G, N)``; ``a (1,)``, ``b (α,)``, ``W (α, N)``."""

    def __init__(self, translations: np.ndarray, alpha: int = 1, *, rng: np.random.Generator, scale: float = 0.01,
                 dtype=np.float64):
        if int(alpha) != alpha or alpha < 1:
            raise UserError(f"the symmetric RBM needs a whole number of filters >= 1, got {alpha}", key="alpha")
        self.translations = np.asarray(translations)
        n = self.translations.shape[1]
        self._init({"a": (1,), "b": (int(alpha),), "W": (int(alpha), n)}, rng, scale, dtype)

    def _theta(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        shifted = s[:, self.translations]                                  # (B, G, N)
        return shifted, self.b + np.einsum("bgn,fn->bgf", shifted, self.W)  # (B, G, α)

    def log_psi(self, s: np.ndarray) -> np.ndarray:
        return self.a[0] * s.sum(axis=1) + np.sum(log_cosh(self._theta(s)[1]), axis=(1, 2))

    def derivatives(self, s: np.ndarray) -> np.ndarray:
        shifted, theta = self._theta(s)
        t = np.tanh(theta)
        dw = np.einsum("bgf,bgn->bfn", t, shifted).reshape(len(s), -1)
        return np.concatenate([s.sum(axis=1, keepdims=True).astype(t.dtype), t.sum(axis=1), dw], axis=1)


class Jastrow(Ansatz):
    """``a (N,)`` and ``J (N(N−1)/2,)`` on the pairs i < j (``numpy.triu_indices`` order)."""

    def __init__(self, n_sites: int, *, rng: np.random.Generator, scale: float = 0.01, dtype=np.float64):
        self.pairs = np.triu_indices(n_sites, k=1)
        self._init({"a": (n_sites,), "J": (len(self.pairs[0]),)}, rng, scale, dtype)

    def log_psi(self, s: np.ndarray) -> np.ndarray:
        return s @ self.a + (s[:, self.pairs[0]] * s[:, self.pairs[1]]) @ self.J

    def derivatives(self, s: np.ndarray) -> np.ndarray:
        return np.concatenate([s, s[:, self.pairs[0]] * s[:, self.pairs[1]]], axis=1).astype(self.dtype)


class MeanField(Ansatz):
    """``a (N,)``: ψ(s) = Π_i exp(a_i s_i)."""

    def __init__(self, n_sites: int, *, rng: np.random.Generator, scale: float = 0.01, dtype=np.float64):
        self._init({"a": (n_sites,)}, rng, scale, dtype)

    def log_psi(self, s: np.ndarray) -> np.ndarray:
        return s @ self.a

    def derivatives(self, s: np.ndarray) -> np.ndarray:
        return s.astype(self.dtype)


def make_ansatz(name: str, lattice, *, alpha: float = 1.0, complex_params: bool = False,
                rng: np.random.Generator, scale: float = 0.01):
    """Build ansatz ``name`` (one of :data:`ANSATZE`) for ``lattice``'s sites."""
    if name not in ANSATZE:
        raise UserError(f"must be one of {', '.join(ANSATZE)}, got {name!r}", key="ansatz")
    if not (np.isfinite(alpha) and alpha > 0):
        raise UserError(f"must be > 0, got {alpha}", key="alpha")
    if not (np.isfinite(scale) and scale >= 0):
        raise UserError(f"must be >= 0, got {scale}", key="init_scale")
    dtype = np.complex128 if complex_params else np.float64
    n = lattice.n_sites
    if name == "rbm":
        return RBM(n, alpha, rng=rng, scale=scale, dtype=dtype)
    if name == "rbm-symmetric":
        return SymmetricRBM(lattice.translations, alpha, rng=rng, scale=scale, dtype=dtype)
    if name == "jastrow":
        return Jastrow(n, rng=rng, scale=scale, dtype=dtype)
    return MeanField(n, rng=rng, scale=scale, dtype=dtype)
