"""Log-likelihood of a deep belief network: exact (tiny networks) and the variational lower bound.

A DBN with RBMs ``r_0 … r_{L−1}`` (``r_l`` couples layer ``h_l`` to ``h_{l+1}``, ``h_0 = v``) is the
generative model (Hinton, Osindero & Teh 2006)

``p(v, h_1, …, h_{L−1}) = p_0(v | h_1) · p_1(h_1 | h_2) ⋯ p_{L−2}(h_{L−2} | h_{L−1}) · p_top(h_{L−1})``

with ``p_l(h_l | h_{l+1})`` the visible conditional of ``r_l`` (factorial) and ``p_top = exp(−F_top)/Z_top``
the marginal of the top RBM ``r_{L−1}`` over its visible layer.  With the recognition distribution
``q(h | v) = Π_l q_l(h_{l+1} | h_l)`` (each ``r_l``'s hidden conditional, used as the upward pass),
Jensen's inequality gives the variational lower bound (Salakhutdinov & Murray 2008, eq. 14 for L = 2)

``log p(v) ≥ E_q[log p*(v, h)] + H[q(h | v)] − log Z_top``,   ``p* = p · Z_top``,

with equality iff ``q(h | v) = p(h | v)``.  The entropy term is taken as the sum of the conditional
entropies ``H[q_l(· | h_l)]`` along the chain (``E_q[−log q] = Σ_l E_q[H(q_l(· | h_l))]``), in closed form
for Bernoulli units: ``H = Σ_j softplus(x_j) − σ(x_j) x_j`` with ``x`` the hidden logits.  The
expectation is summed exactly over the ``2^U`` states of ``h_1 … h_{L−1}`` when ``U ≤`` :data:`ENUM_MAX`,
else estimated from ``k`` draws of ``q`` per data row (with its standard error).  The exact
``log p(v) = logsumexp_h log p*(v, h) − log Z_top`` needs the same enumeration.  Energies are
:class:`physgen.models.rbm.energy.RBMEnergy` (computed in float64).
"""
from __future__ import annotations

import math

import torch
from torch.nn.functional import softplus

from physgen.errors import UserError, as_written
from physgen.models.rbm.energy import RBMEnergy
from physgen.models.rbm.partition import all_states
from physgen.samplers.draws import bernoulli

ENUM_MAX = 16          # hidden units below the top that are summed over exactly
_CHUNK = 2 ** 22       # rows × states per enumerated block


def log_conditional(e: RBMEnergy, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``log p(v | h)`` of ``e``'s visible units: ``(..., n), (..., m) -> (...)``; with ``f = a + Wh``,
    Bernoulli ``Σ v f − softplus f``, spin ``Σ s f − log 2cosh f``, Gaussian ``log N(v; f, σ²)``."""
    f = e.visible_field(h)
    if e.visible == "bernoulli":
        return (v * f - softplus(f)).sum(-1)
    if e.visible == "spin":
        return (v * f - f.abs() - torch.log1p(torch.exp(-2 * f.abs()))).sum(-1)
    return (-0.5 * ((v - f) / e.sigma) ** 2 - torch.log(e.sigma) - 0.5 * math.log(2 * math.pi)).sum(-1)


def hidden_entropy(e: RBMEnergy, v: torch.Tensor) -> torch.Tensor:
    """Entropy of ``q(h | v) = Π_j Bernoulli(σ(x_j))``: ``Σ_j softplus(x_j) − σ(x_j) x_j``;
    ``(..., n) -> (...)``."""
    x = e.hidden_logits(v)
    return (softplus(x) - torch.sigmoid(x) * x).sum(-1)


def log_recognition(e: RBMEnergy, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``log q(h | v) = Σ_j h_j x_j − softplus(x_j)``: ``(..., n), (..., m) -> (...)``."""
    x = e.hidden_logits(v)
    return (h * x - softplus(x)).sum(-1)


def log_joint(energies: list[RBMEnergy], layers: list[torch.Tensor]) -> torch.Tensor:
    """``log p*(v, h_1, …, h_{L−1}) = Σ_l log p_l(h_l | h_{l+1}) − F_top(h_{L−1})`` (``log Z_top`` not
    subtracted) for ``layers = [v, h_1, …, h_{L−1}]`` broadcastable to a common batch shape."""
    out = -energies[-1].free_energy(layers[-1])
    for l in range(len(energies) - 1):
        out = out + log_conditional(energies[l], layers[l], layers[l + 1])
    return out


def posterior_units(energies: list[RBMEnergy]) -> int:
    """``U``: the number of hidden units below the top RBM (those the bound averages over)."""
    return sum(e.n_hidden for e in energies[:-1])


def _states(energies: list[RBMEnergy], device) -> list[torch.Tensor]:
    """All joint states of ``h_1 … h_{L−1}`` as one ``(2^U, n_l)`` tensor per layer."""
    U = posterior_units(energies)
    if U > ENUM_MAX:
        raise UserError(f"exact DBN likelihood: {U} hidden units below the top layer; at most {ENUM_MAX} can be "
                        f"enumerated (use {as_written('method')} bound or ais)")
    s = all_states(U, device=device)
    out, start = [], 0
    for e in energies[:-1]:
        out.append(s[:, start:start + e.n_hidden])
        start += e.n_hidden
    return out


def _rows(n_states: int, n: int) -> range:
    return range(0, n, max(1, _CHUNK // max(n_states, 1)))


def _summed_over_states(energies: list[RBMEnergy], v: torch.Tensor, log_z: float, per_chunk) -> torch.Tensor:
    """``(N,)`` ``per_chunk(layers) − log Z`` over row chunks of ``v``, ``layers = [v_chunk (B, 1, n), *h_states]``
    enumerating ``h_1 … h_{L−1}``; a single RBM is its free energy."""
    v = v.double()
    if len(energies) == 1:
        return -energies[0].free_energy(v) - log_z
    hs = _states(energies, v.device)
    step = _rows(len(hs[0]), len(v))
    return torch.cat([per_chunk([v[i:i + step.step, None, :], *hs]) for i in step]) - log_z


def exact_log_prob(energies: list[RBMEnergy], v: torch.Tensor, log_z: float) -> torch.Tensor:
    """``log p(v)`` ``(N,)`` by summing over all states of ``h_1 … h_{L−1}`` (tiny networks only)."""
    return _summed_over_states(energies, v, log_z, lambda layers: torch.logsumexp(log_joint(energies, layers), -1))


def exact_bound(energies: list[RBMEnergy], v: torch.Tensor, log_z: float,
                recognition: list[RBMEnergy] | None = None) -> torch.Tensor:
    """The variational lower bound ``(N,)`` with ``E_q`` summed exactly over ``h_1 … h_{L−1}``; ``q`` is
    ``recognition`` (one energy per directed layer; default the RBMs' own hidden conditionals)."""
    rec = energies[:-1] if recognition is None else recognition

    def expected(layers):
        log_q = sum(log_recognition(rec[l], layers[l], layers[l + 1]) for l in range(len(energies) - 1))
        q = torch.exp(log_q)
        return torch.where(q > 0, q * (log_joint(energies, layers) - log_q), torch.zeros_like(q)).sum(-1)

    return _summed_over_states(energies, v, log_z, expected)


def sampled_bound(energies: list[RBMEnergy], v: torch.Tensor, log_z: float, k: int,
                  generator: torch.Generator | None, recognition: list[RBMEnergy] | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """The lower bound estimated from ``k`` draws ``h ~ q(h | v)`` per row: ``(bound (N,), its standard
    error (N,))``; each draw contributes ``log p*(v, h) + Σ_l H[q_l(· | h_l)]`` (unbiased for the bound)."""
    if k < 2:
        raise UserError(f"k={k}: the DBN bound needs k >= 2 posterior samples per row (for its error)")
    v = v.double()
    if len(energies) == 1:
        lp = -energies[0].free_energy(v) - log_z
        return lp, torch.zeros_like(lp)
    rec = energies[:-1] if recognition is None else recognition
    widest = max([v.shape[-1], *(e.n_hidden for e in energies)])
    step, means, errors = max(1, _CHUNK // (k * widest)), [], []
    for i in range(0, len(v), step):     # row blocks of k × rows × units <= _CHUNK values
        layers, entropy = [v[i:i + step].expand(k, *v[i:i + step].shape)], 0.0
        for e in rec:
            entropy = entropy + hidden_entropy(e, layers[-1])
            layers.append(bernoulli(torch.sigmoid(e.hidden_logits(layers[-1])), generator))
        terms = log_joint(energies, layers) + entropy               # (k, rows)
        means.append(terms.mean(0))
        errors.append(terms.std(0) / math.sqrt(k))
    return torch.cat(means) - log_z, torch.cat(errors)
