"""Markov chains that sample |ψ|² for the quantum runs: Metropolis and importance sampling of particles in
continuous space (``physgen vmc``), and Metropolis flips or exchanges of spins on a lattice (``physgen nqs``).

**Particles** (:func:`make_sampler`, :func:`start`).  Both samplers move one particle at a time; a *sweep*
proposes a move of every particle once, for all walkers at once (positions ``(B, N, d)``, one independent
chain per walker).

* :class:`Metropolis` — ``r_p' = r_p + step·(U − ½)``, U uniform in [0, 1)^d, accepted with probability
  ``min(1, |ψ(x')|²/|ψ(x)|²)`` (Metropolis et al., J. Chem. Phys. 21, 1087 (1953)).
* :class:`Importance` — the discretised Langevin (Fokker–Planck) step with diffusion constant D = ½ and
  time step ``step``: ``r_p' = r_p + D F_p(x) step + √step ξ``, ξ ~ N(0, 1)^d, with the quantum force
  ``F = 2∇ψ/ψ``; the proposal density is the Green's function
  ``G(x'|x) ∝ exp(−|r_p' − r_p − D step F_p(x)|² / 4D step)`` and the acceptance ratio is
  ``G(x|x') |ψ(x')|² / (G(x'|x) |ψ(x)|²)`` (Reynolds et al., J. Chem. Phys. 77, 5593 (1982)).
  With ``limit=True`` the drift ``v = D F = ∇ln|ψ|`` of the moved particle is replaced by
  ``v̄ = v (−1 + √(1 + 2|v|²Δt)) / (|v|²Δt)`` in both Green's functions (Umrigar, Nightingale & Runge,
  J. Chem. Phys. 99, 2865 (1993)): unchanged where |v|²Δt ≪ 1, at most √(2/Δt) near the nodes of a
  determinant, where ∇ln|ψ| diverges and the unlimited drift throws walkers into configurations from which
  every later proposal is rejected.

**Spins** (:class:`SpinMetropolis`, :func:`start_spins`, :func:`sample_spins`): Metropolis–Hastings chains
over spin configurations.  ``walkers`` independent chains advance together (configurations ``s (B, N)``).  A
*sweep* is N proposals per chain, each accepted with probability min(1, |ψ(s')/ψ(s)|²) (Metropolis et al.,
J. Chem. Phys. 21, 1087 (1953)); both proposals are symmetric:

* ``"flip"`` — flip one spin chosen uniformly;
* ``"exchange"`` — exchange the spins of two distinct sites chosen uniformly (keeps total Sᶻ; the chains
  start at Sᶻ = 0, the sector of the Heisenberg antiferromagnet's ground state).

**By name**: the four are entries of the sampler registry (:mod:`physgen.samplers.registry`; fields
``psi-particles`` and ``psi-spins``, entry points in ``pyproject.toml``), each with its one-sweep ``kernel``
and a ``run(problem, steps)`` that sweeps the walkers ``problem.x0`` of ψ = ``problem.field`` ``steps`` times and
returns the mean acceptance; :func:`make_sampler` and :func:`spin_sampler` build kernels from them, so a walker
added by another package is chosen by name the same way.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physgen.errors import UserError
from physgen.samplers import registry

# -- particles in continuous space ---------------------------------------------------------------------------------
DIFFUSION = 0.5


@dataclass
class Chains:
    """Walker positions ``x (B, N, d)``, their ``log_psi (B,)`` and (importance sampling) ``grad (B, N, d)``."""

    x: np.ndarray
    log_psi: np.ndarray
    grad: np.ndarray | None = None


def start(wf, walkers: int, rng: np.random.Generator, spread: float | None = None) -> Chains:
    """Walkers drawn from N(0, spread²) per coordinate (default: the Gaussian width σ of the ansatz)."""
    spread = wf.sigma if spread is None else spread
    x = rng.normal(0.0, spread, (walkers, wf.n_particles, wf.dim))
    return Chains(x, wf.log_psi(x), wf.grad_log_psi(x))


@dataclass(frozen=True)
class Metropolis:
    """Brute-force Metropolis with a uniform move of width ``step`` per coordinate."""

    step: float = 2.0
    name = "metropolis"

    def __post_init__(self):
        _check_step(self.step)

    def sweep(self, wf, chains: Chains, rng: np.random.Generator) -> np.ndarray:
        """One move per particle for every walker; updates ``chains`` in place, returns acceptances ``(B,)``."""
        accepted = np.zeros(len(chains.x))
        for p in range(wf.n_particles):
            y = chains.x.copy()
            y[:, p, :] += self.step * (rng.random(y[:, p, :].shape) - 0.5)
            log_new = wf.log_psi(y)
            ok = np.log(rng.random(len(y))) < 2.0 * (log_new - chains.log_psi)
            chains.x[ok] = y[ok]
            chains.log_psi[ok] = log_new[ok]
            accepted += ok
        chains.grad = None  # not tracked by this sampler
        return accepted / wf.n_particles


@dataclass(frozen=True)
class Importance:
    """Importance sampling with the Langevin drift, time step ``step``."""

    step: float = 0.3
    limit: bool = False
    name = "importance"

    def __post_init__(self):
        _check_step(self.step)

    def _drift(self, grad: np.ndarray) -> np.ndarray:
        """``D F Δt = ∇ln|ψ| Δt`` of one particle ``(B, d)``, drift-limited if ``limit``."""
        dt = self.step
        if not self.limit:
            return grad * dt
        v2dt = np.sum(grad ** 2, axis=1, keepdims=True) * dt
        factor = np.where(v2dt > 1e-12, (np.sqrt(1.0 + 2.0 * v2dt) - 1.0) / np.maximum(v2dt, 1e-300), 1.0)
        return grad * dt * factor

    def sweep(self, wf, chains: Chains, rng: np.random.Generator) -> np.ndarray:
        dt, d = self.step, DIFFUSION
        if chains.grad is None:
            chains.grad = wf.grad_log_psi(chains.x)
        accepted = np.zeros(len(chains.x))
        for p in range(wf.n_particles):
            drift = self._drift(chains.grad[:, p, :])
            y = chains.x.copy()
            y[:, p, :] += drift + np.sqrt(dt) * rng.standard_normal(drift.shape)
            log_new, grad_new = wf.log_psi_and_grad(y)
            forward = y[:, p, :] - chains.x[:, p, :] - drift
            backward = chains.x[:, p, :] - y[:, p, :] - self._drift(grad_new[:, p, :])
            log_green = (np.sum(forward ** 2, axis=1) - np.sum(backward ** 2, axis=1)) / (4 * d * dt)
            ok = np.log(rng.random(len(y))) < log_green + 2.0 * (log_new - chains.log_psi)
            chains.x[ok] = y[ok]
            chains.log_psi[ok] = log_new[ok]
            chains.grad[ok] = grad_new[ok]
            accepted += ok
        return accepted / wf.n_particles


def refresh(wf, chains: Chains) -> None:
    """Recompute the cached ``log_psi`` and ``grad`` after the parameters of ``wf`` changed."""
    chains.log_psi, chains.grad = wf.log_psi_and_grad(chains.x)


def default_step(name: str, sigma: float = 1.0) -> float:
    """Move width 2σ (Metropolis) or time step 0.3σ² (importance), σ the width of the trap's ground state.

    Both lie near the largest ``1/(error² · time)`` of the energy for two electrons in 2D at ω = 1
    (benchmarks/records/vmc.md).
    """
    return 2.0 * sigma if name == "metropolis" else 0.3 * sigma ** 2


@dataclass(frozen=True)
class Walk:
    """The settings of a particle walker's kernel: its move width or time step, and the drift limit."""

    step: float
    limit: bool = False


def make_sampler(name: str, step: float | None = None, sigma: float = 1.0, *, limit: bool = False):
    """The kernel of the particle walker ``name`` (``"metropolis"``, ``"importance"``, drift-limited if ``limit``,
    or another registered one); ``step=None`` takes :func:`default_step`."""
    _check_name("psi-particles", name)
    step = default_step(name, sigma) if step is None else step
    return registry.get("psi-particles", name).kernel(Walk(step, limit))


def _check_step(step: float) -> None:
    if not (np.isfinite(step) and step > 0):
        raise UserError(f"must be > 0, got {step}", key="step")


# -- spins on a lattice --------------------------------------------------------------------------------------------
#: the moves of :class:`SpinMetropolis`
RULES = ("flip", "exchange")


def spin_sampler(name: str):
    """The kernel of the spin walker ``name`` (``"flip"``, ``"exchange"`` or another registered one)."""
    _check_name("psi-spins", name)
    return registry.get("psi-spins", name).kernel(None)


def _check_name(field: str, name: str) -> None:
    """UserError keyed ``sampler`` unless ``name`` is a registered walker of ``field``."""
    known = registry.declared(field)
    if name not in known:
        raise UserError(f"must be one of {', '.join(known)}, got {name!r}", key="sampler")


@dataclass
class SpinChains:
    """Configurations ``s (B, N)`` (±1 float64) and their ``log_psi (B,)``."""

    s: np.ndarray
    log_psi: np.ndarray


def start_spins(ansatz, n_sites: int, walkers: int, rule: str, rng: np.random.Generator) -> SpinChains:
    """Uniformly random configurations; Sᶻ = 0 ones (half the spins up) for the exchange rule."""
    if rule == "exchange":
        half = np.where(np.arange(n_sites) < n_sites // 2, 1.0, -1.0)
        s = rng.permuted(np.tile(half, (walkers, 1)), axis=1)
    else:
        s = rng.choice([-1.0, 1.0], size=(walkers, n_sites))
    return SpinChains(s, ansatz.log_psi(s))


@dataclass(frozen=True)
class SpinMetropolis:
    """Single-flip or exchange Metropolis; ``sweep`` returns the fraction of accepted proposals."""

    rule: str = "flip"

    def __post_init__(self):
        if self.rule not in RULES:
            raise UserError(f"must be one of {', '.join(RULES)}, got {self.rule!r}", key="sampler")

    def sweep(self, ansatz, chains: SpinChains, rng: np.random.Generator) -> float:
        b, n = chains.s.shape
        rows = np.arange(b)
        accepted = 0
        for _ in range(n):
            proposal = chains.s.copy()
            i = rng.integers(n, size=b)
            if self.rule == "flip":
                proposal[rows, i] *= -1
            else:
                j = (i + rng.integers(1, n, size=b)) % n
                proposal[rows, i], proposal[rows, j] = chains.s[rows, j], chains.s[rows, i]
            log_new = ansatz.log_psi(proposal)
            ok = np.log(rng.random(b)) < 2.0 * np.real(log_new - chains.log_psi)
            chains.s[ok] = proposal[ok]
            chains.log_psi[ok] = log_new[ok]
            accepted += int(ok.sum())
        return accepted / (b * n)


def sample_spins(ansatz, sampler: SpinMetropolis, chains: SpinChains, sweeps: int, rng: np.random.Generator,
                 *, burn_in: int = 0) -> tuple[np.ndarray, float]:
    """``burn_in`` discarded sweeps, then ``sweeps`` recorded ones: ``(s (T, B, N), acceptance)``."""
    chains.log_psi = ansatz.log_psi(chains.s)  # the parameters may have changed since the last call
    for _ in range(burn_in):
        sampler.sweep(ansatz, chains, rng)
    out = np.empty((sweeps, *chains.s.shape))
    acc = 0.0
    for t in range(sweeps):
        acc += sampler.sweep(ansatz, chains, rng)
        out[t] = chains.s
    return out, acc / max(sweeps, 1)


# -- the registry entries -------------------------------------------------------------------------------------------
def _sweeps(kernel_of):
    """``run(problem, steps)``: ``steps`` sweeps of the walkers ``problem.x0`` of ψ = ``problem.field`` (updated in
    place) with the rng ``problem.generator``; the mean acceptance."""
    def run(p: registry.Problem, steps: int | None) -> float:
        kernel, n, acc = kernel_of(p.settings), int(steps or 1), 0.0
        for _ in range(n):
            acc += float(np.mean(kernel.sweep(p.field, p.x0, p.generator)))
        return acc / n
    return run


def _particles(name: str, make, description: str) -> registry.Sampler:
    return registry.Sampler(name, "psi-particles", _sweeps(make), description, settings=Walk, kernel=make)


def _spins(rule: str, description: str) -> registry.Sampler:
    def make(_settings) -> SpinMetropolis:
        return SpinMetropolis(rule)
    return registry.Sampler(rule, "psi-spins", _sweeps(make), description, kernel=make)


METROPOLIS = _particles("metropolis", lambda w: Metropolis(w.step), "one uniform move of width step per particle")
IMPORTANCE = _particles("importance", lambda w: Importance(w.step, w.limit),
                        "one Langevin-drift move of time step step per particle (drift-limited with fermions)")
FLIP = _spins("flip", "flip one spin chosen uniformly, N proposals a sweep")
EXCHANGE = _spins("exchange", "exchange the spins of two sites, N proposals a sweep (keeps Sᶻ)")
