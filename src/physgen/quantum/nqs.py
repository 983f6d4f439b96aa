"""``physgen nqs``: neural quantum states of lattice spin models — :class:`NQSConfig`, :func:`run_nqs` and its
:class:`NQSResult`.

The optimisation loop (:func:`physgen.quantum.driver.optimise`): sample, measure, update; then a final
measurement.

Each iteration runs ``burn_in`` sweeps (the chains carry over), then ``samples // walkers`` recorded sweeps,
computes E_L and O_k on every recorded configuration, records the energy with its blocking error, the
variance and the V-score (:mod:`physgen.quantum.estimators`), and takes one optimiser step
(:mod:`physgen.quantum.optimisers`).  A last run of ``final_samples`` at the final parameters gives the
reported energy and the observables (:func:`physgen.quantum.estimators.measure`).  Where the exact energy is
known (:func:`physgen.quantum.exact.exact_energy`) every record carries the relative error |E − E₀|/|E₀|.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from physgen.errors import UserError
from physgen.quantum.driver import SamplingBudget, check_budget, optimise
from physgen.quantum.estimators import energy_statistics, local_energy, measure
from physgen.quantum.exact import exact_energy
from physgen.quantum.hamiltonians import HAMILTONIANS, make_hamiltonian
from physgen.quantum.lattice import Lattice
from physgen.quantum.optimisers import SAMPLE_OPTIMIZERS, Gradient, make_optimizer
from physgen.quantum.samplers import sample_spins, spin_sampler, start_spins
from physgen.quantum.wavefunctions import make_ansatz


#: the couplings a Hamiltonian may read and their values when not given
COUPLING_DEFAULTS = {"h": 1.0, "J2": 0.0}


@dataclass(frozen=True)
class NQSConfig(SamplingBudget):
    """Every setting of a run.  ``marshall=None``: on for Heisenberg-type antiferromagnets on bipartite
    lattices; ``sampler=None``: ``exchange`` when H conserves Sᶻ, else ``flip``; ``lr=None``: 0.05 for SR,
    0.01 for Adam; ``final_samples=None``: 10 × ``samples``; ``exact_max_states``: the largest Hilbert
    space (or Sᶻ = 0 sector) diagonalized for the exact energy (0: never).  A coupling left as None takes its
    default (:data:`COUPLING_DEFAULTS`); one given is recorded in :attr:`given`, and a Hamiltonian that does not
    read it refuses it, whatever its value."""

    hamiltonian: str = "tfim"
    lattice: str = "chain"
    size: int = 8
    pbc: bool = True
    h: float | None = None
    J: float = 1.0
    J2: float | None = None
    ansatz: str = "rbm"
    alpha: float = 1.0
    complex_params: bool = False
    marshall: bool | None = None
    sampler: str | None = None
    samples: int = 1000
    walkers: int = 50
    burn_in: int = 2
    iterations: int = 300
    optimizer: str = "sr"
    lr: float | None = None
    diag_shift: float = 0.01
    init_scale: float = 0.01
    final_samples: int | None = None
    exact_max_states: int = 1 << 20

    def __post_init__(self):
        given = frozenset(name for name in COUPLING_DEFAULTS if getattr(self, name) is not None)
        object.__setattr__(self, "given", given)   # (not a field: the settings record the values)
        for name, default in COUPLING_DEFAULTS.items():
            if name not in given:
                object.__setattr__(self, name, default)

    def build(self, rng: np.random.Generator):
        """``(lattice, hamiltonian, ansatz, sampler, optimiser)``, validating every setting."""
        lat = Lattice(self.lattice, self.size, self.pbc)
        ham = make_hamiltonian(self.hamiltonian, lat, h=self.h, J=self.J, J2=self.J2, marshall=self.marshall)
        reads = HAMILTONIANS[self.hamiltonian].couplings
        for name in sorted(self.given - set(reads)):
            raise UserError(f"{self.hamiltonian} does not read it (its couplings: {', '.join(reads)})", key=name)
        ansatz = make_ansatz(self.ansatz, lat, alpha=self.alpha, complex_params=self.complex_params, rng=rng,
                             scale=self.init_scale)
        rule = self.sampler or ("exchange" if ham.conserves_sz else "flip")
        if ham.conserves_sz and rule != "exchange":
            raise UserError(f"{self.hamiltonian} is sampled at Sᶻ = 0 with exchange moves", key="sampler")
        check_budget(self)
        lr = self.lr if self.lr is not None else (0.05 if self.optimizer == "sr" else 0.01)
        opt = make_optimizer(self.optimizer, lr, self.diag_shift, choices=SAMPLE_OPTIMIZERS)
        return lat, ham, ansatz, spin_sampler(rule), opt


@dataclass
class NQSResult:
    """The trained ansatz, one record per iteration, the final statistics and observables."""

    config: NQSConfig
    ansatz: object
    hamiltonian: object
    history: list[dict]
    final: dict
    observables: dict
    exact: dict | None
    seconds: float
    extras: dict = field(default_factory=dict)


def measure_step(ansatz, ham, sampler, chains, sweeps, rng, *, burn_in, derivatives=True):
    """Sample and evaluate: ``(s (T, B, N), E_L (T, B), O (T·B, P) or None, acceptance)``."""
    s, acc = sample_spins(ansatz, sampler, chains, sweeps, rng, burn_in=burn_in)
    flat = s.reshape(-1, s.shape[-1])
    e = local_energy(ansatz, ham, flat)
    o = ansatz.derivatives(flat) if derivatives else None
    return s, e.reshape(s.shape[:2]), o, acc


def _with_exact(stats: dict, exact: dict | None) -> dict:
    if exact is not None:
        stats["relative_error"] = abs(stats["energy"] - exact["energy"]) / abs(exact["energy"])
    return stats


def run_nqs(config: NQSConfig, rng: np.random.Generator, *, progress: Callable[[dict], None] | None = None,
            exact: dict | None = None) -> NQSResult:
    """Optimise the ansatz of ``config``; ``exact`` (``{"energy", "method"}``) skips the exact computation."""
    lat, ham, ansatz, sampler, opt = config.build(rng)
    t0 = time.perf_counter()
    if exact is None and config.exact_max_states > 0:
        found = exact_energy(ham, max_states=config.exact_max_states)
        exact = None if found is None else {"energy": found[0], "method": found[1]}
    exact_seconds = time.perf_counter() - t0
    chains = start_spins(ansatz, lat.n_sites, config.walkers, sampler.rule, rng)

    def iteration(it: int) -> tuple[dict, Gradient]:
        _, e, o, acc = measure_step(ansatz, ham, sampler, chains, config.sweeps, rng,
                                    burn_in=config.burn_in if it else 10 * config.burn_in + 10)
        stats = _with_exact(energy_statistics(e, lat.n_sites, ham.e_infinity), exact)
        return {"iteration": it, **stats, "acceptance": acc}, Gradient(o=o, e=e.ravel(), is_complex=ansatz.is_complex)

    def put(theta: np.ndarray) -> None:
        ansatz.params = theta

    history = optimise(config.iterations, iteration, (lambda: ansatz.params, put), opt, progress=progress)
    s, e, _, acc = measure_step(ansatz, ham, sampler, chains, config.final_sweeps, rng,
                                burn_in=10 * config.burn_in, derivatives=False)
    final = {**_with_exact(energy_statistics(e, lat.n_sites, ham.e_infinity), exact), "acceptance": acc,
             "samples": int(e.size)}
    return NQSResult(config, ansatz, ham, history, final, measure(s, lat), exact, time.perf_counter() - t0,
                     extras={"sampler": sampler.rule, "marshall": getattr(ham, "marshall", False),
                             "parameters": ansatz.n_params, "sites": lat.n_sites,
                             "exact_seconds": exact_seconds})
