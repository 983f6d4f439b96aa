"""Hybrid (Hamiltonian) Monte Carlo for a continuous lattice field, many chains at once.

Each chain's field φ gets Gaussian momenta p ~ N(0, 1) and moves along the fictitious-time dynamics of
H(φ, p) = ½ Σ p² + β S(φ) with the leapfrog integrator (n steps of size ε: half a kick, n − 1 drift-kick pairs, a
drift and half a kick), then accepts the end point with probability min(1, e^{−ΔH}).  Leapfrog is reversible and
keeps phase-space volume, so the accept step makes e^{−βS} stationary whatever ε (Duane, Kennedy, Pendleton &
Roweth, PLB 195, 216, 1987; Neal, "MCMC using Hamiltonian dynamics", 2011).

The trajectory length τ = n ε is fixed; each trajectory draws its step as ε·U(0.9, 1.1) so that no trajectory length
resonates with a mode of the field (Mackenzie, PLB 226, 369, 1989).  With ``adapt`` trajectories (the burn-in),
ε follows the mean acceptance probability towards ``target`` (a Robbins–Monro step on log ε); it is then frozen, so
the recorded chain is a fixed, exact kernel.
"""
from __future__ import annotations

import math

import numpy as np

from physgen.errors import UserError


class HMC:
    """HMC trajectories of ``model`` (a :mod:`physgen.lattice` model with ``gradient``) on chains ``x (C, L, L)`` at
    inverse temperatures ``beta (C,)``: ``step_size`` ε (default: adapted from 0.1), ``trajectory`` τ = n ε,
    ``target`` acceptance of the adaptation, ``adapt`` the number of first trajectories that adapt ε."""

    def __init__(self, model, *, step_size: float | None = None, trajectory: float = 1.0, target: float = 0.8,
                 adapt: int = 0):
        for key, value in (("step size", step_size), ("trajectory length", trajectory)):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise UserError(f"hmc: the {key} must be finite and > 0, got {value}")
        if not hasattr(model, "gradient"):
            raise UserError(f"hmc applies to continuous fields; {model.name} has no action gradient")
        self.model, self.trajectory, self.target = model, float(trajectory), float(target)
        self.adapt = int(adapt) if step_size is None else 0
        self.step_size = 0.1 if step_size is None else float(step_size)
        self.done = 0
        self.accepted = 0.0
        self.attempts = 0

    def sweep(self, x: np.ndarray, beta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One trajectory per chain; returns the new fields (``x`` is not modified)."""
        b = np.asarray(beta, dtype=np.float64).reshape(-1, *([1] * (x.ndim - 1)))
        eps = self.step_size * rng.uniform(0.9, 1.1)
        n = max(1, math.ceil(self.trajectory / eps))
        p0 = rng.standard_normal(x.shape)
        phi, p = x.astype(np.float64), p0 - 0.5 * eps * b * self.model.gradient(x)
        for i in range(n):
            phi = phi + eps * p
            p = p - (eps if i < n - 1 else 0.5 * eps) * b * self.model.gradient(phi)
        sites = tuple(range(1, x.ndim))
        h0 = 0.5 * (p0 * p0).sum(sites) + b.reshape(-1) * self.model.energy(x)
        h1 = 0.5 * (p * p).sum(sites) + b.reshape(-1) * self.model.energy(phi)
        dh = np.where(np.isfinite(h1), h1 - h0, np.inf)
        prob = np.exp(-np.maximum(dh, 0.0))
        accept = rng.random(len(x)) < prob
        if self.done < self.adapt:
            rate = 0.5 / math.sqrt(1.0 + self.done)
            self.step_size *= math.exp(rate * (float(prob.mean()) - self.target))
        else:
            self.accepted += float(accept.sum())
            self.attempts += len(x)
        self.done += 1
        return np.where(accept.reshape(b.shape), phi, x)

    @property
    def acceptance(self) -> float:
        """The acceptance rate of the trajectories after adaptation."""
        return self.accepted / max(self.attempts, 1)

    def leapfrog_steps(self) -> int:
        return max(1, math.ceil(self.trajectory / self.step_size))
