"""The wave functions of the quantum runs, ln ψ and its derivatives in closed form (float64 or complex128,
numpy): the RBM wave function of particles in continuous space with its Padé–Jastrow factor
(``physgen vmc``; the fermionic Slater determinant is :mod:`physgen.quantum.slater`), and the ansätze of
spins on a lattice (``physgen nqs``).

**Particles in continuous space** (:class:`RBMWaveFunction`, :class:`PadeJastrow`).  A Gaussian–binary RBM
over the ``M = N·d`` particle coordinates ``x`` (visible units) and ``H`` binary hidden units, with the hidden
units summed out, has the marginal

    F(x) = exp(−Σ_i (x_i − a_i)² / 2σ²) · Π_j (1 + exp(u_j)),     u_j = b_j + Σ_i x_i W_ij / σ²

(Carleo & Troyer, Science 355, 602 (2017) for neural-network quantum states; the Gaussian–binary form is
the one of the course's variational Monte Carlo project).  physgen takes the wave function to be the
marginal itself, ``ψ(x) = F(x)``, so ``|ψ|² = F²`` is sampled and

    ln ψ      = −Σ_i (x_i − a_i)² / 2σ² + Σ_j softplus(u_j)
    ∂_i ln ψ  = −(x_i − a_i)/σ² + Σ_j W_ij s(u_j) / σ²                       s = logistic sigmoid
    ∂²_i ln ψ = −1/σ² + Σ_j W_ij² s(u_j) s(−u_j) / σ⁴
    ∂ ln ψ/∂a_i = (x_i − a_i)/σ²,  ∂ ln ψ/∂b_j = s(u_j),  ∂ ln ψ/∂W_ij = x_i s(u_j)/σ².

With ``W = 0`` and ``σ² = 1/ω`` the marginal is the exact harmonic-oscillator ground state ``exp(−ω x²/2)``
(up to a constant), so ``σ`` defaults to ``1/√ω`` and is kept fixed: the trained parameters are
``a (M,)``, ``b (H,)`` and ``W (M, H)``.  The ansatz is symmetric under exchange of particles only if the
parameters are; it has no antisymmetry, so for electrons it describes a spin singlet of two particles.

Optionally (``jastrow=PadeJastrow(...)``) ψ is multiplied by a Padé–Jastrow factor
``exp(Σ_{p<q} α r_pq / (1 + β r_pq))`` whose α is fixed by the electron–electron cusp condition
(α = 1/(d − 1) for a pair of opposite spins in d ≥ 2 dimensions) and whose β > 0 is trained as ln β.
The RBM's hidden units add softplus terms, each convex in x with unit slope scale, so the RBM alone cannot
form the cusp of ψ at r_pq → 0; the Jastrow factor supplies it.

**Spins on a lattice** (:func:`make_ansatz`): ln ψ(s) and the parameter derivatives O_k(s) = ∂ ln ψ(s)/∂θ_k.
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
from dataclasses import dataclass

import numpy as np

from physgen.constraints import POSITIVE, POSITIVE_INT, require
from physgen.errors import UserError


# -- particles in continuous space ---------------------------------------------------------------------------------
def _sigmoid(u: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * u))


@dataclass
class RBMWaveFunction:
    """ψ(x) = F(x) of a Gaussian–binary RBM; positions are arrays ``(B, N, d)`` of B walkers.

    Parameters are float64: visible bias ``a (N·d,)``, hidden bias ``b (H,)``, weights ``W (N·d, H)``.
    """

    a: np.ndarray
    b: np.ndarray
    W: np.ndarray
    sigma: float
    n_particles: int
    dim: int
    jastrow: "PadeJastrow | None" = None

    # -- construction -------------------------------------------------------------------------------
    @classmethod
    def random(cls, n_particles: int, dim: int, hidden: int, *, sigma: float, rng: np.random.Generator,
               scale: float = 0.01) -> "RBMWaveFunction":
        """Parameters drawn from N(0, scale²) (the course's small random start)."""
        check_shape(n_particles, dim, hidden, sigma)
        m = n_particles * dim
        return cls(a=rng.normal(0.0, scale, m), b=rng.normal(0.0, scale, hidden),
                   W=rng.normal(0.0, scale, (m, hidden)), sigma=float(sigma), n_particles=n_particles, dim=dim)

    @classmethod
    def gaussian(cls, n_particles: int, dim: int, hidden: int, *, omega: float) -> "RBMWaveFunction":
        """``a = b = W = 0``, ``σ = 1/√ω``: ψ ∝ exp(−ω Σ x²/2), the exact non-interacting ground state."""
        check_shape(n_particles, dim, hidden, 1.0 / np.sqrt(omega))
        m = n_particles * dim
        return cls(a=np.zeros(m), b=np.zeros(hidden), W=np.zeros((m, hidden)), sigma=float(1.0 / np.sqrt(omega)),
                   n_particles=n_particles, dim=dim)

    @property
    def hidden(self) -> int:
        return self.b.shape[0]

    @property
    def n_params(self) -> int:
        return self.a.size + self.b.size + self.W.size + (self.jastrow is not None)

    def flat(self) -> np.ndarray:
        """All trained parameters as one vector ``(M + H + M·H [+ 1],)``: a, b, W [, ln β]."""
        extra = [np.array([self.jastrow.log_beta])] if self.jastrow is not None else []
        return np.concatenate([self.a, self.b, self.W.ravel(), *extra])

    def set_flat(self, theta: np.ndarray) -> None:
        m, h = self.a.size, self.b.size
        self.a = np.array(theta[:m], dtype=np.float64)
        self.b = np.array(theta[m:m + h], dtype=np.float64)
        self.W = np.array(theta[m + h:m + h + m * h], dtype=np.float64).reshape(m, h)
        if self.jastrow is not None:
            self.jastrow.log_beta = float(theta[m + h + m * h])

    # -- values and derivatives ------------------------------------------------------------------------
    def _hidden_input(self, x: np.ndarray) -> np.ndarray:
        """``u = b + xW/σ²``: ``(B, H)`` for positions ``(B, N, d)``."""
        return self.b + x.reshape(len(x), -1) @ self.W / self.sigma ** 2

    def log_psi(self, x: np.ndarray) -> np.ndarray:
        """``ln ψ(x)``, ``(B,)``."""
        flat = x.reshape(len(x), -1)
        gauss = -np.sum((flat - self.a) ** 2, axis=1) / (2 * self.sigma ** 2)
        value = gauss + np.sum(np.logaddexp(0.0, self._hidden_input(x)), axis=1)
        return value if self.jastrow is None else value + self.jastrow.value(x)

    def grad_log_psi(self, x: np.ndarray) -> np.ndarray:
        """``∇ ln ψ``, ``(B, N, d)``; the quantum force is twice this."""
        flat = x.reshape(len(x), -1)
        s = _sigmoid(self._hidden_input(x))
        grad = ((-(flat - self.a) + s @ self.W.T) / self.sigma ** 2).reshape(x.shape)
        return grad if self.jastrow is None else grad + self.jastrow.grad(x)

    def log_psi_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(ln ψ (B,), ∇ ln ψ (B, N, d))`` with the hidden inputs computed once (importance sampling)."""
        flat = x.reshape(len(x), -1)
        u = self._hidden_input(x)
        value = -np.sum((flat - self.a) ** 2, axis=1) / (2 * self.sigma ** 2) + np.sum(np.logaddexp(0.0, u), axis=1)
        grad = ((-(flat - self.a) + _sigmoid(u) @ self.W.T) / self.sigma ** 2).reshape(x.shape)
        if self.jastrow is not None:
            value, grad = value + self.jastrow.value(x), grad + self.jastrow.grad(x)
        return value, grad

    def kinetic(self, x: np.ndarray) -> np.ndarray:
        """Local kinetic energy ``−½ ∇²ψ/ψ = −½ Σ_i (∂²_i ln ψ + (∂_i ln ψ)²)``, ``(B,)``, in closed form."""
        flat = x.reshape(len(x), -1)
        u = self._hidden_input(x)
        s = _sigmoid(u)
        s4 = self.sigma ** 4
        first = (-(flat - self.a) + s @ self.W.T) / self.sigma ** 2               # (B, M)
        second = -1.0 / self.sigma ** 2 + (s * _sigmoid(-u)) @ (self.W ** 2).T / s4  # (B, M)
        if self.jastrow is None:
            return -0.5 * np.sum(second + first ** 2, axis=1)
        first = first + self.jastrow.grad(x).reshape(len(x), -1)
        return -0.5 * (np.sum(second + first ** 2, axis=1) + self.jastrow.laplacian(x))

    def param_grads(self, x: np.ndarray) -> np.ndarray:
        """``∂ ln ψ/∂θ`` for θ = (a, b, W) flattened as in :meth:`flat`: ``(B, M + H + M·H)``."""
        flat = x.reshape(len(x), -1)
        s = _sigmoid(self._hidden_input(x))
        da = (flat - self.a) / self.sigma ** 2
        dw = (flat[:, :, None] * s[:, None, :]).reshape(len(x), -1) / self.sigma ** 2
        extra = [self.jastrow.d_log_beta(x)[:, None]] if self.jastrow is not None else []
        return np.concatenate([da, s, dw, *extra], axis=1)


@dataclass
class PadeJastrow:
    """``J(x) = Σ_{p<q} α r/(1 + β r)``, β = exp(``log_beta``); ψ gains the factor exp(J).

    With f(r) = α r/(1 + βr): f' = α/(1 + βr)², f'' = −2αβ/(1 + βr)³, and the Laplacian of f(|r_p − r_q|)
    with respect to r_p in d dimensions is f'' + (d − 1) f'/r (the same for r_q).
    """

    alpha: float
    log_beta: float = 0.0

    @classmethod
    def cusp(cls, dim: int, log_beta: float = 0.0) -> "PadeJastrow":
        """α = 1/(d − 1), the cusp of two electrons of opposite spin (d ≥ 2)."""
        if dim < 2:
            raise UserError("the electron cusp needs dim >= 2", key="jastrow")
        return cls(alpha=1.0 / (dim - 1), log_beta=log_beta)

    @staticmethod
    def _pairs(x: np.ndarray):
        p, q = np.triu_indices(x.shape[1], k=1)
        diff = x[:, p, :] - x[:, q, :]                       # (B, P, d)
        return p, q, diff, np.linalg.norm(diff, axis=-1)      # r: (B, P)

    def value(self, x: np.ndarray) -> np.ndarray:
        _, _, _, r = self._pairs(x)
        return np.sum(self.alpha * r / (1 + np.exp(self.log_beta) * r), axis=1)

    def grad(self, x: np.ndarray) -> np.ndarray:
        """``∇J``, ``(B, N, d)``."""
        p, q, diff, r = self._pairs(x)
        g = (self.alpha / (1 + np.exp(self.log_beta) * r) ** 2 / r)[..., None] * diff
        out = np.zeros_like(x)
        np.add.at(out, (slice(None), p), g)
        np.add.at(out, (slice(None), q), -g)
        return out

    def laplacian(self, x: np.ndarray) -> np.ndarray:
        """``∇²J`` summed over all particles and coordinates, ``(B,)``."""
        _, _, _, r = self._pairs(x)
        beta, dim = np.exp(self.log_beta), x.shape[2]
        one = 1 + beta * r
        return 2 * np.sum(-2 * self.alpha * beta / one ** 3 + (dim - 1) * self.alpha / (one ** 2 * r), axis=1)

    def d_log_beta(self, x: np.ndarray) -> np.ndarray:
        """``∂J/∂ ln β = −β Σ α r²/(1 + βr)²``, ``(B,)``."""
        _, _, _, r = self._pairs(x)
        beta = np.exp(self.log_beta)
        return -beta * np.sum(self.alpha * r ** 2 / (1 + beta * r) ** 2, axis=1)


def check_shape(n_particles: int, dim: int, hidden: int, sigma: float) -> None:
    """Refuse impossible sizes with the parameter's name (``key=``; the CLI shows its option)."""
    for key, value in (("particles", n_particles), ("dim", dim), ("hidden", hidden)):
        require(value, POSITIVE_INT, key)
    require(sigma, POSITIVE, "sigma")


# -- spins on a lattice --------------------------------------------------------------------------------------------
#: the lattice ansätze :func:`make_ansatz` builds
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
