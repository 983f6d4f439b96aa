"""Closed-shell electrons in a two-dimensional harmonic trap: Slater determinants × RBM × Padé–Jastrow.

The N electrons fill the lowest K shells of the 2D oscillator, n = n_x + n_y = 0 … K−1 with n + 1 orbitals
each, twice (spin up and down), so N = K(K + 1) = 2, 6, 12, 20, …; particles 0 … N/2 − 1 are spin up, the
rest spin down.  The wave function is

    ψ(x) = det[φ_j(r_p)]_↑ · det[φ_j(r_p)]_↓ · F(x) · exp(J(x)),    φ_{n_x n_y}(r) = H_{n_x}(√ω x) H_{n_y}(√ω y),

with H_n the physicists' Hermite polynomials, F the Gaussian–binary RBM marginal of
:mod:`physgen.quantum.wavefunctions` (whose Gaussian exp(−ω Σx²/2), σ = 1/√ω, completes the oscillator
orbitals and whose hidden units are a correlation factor) and J the Padé–Jastrow factor with the cusp of
each pair: α = 1 for opposite spins and α = 1/3 for equal spins in 2D (1/(d ∓ 1); Kato's cusp condition).
With W = a = b = 0 and no Jastrow factor, ψ is the non-interacting ground state, E = ω Σ_shells 2(n+1)²
exactly with zero variance.  ψ changes sign under the exchange of two equal-spin electrons: for that the
factor F must be symmetric, so the RBM's visible biases a and weight rows W are shared by the electrons of
one spin (projected onto that symmetric subspace at construction and after every update; F then depends on
the coordinates through the two spin-resolved sums Σ_{p∈σ} r_p, and the Jastrow factor carries the
electron–electron correlation).

For a determinant D = det A, A_pj = φ_j(r_p), of the particles of one spin (Ceperley, Chester & Kalos,
Phys. Rev. B 16, 3081 (1977)):

    ∇_p ln|D| = Σ_j ∇φ_j(r_p) (A⁻¹)_jp,      ∇²_p ln|D| = Σ_j ∇²φ_j(r_p) (A⁻¹)_jp − |∇_p ln|D||²,

and, with H_n' = 2n H_{n−1}, ∂_x H_n(√ω x) = 2n√ω H_{n−1}(√ω x).
"""
from __future__ import annotations

import numpy as np

from physgen.errors import UserError
from physgen.quantum.wavefunctions import PadeJastrow, RBMWaveFunction


def closed_shells(n_particles: int) -> int:
    """The number of filled shells K with N = K(K+1); refuses other N."""
    k = int(round((np.sqrt(1 + 4 * n_particles) - 1) / 2))
    if k < 1 or k * (k + 1) != n_particles:
        raise UserError(f"the fermion wave function needs a closed shell in 2D (2, 6, 12, 20, ...), got {n_particles}",
                        key="particles")
    return k


def orbitals(n_particles: int) -> list[tuple[int, int]]:
    """``(n_x, n_y)`` of the N/2 occupied orbitals of one spin, shell by shell."""
    return [(nx, n - nx) for n in range(closed_shells(n_particles)) for nx in range(n + 1)]


def noninteracting_energy(n_particles: int, omega: float) -> float:
    """``ω Σ_{n<K} 2(n + 1)²``: 2, 10, 28, 60 at ω = 1 for N = 2, 6, 12, 20."""
    return float(omega * sum(2 * (n + 1) ** 2 for n in range(closed_shells(n_particles))))


def hermite_table(u: np.ndarray, n_max: int) -> np.ndarray:
    """``H_0 … H_{n_max}`` at ``u``: ``(n_max + 1, *u.shape)`` by H_{n+1} = 2u H_n − 2n H_{n−1}."""
    h = np.empty((n_max + 1, *u.shape))
    h[0] = 1.0
    if n_max >= 1:
        h[1] = 2 * u
    for n in range(1, n_max):
        h[n + 1] = 2 * u * h[n] - 2 * n * h[n - 1]
    return h


def spin_jastrow(n_particles: int, log_beta: float = 0.0) -> PadeJastrow:
    """Padé–Jastrow with α = 1 for opposite-spin pairs and 1/3 for equal-spin pairs (2D cusps)."""
    p, q = np.triu_indices(n_particles, k=1)
    up = np.arange(n_particles) < n_particles // 2
    return PadeJastrow(alpha=np.where(up[p] == up[q], 1.0 / 3.0, 1.0), log_beta=log_beta)


class SlaterRBM:
    """ψ = det↑ · det↓ · F_RBM · e^J (module docstring); ``rbm`` carries F, the Jastrow factor and every trained
    parameter, so the interface (``log_psi``, ``grad_log_psi``, ``kinetic``, ``param_grads``, ``flat``, …)
    is that of :class:`~physgen.quantum.wavefunctions.RBMWaveFunction`; ``log_psi`` is ln|ψ|."""

    def __init__(self, rbm: RBMWaveFunction, omega: float):
        if rbm.dim != 2:
            raise UserError(f"the fermion wave function is for electrons in two dimensions, got dim {rbm.dim}", key="dim")
        self.rbm, self.omega = rbm, float(omega)
        self.orbitals = np.array(orbitals(rbm.n_particles))
        half = rbm.n_particles // 2
        self.spins = (np.arange(half), np.arange(half, rbm.n_particles))
        self.symmetrize()

    def symmetrize(self) -> None:
        """Average a and the rows of W over the electrons of each spin (per coordinate): F becomes symmetric
        under the exchange of equal-spin electrons."""
        n, d = self.rbm.n_particles, self.rbm.dim
        a = self.rbm.a.reshape(n, d)
        w = self.rbm.W.reshape(n, d, -1)
        for idx in self.spins:
            a[idx] = a[idx].mean(axis=0)
            w[idx] = w[idx].mean(axis=0)
        self.rbm.a, self.rbm.W = a.reshape(-1), w.reshape(n * d, -1)

    # -- delegated to the RBM --------------------------------------------------------------------------
    sigma = property(lambda self: self.rbm.sigma)
    n_particles = property(lambda self: self.rbm.n_particles)
    dim = property(lambda self: self.rbm.dim)
    n_params = property(lambda self: self.rbm.n_params)
    hidden = property(lambda self: self.rbm.hidden)
    jastrow = property(lambda self: self.rbm.jastrow)

    def flat(self) -> np.ndarray:
        return self.rbm.flat()

    def set_flat(self, theta: np.ndarray) -> None:
        self.rbm.set_flat(theta)
        self.symmetrize()

    def param_grads(self, x: np.ndarray) -> np.ndarray:
        return self.rbm.param_grads(x)

    # -- the determinants --------------------------------------------------------------------------------
    def _orbital_values(self, x: np.ndarray):
        """φ ``(B, N, n)``, ∇φ ``(B, N, n, 2)``, ∇²φ ``(B, N, n)`` of every particle and orbital."""
        s = np.sqrt(self.omega)
        nmax = int(self.orbitals.max())
        h = hermite_table(s * x, nmax)                                     # (n+1, B, N, 2)
        n = np.arange(nmax + 1)[:, None, None, None]
        lower = np.concatenate([np.zeros_like(h[:1]), h[:-1]])
        lower2 = np.concatenate([np.zeros_like(h[:2]), h[:-2]])[: nmax + 1]
        dh = 2 * n * s * lower
        d2h = 4 * n * (n - 1) * self.omega * lower2
        nx, ny = self.orbitals[:, 0], self.orbitals[:, 1]
        hx, hy = np.moveaxis(h[nx, ..., 0], 0, -1), np.moveaxis(h[ny, ..., 1], 0, -1)      # (B, N, n)
        dx, dy = np.moveaxis(dh[nx, ..., 0], 0, -1), np.moveaxis(dh[ny, ..., 1], 0, -1)
        d2x, d2y = np.moveaxis(d2h[nx, ..., 0], 0, -1), np.moveaxis(d2h[ny, ..., 1], 0, -1)
        return hx * hy, np.stack([dx * hy, hx * dy], axis=-1), d2x * hy + hx * d2y

    def _determinants(self, x: np.ndarray, derivatives: bool = True):
        """``(ln|det↑ det↓| (B,), sign (B,), ∇ ln|D| (B, N, 2), Σ_p ∇²_p ln|D| (B,))``."""
        phi, dphi, lphi = self._orbital_values(x)
        log_abs, sign = np.zeros(len(x)), np.ones(len(x))
        grad, lap = np.zeros_like(x), np.zeros(len(x))
        for idx in self.spins:
            a = phi[:, idx, :]                                              # (B, n particles, n orbitals)
            sgn, logdet = np.linalg.slogdet(a)
            log_abs, sign = log_abs + logdet, sign * sgn
            if derivatives:
                inv = np.linalg.inv(a)                                      # (B, orbitals, particles)
                g = np.einsum("bpjd,bjp->bpd", dphi[:, idx], inv)
                grad[:, idx] = g
                lap += np.einsum("bpj,bjp->b", lphi[:, idx], inv) - np.sum(g ** 2, axis=(1, 2))
        return log_abs, sign, grad, lap

    def sign(self, x: np.ndarray) -> np.ndarray:
        """The sign of ψ at ``x`` (B,) (the RBM and Jastrow factors are positive)."""
        return self._determinants(x, derivatives=False)[1]

    def log_psi(self, x: np.ndarray) -> np.ndarray:
        return self._determinants(x, derivatives=False)[0] + self.rbm.log_psi(x)

    def grad_log_psi(self, x: np.ndarray) -> np.ndarray:
        return self._determinants(x)[2] + self.rbm.grad_log_psi(x)

    def log_psi_and_grad(self, x: np.ndarray):
        log_d, _, grad_d, _ = self._determinants(x)
        value, grad = self.rbm.log_psi_and_grad(x)
        return value + log_d, grad + grad_d

    def kinetic(self, x: np.ndarray) -> np.ndarray:
        """``−½ Σ (∇² ln|ψ| + |∇ ln|ψ||²)`` = the RBM's own kinetic term − ½(∇² ln|D| + |∇ ln|D||² + 2∇ln|D|·∇ln F)."""
        _, _, grad_d, lap_d = self._determinants(x)
        g_r = self.rbm.grad_log_psi(x)
        cross = np.sum(grad_d * (grad_d + 2 * g_r), axis=(1, 2))
        return self.rbm.kinetic(x) - 0.5 * (lap_d + cross)
