"""Samplers against exact enumeration: chi-square over all states and the largest one-state |z|
(Bonferroni), repeated over five laws, each statistic's p-values combined (Fisher).

Measured power (``python benchmarks/power.py gibbs``, 200 repetitions of exact draws through
``histogram_pvalues`` and ``consistent``): a 5% excess in the most probable state of every law is caught
198/200 (Bernoulli RBMs) and 200/200 (spin) with the plain Gibbs tests' 50,000 samples per law, 55/200
and 175/200 with 20,000 (the thinned and replica tests; parallel tempering draws 10,000: less).  A 2%
excess: 3/200 and 36/200 at 50,000.  No bias: ≤ 1/200.  The chi-square alone caught the 5% excess
102/200 (Bernoulli, 50,000) and 5/200 (Bernoulli, 20,000): the largest-bin statistic is what sees it.
A model whose one weight is off by 0.2 is rejected outright (test_test_has_power).

False-alarm rate of each rule: 10⁻³ per statistic.  Over generator seeds s + 1000 k (k = 0–19, one thread;
the five laws kept; benchmarks/test_margins.py gibbs) the 17 combined or single p of these tests lie in
0.0025–1.0 (340 values, the smallest about 1/340 as uniform p give: parallel tempering, Bernoulli χ²); at the
tests' own seeds 0.035 or more (plain Gibbs, Bernoulli χ² 0.035; spin with flips 0.038 and 0.046).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from physgen.models.rbm.energy import RBMEnergy
from physgen.models.rbm.partition import _log_g, all_states, exact_log_prob_all, states_index
from physgen.samplers.gibbs import flip_move, gibbs_sample
from physgen.samplers.tempering import default_betas, pt_sample, pt_sweep

SEEDS = range(5)
N = 20000           # samples per law
N_EXACT = 50000     # ... in the plain Gibbs tests


def small_rbm(visible: str, seed: int, n: int = 6, m: int = 4) -> RBMEnergy:
    g = torch.Generator().manual_seed(100 + seed)
    W = torch.randn(n, m, generator=g, dtype=torch.float64) * (0.5 if visible == "gaussian" else 1.0)
    sigma = 0.5 + torch.rand(n, generator=g, dtype=torch.float64) if visible == "gaussian" else None
    return RBMEnergy(visible, W, 0.5 * torch.randn(n, generator=g, dtype=torch.float64),
                     0.5 * torch.randn(m, generator=g, dtype=torch.float64), sigma)


def histogram_pvalues(counts: torch.Tensor, probs: torch.Tensor) -> tuple[float, float]:
    """(Pearson chi-square p, largest-bin p) of state counts against exact probabilities; states expected
    fewer than 5 times are pooled into one bin.  The second is the largest |z| = |O − E| / √(E (1 − p))
    over the K bins as a Bonferroni-corrected two-sided p, min(1, 2 K Φ(−|z|)): a one-state excess that
    the chi-square dilutes over its degrees of freedom."""
    expected, observed = probs.numpy() * float(counts.sum()), counts.numpy().astype(float)
    rare = expected < 5
    if rare.any():
        expected = np.r_[expected[~rare], expected[rare].sum()]
        observed = np.r_[observed[~rare], observed[rare].sum()]
    expected = expected * observed.sum() / expected.sum()
    z = (observed - expected) / np.sqrt(expected * (1 - expected / expected.sum()) + 1e-300)
    bin_p = min(1.0, 2 * len(z) * float(stats.norm.sf(np.abs(z).max())))
    return float(stats.chisquare(observed, expected).pvalue), bin_p


def chi2_pvalue(counts: torch.Tensor, probs: torch.Tensor) -> float:
    """Pearson chi-square p (see histogram_pvalues)."""
    return histogram_pvalues(counts, probs)[0]


def visible_pvalues(e: RBMEnergy, x: torch.Tensor) -> tuple[float, float]:
    counts = torch.bincount(states_index(x), minlength=2 ** e.n_visible)
    return histogram_pvalues(counts, exact_log_prob_all(e).exp())


def visible_pvalue(e: RBMEnergy, x: torch.Tensor) -> float:
    return visible_pvalues(e, x)[0]


def combined(pvalues: list[float]) -> float:
    return float(stats.combine_pvalues(pvalues, method="fisher").pvalue)


def consistent(pairs: list[tuple[float, float]]) -> bool:
    """The decision rule: the Fisher-combined chi-square p and the combined largest-bin p both > 1e-3."""
    return all(combined([pair[k] for pair in pairs]) > 1e-3 for k in (0, 1))


@pytest.mark.parametrize("visible,flip", [("bernoulli", False), ("spin", False), ("spin", True)])
def test_gibbs_matches_exact_distribution(visible, flip):
    p = []
    for seed in SEEDS:
        e, g = small_rbm(visible, seed), torch.Generator().manual_seed(seed)
        p.append(visible_pvalues(e, gibbs_sample(e, N_EXACT, generator=g, burn_in=50, flip=flip)))
    assert consistent(p), p


def test_gibbs_with_thinning_and_data_init():
    """Fewer chains, thinning and initialisation from a fixed state still give the exact law."""
    p = []
    for seed in SEEDS:
        e, g = small_rbm("bernoulli", seed), torch.Generator().manual_seed(seed)
        x = gibbs_sample(e, N, generator=g, chains=2000, burn_in=100, thin=20, init=torch.ones(1, 6))
        p.append(visible_pvalues(e, x))
    assert consistent(p), p


def test_test_has_power():
    e, g = small_rbm("bernoulli", 0), torch.Generator().manual_seed(0)
    wrong = RBMEnergy("bernoulli", e.W + 0.2 * (torch.arange(4) == 0), e.a, e.b)
    assert visible_pvalue(e, gibbs_sample(wrong, N, generator=g, burn_in=50)) < 1e-6


@pytest.mark.parametrize("visible,flip", [("bernoulli", False), ("spin", True)])
def test_parallel_tempering_matches_exact_distribution(visible, flip):
    p = []
    for seed in SEEDS:
        e, g = small_rbm(visible, seed), torch.Generator().manual_seed(seed)
        x = pt_sample(e, N // 2, betas=default_betas(4, dtype=torch.float64), generator=g, burn_in=30, flip=flip)
        p.append(visible_pvalues(e, x))
    assert consistent(p), p


def test_every_pt_replica_samples_its_tempered_law():
    e, g = small_rbm("spin", 0), torch.Generator().manual_seed(0)
    betas = default_betas(3, 0.2, dtype=torch.float64)
    chains, rate = pt_sweep(e, e.random_visible((3, N), g), betas, g, steps=30)
    assert rate.shape == (2,) and bool(((rate > 0) & (rate <= 1)).all())
    p = [histogram_pvalues(torch.bincount(states_index(chains[r]), minlength=64),
                     torch.softmax(-e.tempered(float(b)).free_energy(all_states(6, spin=True)), 0))
         for r, b in enumerate(betas)]
    assert consistent(p), p


def test_gaussian_gibbs_hidden_marginal():
    """Gaussian–Bernoulli: the hidden marginal p(h) ∝ exp(bᵀh + Σ_i g_i(a_i + W_i h)) is enumerable."""
    p = []
    for seed in SEEDS:
        e, g = small_rbm("gaussian", seed), torch.Generator().manual_seed(seed)
        v = gibbs_sample(e, N, generator=g, burn_in=200)
        h = e.sample_hidden(v, g)
        hs = all_states(4)
        probs = torch.softmax(hs @ e.b + _log_g(e, e.a + hs @ e.W.T), 0)
        p.append(histogram_pvalues(torch.bincount(states_index(h), minlength=16), probs))
    assert consistent(p), p


def test_flip_move_is_exact_on_a_biased_model():
    """The spin-flip Metropolis move alone preserves p: start from p, one move, still p."""
    e, g = small_rbm("spin", 3), torch.Generator().manual_seed(3)
    probs = exact_log_prob_all(e).exp()
    x = all_states(6, spin=True)[torch.multinomial(probs, N, replacement=True, generator=g)]
    y, accept = flip_move(e, x, g)
    assert 0 < float(accept.double().mean()) < 1
    assert visible_pvalue(e, y) > 1e-3


def test_sampler_shapes_and_bad_arguments():
    from physgen.errors import UserError
    e, g = small_rbm("bernoulli", 0), torch.Generator().manual_seed(0)
    assert gibbs_sample(e, 10, generator=g, chains=3, burn_in=1, thin=2).shape == (10, 6)
    with pytest.raises(UserError):
        gibbs_sample(e, 10, generator=g, thin=0)
    with pytest.raises(UserError):
        gibbs_sample(e, 10, generator=g, init=np.ones((2, 5)))
    with pytest.raises(UserError):
        default_betas(1)


def test_bernoulli_draw_is_the_comparison_of_a_uniform_with_p():
    """The in-place draw ``[u − p < 0]`` gives exactly ``[u < p]`` for the same uniforms, including
    p = 0, p = 1 and p equal to the drawn u (sign of the rounded difference = sign of the exact one)."""
    from physgen.samplers.draws import bernoulli

    p = torch.rand(4000, generator=torch.Generator().manual_seed(1))
    p[:3] = torch.tensor([0.0, 1.0, 0.5])
    u = torch.rand(p.shape, generator=torch.Generator().manual_seed(7))
    p[3:6] = u[3:6]                                 # ties: u < p is False
    h = bernoulli(p, torch.Generator().manual_seed(7))
    assert h.dtype == p.dtype
    assert torch.equal(h, (u < p).to(p.dtype))
    assert h[0] == 0 and h[1] == 1 and not h[3:6].any()
    out = torch.full((2, 2000), 5.0)
    into = bernoulli(p.reshape(2, 2000), torch.Generator().manual_seed(7), out=out[:, :])
    assert torch.equal(out.flatten(), h) and torch.equal(into, out)   # drawn in place: the same draws
