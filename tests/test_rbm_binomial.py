"""Binomial visible units (grey levels k/N counted as n = N v): energies, log Z, the closed-form CD gradient
and the Gibbs sampler against exact enumeration over all (N + 1)^n visible states.

The sampler test uses the decision rule of tests/test_gibbs.py (Fisher-combined chi-square and largest-bin
p-values over five laws, both > 1e-3) with 20,000 draws per law over 27 states; its power is checked here:
the same draws judged against a law whose one weight is off by 0.2 are rejected (test_sampler_test_has_power).
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from physgen.data.digits import load_digits
from physgen.errors import UserError
from physgen.models.base import DataSpec, grey_grid
from physgen.models.rbm import RBM, RBMConfig, RBMEnergy
from physgen.models.rbm.partition import all_states, exact_log_z
from physgen.samplers.ais import ais_log_z
from physgen.samplers.gibbs import gibbs_sample
from test_gibbs import consistent, histogram_pvalues

N_TRIALS, N_VIS, N_HID = 2, 3, 3


def binomial_rbm(seed: int, trials: int = N_TRIALS, n: int = N_VIS, m: int = N_HID, shift: float = 0.0) -> RBMEnergy:
    g = torch.Generator().manual_seed(200 + seed)
    W = torch.randn(n, m, generator=g, dtype=torch.float64)
    W[0, 0] += shift
    return RBMEnergy("binomial", W, 0.5 * torch.randn(n, generator=g, dtype=torch.float64),
                     0.5 * torch.randn(m, generator=g, dtype=torch.float64), trials=trials)


def grid_states(n: int, trials: int) -> torch.Tensor:
    """All (N + 1)^n visible rows k/N, ``((N + 1)^n, n)`` float64."""
    return torch.tensor(list(itertools.product(range(trials + 1), repeat=n)), dtype=torch.float64) / trials


def brute_log_z(e: RBMEnergy) -> float:
    """log Σ_{n, h} C(N, n) exp(aᵀn + bᵀh + nᵀWh), the joint enumerated term by term."""
    terms = []
    for v in grid_states(e.n_visible, e.trials):
        n = v * e.trials
        log_c = sum(math.log(math.comb(e.trials, int(k))) for k in n.round().long())
        for h in all_states(e.n_hidden, dtype=torch.float64):
            terms.append(float(e.a @ n + e.b @ h + n @ e.W @ h) + log_c)
    return float(torch.logsumexp(torch.tensor(terms, dtype=torch.float64), 0))


def test_free_energy_and_log_z_match_enumeration():
    e = binomial_rbm(0)
    v = grid_states(N_VIS, N_TRIALS)
    hs = all_states(N_HID, dtype=torch.float64)
    joint = -e.energy(v[:, None].expand(-1, len(hs), -1), hs[None].expand(len(v), -1, -1))
    torch.testing.assert_close(e.free_energy(v), -torch.logsumexp(joint, 1))
    assert float(exact_log_z(e)) == pytest.approx(brute_log_z(e), abs=1e-9)
    base = RBMEnergy("binomial", torch.zeros_like(e.W), e.a, torch.zeros_like(e.b), trials=N_TRIALS)
    assert float(base.log_z_base()) == pytest.approx(brute_log_z(base), abs=1e-9)


def test_visible_conditional_is_binomial():
    e = binomial_rbm(1, trials=4)
    h = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64).expand(40000, -1)
    x = e.sample_visible(h, torch.Generator().manual_seed(0)) * 4
    assert bool((x == x.round()).all()) and float(x.min()) >= 0 and float(x.max()) <= 4
    p = torch.sigmoid(e.visible_field(h[:1]))[0]
    torch.testing.assert_close(x.mean(0), 4 * p, atol=0.03, rtol=0)          # mean N p (SE ≈ 0.005)
    torch.testing.assert_close(x.var(0), 4 * p * (1 - p), atol=0.05, rtol=0)  # variance N p (1 − p)


def exact_probs(e: RBMEnergy) -> torch.Tensor:
    v = grid_states(e.n_visible, e.trials)
    return torch.softmax(-e.free_energy(v), 0)


def state_counts(x: torch.Tensor, trials: int) -> torch.Tensor:
    n = (x * trials).round().long()
    index = (n * (trials + 1) ** torch.arange(n.shape[1] - 1, -1, -1)).sum(1)
    return torch.bincount(index, minlength=(trials + 1) ** n.shape[1])


def gibbs_pvalues(shift: float = 0.0) -> list[tuple[float, float]]:
    out = []
    for seed in range(5):
        e, g = binomial_rbm(seed), torch.Generator().manual_seed(seed)
        x = gibbs_sample(e, 20000, generator=g, burn_in=50)
        out.append(histogram_pvalues(state_counts(x, N_TRIALS), exact_probs(binomial_rbm(seed, shift=shift))))
    return out


def test_gibbs_matches_exact_distribution():
    p = gibbs_pvalues()
    assert consistent(p), p


def test_sampler_test_has_power():
    assert not consistent(gibbs_pvalues(shift=0.2))


def test_ais_matches_exact_log_z():
    e = binomial_rbm(2, n=6, m=4)
    r = ais_log_z(e, n_chains=200, n_betas=2000, generator=torch.Generator().manual_seed(0))
    assert abs(r.log_z - float(exact_log_z(e))) < 0.05


def _spec(levels: int | None = 16, shape=(2, 3)) -> DataSpec:
    return DataSpec("image", shape, levels=levels)


def test_closed_form_gradient_is_the_cd_gradient():
    """∂L/∂W = −(⟨n p(h|n)⟩_data − ⟨n p(h|n)⟩_neg) with the counts n = N v (CD-1, one chain per row)."""
    torch.manual_seed(0)
    model = RBM(RBMConfig(visible="binomial", n_hidden=4, method="cd", k=1), _spec(levels=4))
    data = torch.randint(0, 5, (32, 6)).float() / 4
    model.ready[0] = 1
    loss, _ = model.loss({"x": data.reshape(32, 2, 3)}, generator=torch.Generator().manual_seed(1))
    loss.backward()
    e = model.energy(0).detach()
    neg = e.gibbs_step(data, torch.Generator().manual_seed(1))
    stat = lambda v: (4 * v[:, :, None] * torch.sigmoid(e.hidden_logits(v))[:, None, :]).mean(0)  # noqa: E731
    torch.testing.assert_close(model.W.grad[0], -(stat(data) - stat(neg)))
    torch.testing.assert_close(model.a.grad[0], -4 * (data.mean(0) - neg.mean(0)))


def test_grey_grid_and_unit_choice():
    digits = load_digits().samples
    assert grey_grid(digits) == 16
    assert grey_grid(np.array([0.0, 0.5, 1.0])) == 2
    assert grey_grid(np.array([0.0, 0.3333, 1.0])) is None        # not on a grid to 1e-5
    assert grey_grid(np.linspace(0, 1, 300)) is None               # more levels than 255 steps
    assert RBM(RBMConfig(), _spec()).visible == "bernoulli"                 # auto: intensities as probabilities
    assert RBM(RBMConfig(visible="binomial"), _spec()).trials == 16
    with pytest.raises(UserError, match="model.visible=binomial"):
        RBM(RBMConfig(visible="binomial"), _spec(levels=None))
    with pytest.raises(UserError, match="model.visible=binomial"):
        RBM(RBMConfig(visible="binomial"), DataSpec("binary", (6,)))
    model = RBM(RBMConfig(visible="binomial", n_hidden=4, burn_in=5), _spec(levels=4))
    with pytest.raises(UserError, match="grid k/4"):
        model.loss({"x": torch.full((4, 2, 3), 0.3)}, generator=torch.Generator())
    x = model.sample(50, generator=torch.Generator().manual_seed(0), init="random")
    assert x.shape == (50, 2, 3) and bool((x * 4 == (x * 4).round()).all())
