"""Exact Boltzmann samples from a learned model: Metropolis–Hastings and importance weights against e^{−βH}.

A trained model with a computable (unnormalised) probability q(s) of a spin configuration becomes a proposal
for the known target π(s) = e^{−βH(s)}/Z of a lattice Hamiltonian (:class:`LatticeTarget`: any model of
:mod:`physgen.lattice`, e.g. the Ising model H(s) = −J Σ_<ij> s_i s_j − h Σ_i s_i).

**Markov chain** (:func:`boltzmann_chains`).  The proposal is a kernel K(s → s′) that leaves q invariant and is
reversible with respect to it, q(s) K(s → s′) = q(s′) K(s′ → s).  Accepting s′ with probability

    A(s → s′) = min(1, π(s′) q(s) / (π(s) q(s′)))

makes the chain reversible with respect to π: with K(s → s′) = q(s′) K(s′ → s)/q(s),
π(s) K(s → s′) A(s → s′) = min(π(s) K(s → s′), π(s′) K(s′ → s)), symmetric in (s, s′), so π is its stationary
law whatever the model's quality (Metropolis et al. 1953; Hastings 1970).  Independent draws from q
(K(s → s′) = q(s′): the independence sampler of a normalising flow or an autoregressive network) and the
block-Gibbs sweep of an RBM (reversible with respect to its marginal) are both such kernels.  Normalisations
cancel, so q need not be normalised.  A model whose q(s) is an integral (a dequantised flow, a VAE) runs the
same chain on an extended state (s, u) whose target has the marginal π, reporting the log q of the (s, u) it
drew; the chain carries that value with its state (the pseudo-marginal construction, Andrieu & Roberts,
Ann. Stat. 37, 697, 2009).
The model's quality shows as the acceptance rate and the autocorrelation time, not as bias (self-learning
Monte Carlo, Liu et al., PRB 95, 041101, 2017; Albergo, Kanwar & Shanahan, PRD 100, 034515, 2019).

**Importance weights** (:func:`importance_weights`).  For i.i.d. draws s_k ~ q, the self-normalised weights
w_k ∝ π(s_k)/q(s_k) make ⟨O⟩_π ≈ Σ w_k O(s_k) consistent, with the effective sample size
ESS = (Σ w)² / Σ w² (Kish 1965; neural importance sampling, Nicoli et al., PRE 101, 023304, 2020).

Shapes: configurations ``(N, L, L)`` of ±1 (any float dtype), energies ``(N,)`` float64.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np
import torch

from physgen.config import validate
from physgen.constraints import POSITIVE, Constraint
from physgen.errors import UserError


@dataclass(frozen=True)
class LatticeTarget:
    """The Boltzmann weight log π(s) = −E(s)/T (+ const) of a lattice model of :mod:`physgen.lattice` (``model``,
    an instance with its couplings, lattice and boundary: the Ising model, Potts, a spin glass, ...)."""

    temperature: float
    model: Any

    constraints: ClassVar[dict[str, Constraint]] = {"temperature": POSITIVE}

    def __post_init__(self) -> None:
        validate(self, None)

    def energy(self, s: torch.Tensor) -> torch.Tensor:
        """Total energy E(s) ``(N,)`` float64 of configurations ``(N, L, L)`` (every bond once)."""
        return self.model.energy(s.to(torch.float64))

    def log_weight(self, s: torch.Tensor) -> torch.Tensor:
        """log π(s) + log Z = −E(s)/T, ``(N,)`` float64."""
        return -self.energy(s) / float(self.temperature)

    def abs_magnetization(self, s: torch.Tensor) -> torch.Tensor:
        """The model's |m| ``(N,)`` float64: |Σ s|/N for spins, the simplex length for q states
        (:func:`physgen.physics.observables.magnetization`)."""
        if self.model.space.kind == "spins":
            return s.to(torch.float64).mean((1, 2)).abs()
        from physgen.physics.observables import magnetization

        return torch.from_numpy(magnetization(s.cpu().numpy(), self.model)).to(s.device)


Draw = Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]]
Move = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class Proposal:
    """A learned proposal for :func:`boltzmann_chains` and :func:`importance_weights`.

    ``draw(n, generator)`` returns configurations ``(n, L, L)`` distributed as q (for a Markov kernel:
    equilibrated under it) with ``log q`` ``(n,)`` up to one constant.  ``move(s, log_q, generator)`` applies
    a kernel reversible with respect to q to every row of ``s`` and returns the new rows with their ``log q``;
    without one the kernel is the independence sampler's K(s → s′) = q(s′): fresh draws.  ``log_q(s,
    generator)`` scores given states ``(N, L, L)`` (for a dequantised model: at a uniform point of each state's
    cell, an exact draw of the extended space), so chains can start from them.
    """

    draw: Draw
    move: Move | None = None
    log_q: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None

    def step(self, s: torch.Tensor, log_q: torch.Tensor, generator: torch.Generator
             ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.draw(len(s), generator) if self.move is None else self.move(s, log_q, generator)


@dataclass
class ChainResult:
    """What :func:`boltzmann_chains` returns: ``samples`` ``(n, L, L)`` (chain-major: the ``n // chains``
    recorded states of chain 0, then of chain 1, ...), the acceptance rate of the recorded moves, τ_int of
    E and of |m| in recorded steps (Sokal's window, all chains together; infinite where no recorded move was
    accepted, since chains that never moved carry no measure of it), and the effective number of independent
    samples n / (2 max τ_int)."""

    samples: torch.Tensor
    acceptance: float
    tau_energy: float
    tau_abs_magnetization: float
    chains: int
    burn_in: int
    thin: int

    @property
    def n_effective(self) -> float:
        return len(self.samples) / (2.0 * max(self.tau_energy, self.tau_abs_magnetization))

    def attrs(self) -> dict:
        """The file attributes ``physgen sample --mcmc`` writes."""
        return {"mcmc_acceptance": self.acceptance, "mcmc_tau_int_energy": self.tau_energy,
                "mcmc_tau_int_abs_magnetization": self.tau_abs_magnetization,
                "mcmc_n_effective": self.n_effective, "mcmc_chains": self.chains, "mcmc_burn_in": self.burn_in,
                "mcmc_thin": self.thin}


def _accept(log_ratio: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    u = torch.rand(log_ratio.shape, generator=generator, device=log_ratio.device, dtype=torch.float64)
    return torch.log(u) < log_ratio


@torch.no_grad()
def boltzmann_chains(proposal: Proposal, target: LatticeTarget, n: int, *, chains: int, generator: torch.Generator,
                     burn_in: int = 100, thin: int = 1,
                     init: torch.Tensor | None = None) -> ChainResult:
    """``chains`` Metropolis–Hastings chains whose stationary law is ``target`` (module docstring), started
    from the proposal's own draws or from the states ``init`` ``(≥ chains, L, L)`` (e.g. data); ``burn_in``
    moves are discarded, then every ``thin``-th state is recorded until ``n`` states are kept
    (``ceil(n / chains)`` per chain, the surplus dropped from the last steps)."""
    if chains < 1 or n < 1 or burn_in < 0 or thin < 1:
        raise UserError(f"mcmc: need n, chains, thin >= 1 and burn_in >= 0 (got {n}, {chains}, {thin}, {burn_in})")
    chains = min(chains, n)
    steps = -(-n // chains)
    if init is None:
        s, log_q = proposal.draw(chains, generator)
    elif proposal.log_q is None or len(init) < chains:
        raise UserError(f"mcmc: starting states need a model that scores them and at least {chains} of them")
    else:
        s = init[:chains]
        log_q = proposal.log_q(s, generator)
    log_p = target.log_weight(s)
    kept, energies, mags = [], [], []
    accepted = tried = 0
    for t in range(burn_in + steps * thin):
        s_new, log_q_new = proposal.step(s, log_q, generator)
        log_p_new = target.log_weight(s_new)
        ok = _accept((log_p_new - log_p) - (log_q_new.double() - log_q.double()), generator)
        s = torch.where(ok[:, None, None], s_new, s)
        log_q = torch.where(ok, log_q_new, log_q)
        log_p = torch.where(ok, log_p_new, log_p)
        if t >= burn_in:
            accepted, tried = accepted + int(ok.sum()), tried + len(ok)
            if (t - burn_in + 1) % thin == 0:
                kept.append(s.clone())
                energies.append(-log_p * float(target.temperature))
                mags.append(target.abs_magnetization(s))
    series = {name: torch.stack(x, 1).cpu().numpy() for name, x in (("e", energies), ("m", mags))}   # (C, T)
    samples = torch.stack(kept, 1).reshape(-1, *s.shape[1:])[:n]   # chain-major
    from physgen.stats.autocorr import integrated_autocorrelation_time as tau

    if tried and not accepted:   # the chains never moved: their states are the starts, τ_int is unmeasured
        return ChainResult(samples, 0.0, math.inf, math.inf, chains, burn_in, thin)
    return ChainResult(samples, accepted / max(tried, 1), tau(series["e"]), tau(series["m"]), chains, burn_in, thin)


def importance_weights(log_p: torch.Tensor | np.ndarray, log_q: torch.Tensor | np.ndarray
                       ) -> tuple[np.ndarray, float]:
    """Self-normalised log-weights ``(N,)`` (log w_k − log Σ w) of draws from q against π, and the effective
    sample size (Σ w)² / Σ w².  A draw outside the target's support (log q = +∞) weighs 0 (log w = −∞)."""
    log_w = np.asarray(log_p, dtype=np.float64) - np.asarray(log_q, dtype=np.float64)
    if np.any(np.isnan(log_w) | (log_w == np.inf)) or not np.any(np.isfinite(log_w)):
        raise UserError("importance weights: the model gave no finite log-probability, or an invalid one")
    log_w = log_w - np.logaddexp.reduce(log_w)
    return log_w, float(1.0 / np.exp(np.logaddexp.reduce(2.0 * log_w)))
