"""``physgen vmc``: variational Monte Carlo of particles in a harmonic trap with an RBM wave function —
:class:`VMCConfig`, :func:`run_vmc` and its :class:`VMCResult`.

The optimisation loop (:func:`physgen.quantum.driver.optimise`): sample, estimate the energy gradient, step the
parameters; then a final run.

Each iteration runs ``burn_in`` sweeps (the walkers carry over from the previous iteration) and then
``samples // walkers`` measured sweeps, records the energy with its blocking error, the variance of the
local energy and the acceptance, and takes one optimiser step.  After the last iteration a longer run
(``final_samples``) at the final parameters gives the reported energy and the one-body density.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from physgen.errors import UserError
from physgen.quantum.driver import SamplingBudget, check_budget, optimise
from physgen.quantum.estimators import Estimate, estimate
from physgen.quantum.hamiltonians import Hamiltonian
from physgen.quantum.optimisers import GRADIENT_OPTIMIZERS, Gradient, make_optimizer
from physgen.quantum.samplers import make_sampler, start
from physgen.quantum.wavefunctions import PadeJastrow, RBMWaveFunction, check_shape

JASTROWS = ("auto", "none", "pade")
DENSITY_SAMPLES = 200_000  # walker positions kept from the final run for the one-body density


@dataclass(frozen=True)
class VMCConfig(SamplingBudget):
    """Every setting of a run (importance sampling is drift-limited with ``fermions``;
    ``sigma=None``: 1/√ω; ``step=None``: 2σ for Metropolis, 0.3σ² for importance
    sampling (:func:`~physgen.quantum.samplers.default_step`);
    ``final_samples=None``: 10 × ``samples``; ``jastrow``: ``"auto"`` (the default: ``"pade"`` with Coulomb
    repulsion between two or more particles in d ≥ 2, else ``"none"``, so that the default ansatz can reach
    the exact ground state), ``"none"`` or ``"pade"``; ``as_dict`` records the resolved choice)."""

    particles: int = 1
    dim: int = 1
    omega: float = 1.0
    interaction: str = "none"
    hidden: int = 2
    jastrow: str = "auto"
    sigma: float | None = None
    sampler: str = "importance"
    step: float | None = None
    iterations: int = 50
    samples: int = 10_000
    walkers: int = 100
    burn_in: int = 10
    lr: float = 0.05
    optimizer: str = "adam"
    init_scale: float = 0.01
    final_samples: int | None = None
    fermions: bool = False

    def __post_init__(self):
        if self.jastrow == "auto":  # the cusp factor wherever there is a Coulomb cusp to form
            cusp = self.interaction == "coulomb" and self.particles > 1 and self.dim >= 2
            object.__setattr__(self, "jastrow", "pade" if cusp else "none")

    def validate(self) -> None:
        """Raise :class:`~physgen.errors.UserError` naming the first bad setting (``key=`` the field)."""
        Hamiltonian(self.omega, self.interaction)
        check_shape(self.particles, self.dim, self.hidden, 1.0 if self.sigma is None else self.sigma)
        make_sampler(self.sampler, self.step)
        make_optimizer(self.optimizer, self.lr, choices=GRADIENT_OPTIMIZERS)
        if self.jastrow not in JASTROWS:
            raise UserError(f"must be one of {', '.join(JASTROWS)}, got {self.jastrow!r}", key="jastrow")
        if self.jastrow == "pade":
            PadeJastrow.cusp(self.dim)
        if self.fermions:
            from physgen.quantum.slater import closed_shells

            if self.dim != 2:
                raise UserError(f"the fermion wave function is for electrons in two dimensions, got {self.dim}", key="dim")
            closed_shells(self.particles)
        if self.interaction == "coulomb" and self.dim == 1 and self.particles > 1:
            raise UserError("coulomb needs dim >= 2 (1/|x| is not integrable in one dimension)", key="interaction")
        check_budget(self)


@dataclass
class VMCResult:
    """The trained wave function, one record per iteration and the final estimate."""

    wavefunction: RBMWaveFunction  # or a SlaterRBM with fermions
    history: list[dict]
    final: Estimate
    config: VMCConfig
    seconds: float
    extras: dict = field(default_factory=dict)


def iteration_record(it: int, est: Estimate) -> dict:
    grad_norm = float(np.linalg.norm(est.gradient)) if est.gradient is not None else None
    return {"iteration": it, "energy": est.energy, "error": est.error,
            "walker_error": est.walker_error if np.isfinite(est.walker_error) else None, "variance": est.variance,
            "acceptance": est.acceptance, "gradient_norm": grad_norm}


def run_vmc(config: VMCConfig, rng: np.random.Generator, *, wavefunction: RBMWaveFunction | None = None,
            progress: Callable[[dict], None] | None = None) -> VMCResult:
    """Optimise the RBM wave function for ``config``; ``progress`` is called with each iteration's record."""
    config.validate()
    t0 = time.perf_counter()
    ham = Hamiltonian(config.omega, config.interaction)
    sigma = 1.0 / np.sqrt(config.omega) if config.sigma is None else config.sigma
    wf = wavefunction or RBMWaveFunction.random(config.particles, config.dim, config.hidden, sigma=sigma, rng=rng,
                                                scale=config.init_scale)
    if wavefunction is None and config.jastrow == "pade":
        wf.jastrow = PadeJastrow.cusp(config.dim)
    if wavefunction is None and config.fermions:
        from physgen.quantum.slater import SlaterRBM, spin_jastrow

        if config.jastrow == "pade":
            wf.jastrow = spin_jastrow(config.particles)
        wf = SlaterRBM(wf, config.omega)
    sampler = make_sampler(config.sampler, config.step, sigma, limit=config.fermions)
    opt = make_optimizer(config.optimizer, config.lr, choices=GRADIENT_OPTIMIZERS)
    chains = start(wf, config.walkers, rng)

    def iteration(it: int) -> tuple[dict, Gradient]:
        est = estimate(wf, ham, sampler, chains, config.sweeps, rng, burn_in=config.burn_in if it else 10 * config.burn_in)
        return iteration_record(it, est), Gradient(est.gradient)

    history = optimise(config.iterations, iteration, (wf.flat, wf.set_flat), opt, progress=progress)
    final = estimate(wf, ham, sampler, chains, config.final_sweeps, rng, burn_in=config.burn_in,
                     gradient=False, keep_positions=DENSITY_SAMPLES)
    return VMCResult(wf, history, final, config, time.perf_counter() - t0, extras={"step_used": sampler.step})
