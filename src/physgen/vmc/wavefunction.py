"""The Gaussian–binary RBM wave function and its derivatives in closed form (float64, numpy).

A Gaussian–binary RBM over the ``M = N·d`` particle coordinates ``x`` (visible units) and ``H`` binary
hidden units, with the hidden units summed out, has the marginal

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
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physgen.errors import UserError


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
    """Refuse impossible sizes with the parameter's name (the CLI maps ``vmc.X`` to ``--X``)."""
    if int(n_particles) < 1:
        raise UserError(f"must be >= 1, got {n_particles}", key="particles")
    if int(dim) < 1:
        raise UserError(f"must be >= 1, got {dim}", key="dim")
    if int(hidden) < 1:
        raise UserError(f"must be >= 1, got {hidden}", key="hidden")
    if not (np.isfinite(sigma) and sigma > 0):
        raise UserError(f"must be > 0, got {sigma}", key="sigma")
