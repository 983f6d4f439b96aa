"""Symmetrisation of a q-state autoregressive model under every relabelling of the states (the Potts model's S_q).

The q-state Potts Hamiltonian without a field is invariant under the q! permutations π of the states,
E(π∘s) = E(s).  An exactly normalised model with the same invariance, at the cost of one network pass, is built
on the canonical representative of each orbit: the lattice relabelled in order of first appearance (the first
site becomes 0, the next new state 1, …; a restricted growth string, Knuth, *TAOCP* vol. 4A, §7.2.1.5).  With
q₀ an autoregressive model of canonical lattices only (at site i only states j ≤ 1 + max(c_<i) are allowed)::

    q(s) = q₀(c(s)) / |orbit(s)|,        |orbit(s)| = q! / (q − k)!,

where c(s) is the canonical form and k the number of distinct states in s (the stabiliser of s permutes the
q − k unused states).  Summing q over an orbit gives q₀(c), so q is normalised, and it is invariant under every
relabelling.  Sampling: draw c from q₀, then apply a uniformly random permutation of the q states, which
lands on each lattice of the orbit with probability 1/|orbit|.

Shapes: lattices ``(B, D)`` int64 states 0 … q−1.
"""
from __future__ import annotations

import torch

from physgen.randomness import rand


def canonical(s: torch.Tensor, q: int) -> torch.Tensor:
    """The canonical form ``(B, D)`` of lattices ``s (B, D)``: states renumbered in order of first appearance."""
    d = s.shape[1]
    sites = torch.arange(d, device=s.device)
    first = torch.where(s[:, :, None] == torch.arange(q, device=s.device), sites[:, None], d).amin(1)   # (B, q)
    new = first.argsort(1).argsort(1)                                 # state -> its rank of first appearance
    return new.gather(1, s)


def disallowed(c: torch.Tensor, q: int) -> torch.Tensor:
    """``(B, D, q)`` bool: True where state j may not follow ``c_<i`` in a canonical lattice ``c (B, D)``,
    j > 1 + max(c_<i) (j > 0 at the first site)."""
    before = torch.cat([torch.full_like(c[:, :1], -1), c[:, :-1].cummax(1).values], 1)
    return torch.arange(q, device=c.device)[None, None, :] > (before + 1)[:, :, None]


def log_orbit(c: torch.Tensor, q: int) -> torch.Tensor:
    """log |orbit| = log q! − log (q − k)! ``(B,)`` float64 of canonical lattices ``c (B, D)`` with k distinct
    states (k = 1 + max c)."""
    k = c.amax(1).double() + 1
    return torch.lgamma(torch.tensor(q + 1.0, dtype=torch.float64, device=c.device)) - torch.lgamma(q - k + 1)


def relabelled(c: torch.Tensor, q: int, generator: torch.Generator | None) -> torch.Tensor:
    """``c (B, D)`` with each row's states moved by its own uniformly random permutation of 0 … q−1."""
    perm = rand((len(c), q), generator, c.device, torch.float64).argsort(1)
    return perm.gather(1, c)
