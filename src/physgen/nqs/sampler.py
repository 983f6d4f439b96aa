"""Metropolis–Hastings chains over spin configurations, sampling |ψ(s)|².

``walkers`` independent chains advance together (configurations ``s (B, N)``).  A *sweep* is N proposals
per chain, each accepted with probability min(1, |ψ(s')/ψ(s)|²) (Metropolis et al., J. Chem. Phys. 21, 1087
(1953)); both proposals are symmetric:

* ``"flip"`` — flip one spin chosen uniformly;
* ``"exchange"`` — exchange the spins of two distinct sites chosen uniformly (keeps total Sᶻ; the chains
  start at Sᶻ = 0, the sector of the Heisenberg antiferromagnet's ground state).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physgen.errors import UserError

RULES = ("flip", "exchange")


@dataclass
class Chains:
    """Configurations ``s (B, N)`` (±1 float64) and their ``log_psi (B,)``."""

    s: np.ndarray
    log_psi: np.ndarray


def start(ansatz, n_sites: int, walkers: int, rule: str, rng: np.random.Generator) -> Chains:
    """Uniformly random configurations; Sᶻ = 0 ones (half the spins up) for the exchange rule."""
    if rule == "exchange":
        half = np.where(np.arange(n_sites) < n_sites // 2, 1.0, -1.0)
        s = rng.permuted(np.tile(half, (walkers, 1)), axis=1)
    else:
        s = rng.choice([-1.0, 1.0], size=(walkers, n_sites))
    return Chains(s, ansatz.log_psi(s))


@dataclass(frozen=True)
class Metropolis:
    """Single-flip or exchange Metropolis; ``sweep`` returns the fraction of accepted proposals."""

    rule: str = "flip"

    def __post_init__(self):
        if self.rule not in RULES:
            raise UserError(f"must be one of {', '.join(RULES)}, got {self.rule!r}", key="sampler")

    def sweep(self, ansatz, chains: Chains, rng: np.random.Generator) -> float:
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


def sample(ansatz, sampler: Metropolis, chains: Chains, sweeps: int, rng: np.random.Generator, *,
           burn_in: int = 0) -> tuple[np.ndarray, float]:
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
