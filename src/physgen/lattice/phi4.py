"""The φ⁴ lattice field theory in two dimensions: a real scalar field on an L×L torus with the Euclidean action

    S(φ) = Σ_x [ Σ_μ ½ (φ_{x+μ} − φ_x)² + ½ m² φ_x² + λ φ_x⁴ ]
         = −Σ_<xy> φ_x φ_y + Σ_x [ (2 + ½ m²) φ_x² + λ φ_x⁴ ]       (d = 2: each site has 2d = 4 neighbours),

sampled with weight e^{−S/T} at T = 1.  Albergo, Kanwar & Shanahan (PRD 100, 034515, 2019) write the action
without the halves, S_A(ϕ) = Σ_x [Σ_μ (ϕ_{x+μ} − ϕ_x)² + m² ϕ_x² + λ_A ϕ_x⁴]; with ϕ = φ/√2 it is this one at the
same m² and λ = λ_A / 4.  Their ensembles (m² = −4; L = 6, 8, 10 at λ_A = 6.975, 6.008, 5.550) are here
λ = 1.74375, 1.502, 1.3875, and their ϕ-observables follow by ϕ = φ/√2 (χ₂ halves; masses and ratios stay).  The
defaults are their L = 8 ensemble.  The second line is the lattice model's form (:mod:`physgen.lattice.model`): the bonds
carry J = 1 with b(φ, ψ) = −φ ψ and the rest is the site potential.  The action is even in φ; λ ≥ 0 keeps it
bounded below (at λ = 0 it needs m² > 0).  HMC (:mod:`physgen.lattice.hmc`) is its classical sampler.

In the free theory (λ = 0, m² > 0) the field is Gaussian with covariance (−Δ + m²)⁻¹, so its two-point function is

    G(x) = (1/V) Σ_k e^{i k·x} / (m² + Σ_μ 4 sin²(k_μ / 2)),   k_μ = 2π n_μ / L,

and ⟨φ²⟩ = G(0) (:func:`free_two_point`; Montvay & Münster, *Quantum Fields on a Lattice*, 1994, §2.2).
"""
from __future__ import annotations

import numpy as np

from physgen.errors import UserError
from physgen.lattice.model import LatticeModel, Param
from physgen.lattice.space import Field


class Phi4(LatticeModel):
    name = "phi4"
    summary = "phi^4 scalar field theory, real field, mass term m2 and quartic coupling lam (T = 1)"
    params = {"m2": Param(-4.0, help="bare mass squared m^2"),
              "lam": Param(1.502, low=0.0, help="quartic coupling lambda >= 0")}
    algorithms = ("hmc",)
    order_name = "abs_magnetization"

    def __init__(self, size: int, **kwargs):
        super().__init__(size, **kwargs)
        if self.boundary != "periodic":
            raise UserError("phi4: the action is defined on the torus (periodic boundaries only)", key="boundary")
        if self.values["lam"] == 0 and self.values["m2"] <= 0:
            raise UserError("phi4: at lam = 0 the action needs m2 > 0 (it is unbounded below otherwise)")

    def make_space(self):
        return Field()

    def potential(self, x):
        """``(..., L, L)`` (2 + ½ m²) φ² + λ φ⁴ per site."""
        a = 2.0 + 0.5 * self.values["m2"]
        x2 = x * x
        return a * x2 + self.values["lam"] * x2 * x2

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """∂S/∂φ_x ``(..., L, L)`` = −Σ_{y ∼ x} φ_y + (4 + m²) φ_x + 4 λ φ_x³."""
        nb = sum(np.roll(x, shift, axis) for shift in (1, -1) for axis in (-2, -1))
        return -nb + (4.0 + self.values["m2"]) * x + 4.0 * self.values["lam"] * x ** 3

    def order_parameter(self, x: np.ndarray) -> np.ndarray:
        """``(n,)`` |M|/V, M = Σ_x φ_x."""
        return np.abs(np.asarray(x, dtype=np.float64).reshape(len(x), -1).mean(1))

    def exact(self, temperature: float) -> dict | None:
        return None

    def reference_method(self) -> str | None:
        return None


def free_two_point(L: int, m2: float) -> np.ndarray:
    """``(L, L)`` G(x) = ⟨φ_0 φ_x⟩ of the free field (λ = 0, m² > 0) on the L×L torus (module docstring)."""
    if not m2 > 0:
        raise ValueError(f"the free field needs m2 > 0, got {m2}")
    k = 2 * np.pi * np.arange(L) / L
    lap = 4 * np.sin(k / 2) ** 2
    return np.real(np.fft.ifft2(1.0 / (m2 + lap[:, None] + lap[None, :])))
