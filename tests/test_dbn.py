"""Deep belief networks: the likelihood maths on networks small enough to enumerate, sampling against the exact
marginal, the greedy schedule on the shared trainer (and its exact resume), and the CLI."""
from __future__ import annotations

import math

import pytest
import torch

from physgen.models.base import DataSpec
from physgen.models.dbn import DBN, DBNConfig
from physgen.models.rbm.partition import all_states, exact_log_prob_all, exact_log_z


def tiny(layers=(4, 3), visible="bernoulli", n=6, scale=1.0, seed=0, **kw) -> DBN:
    """A DBN on ``n`` units with random weights (std ``scale``) and biases (std 0.5)."""
    kind = {"bernoulli": "binary", "spin": "spins", "gaussian": "continuous"}[visible]
    model = DBN(DBNConfig(layers=list(layers), visible=visible, **kw), DataSpec(kind, (n,)))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for r in model.rbms:
            r.W.copy_(scale * torch.randn(r.W.shape, generator=g))
            r.a.copy_(0.5 * torch.randn(r.a.shape, generator=g))
            r.b.copy_(0.5 * torch.randn(r.b.shape, generator=g))
    return model.double()


def visible_states(model: DBN) -> torch.Tensor:
    return all_states(model.spec.n_features, spin=model.rbms[0].visible == "spin")


@pytest.mark.parametrize("layers,visible", [((4, 3), "bernoulli"), ((4, 3, 3), "bernoulli"), ((3, 4), "spin"),
                                            ((4, 3, 2), "spin")])
def test_exact_likelihood_is_normalised_and_the_bound_is_below_it(layers, visible):
    model = tiny(layers, visible)
    v = visible_states(model)
    exact, _ = model.log_prob(v, method="exact")
    bound, info = model.log_prob(v, method="bound")
    assert abs(float(torch.logsumexp(exact, 0))) < 1e-10          # Σ_v p(v) = 1
    assert info["posterior"] == "enumerated" and info["bound"] is True
    assert bool((bound <= exact + 1e-10).all())
    assert float((exact - bound).max()) > 1e-3                    # a real gap for a random network


def test_gaussian_bottom_bound_is_below_the_exact_density():
    model = tiny((3, 2), "gaussian", n=4, scale=0.5)
    v = torch.randn(50, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    exact, _ = model.log_prob(v, method="exact")
    bound, _ = model.log_prob(v, method="bound")
    assert bool((bound <= exact + 1e-10).all()) and float((exact - bound).max()) > 1e-4


def test_one_layer_is_the_rbm():
    model = tiny((3,))
    v = visible_states(model)
    e = model.rbms[0].energy().detach().to(torch.float64)
    want = exact_log_prob_all(e)
    for method in ("exact", "bound"):
        assert torch.allclose(model.log_prob(v, method=method)[0], want, atol=1e-12)


def test_bound_is_exact_when_the_top_rbm_is_the_bottom_one_transposed():
    """The top RBM r_1 = r_0ᵀ (weights transposed, biases swapped) has r_0's hidden marginal as its visible
    marginal, so the DBN is r_0 itself and q(h|v) = p(h|v): bound = exact log p = r_0's log p."""
    model = tiny((4, 6))
    r0, r1 = model.rbms
    with torch.no_grad():
        r1.W.copy_(r0.W.mT), r1.a.copy_(r0.b), r1.b.copy_(r0.a)
    v = visible_states(model)
    exact, _ = model.log_prob(v, method="exact")
    bound, _ = model.log_prob(v, method="bound")
    rbm = exact_log_prob_all(r0.energy().detach().to(torch.float64))
    assert torch.allclose(exact, rbm, atol=1e-10) and torch.allclose(bound, exact, atol=1e-10)


def test_bound_is_exact_when_the_weights_are_zero():
    """W_0 = 0 and a top RBM without weights whose visible bias is r_0's hidden bias: the prior of h_1 is
    factorial with p(h_1) = σ(b_0) = q(h_1 | v), which is then the exact posterior."""
    model = tiny((4, 3))
    r0, r1 = model.rbms
    with torch.no_grad():
        r0.W.zero_(), r1.W.zero_(), r1.a.copy_(r0.b)
    v = visible_states(model)
    exact, _ = model.log_prob(v, method="exact")
    bound, _ = model.log_prob(v, method="bound")
    assert torch.allclose(bound, exact, atol=1e-10)


def test_sampled_bound_and_ais_agree_with_the_exact_bound():
    """Measured over generator seeds 2 + 1000 k (k = 0–19, one thread): the sampled bound's |z| is 0.83 ± 0.72
    (largest 2.3, 2.2 at the test's seed) against 4 (false-alarm rate 6×10⁻⁵; 4.4 sd), and |log Z − exact| is
    0.09 ± 0.08 of its tolerance 4σ + 0.02 (largest 0.31; 11 sd)."""
    model = tiny((4, 3, 3), scale=0.8)
    v = visible_states(model)
    g = torch.Generator().manual_seed(2)
    exact_b, _ = model.log_prob(v, method="bound")
    mc, info = model.log_prob(v, method="bound", k=400, generator=g)
    assert info["posterior"] == "sampled" and info["posterior_samples"] == 400
    assert abs(float(mc.mean() - exact_b.mean())) < 4 * info["mc_error"] + 1e-9
    ais, info = model.log_prob(v, method="ais", generator=g, n_chains=200, n_betas=500)
    log_z = float(exact_log_z(model.rbms[-1].energy().detach().to(torch.float64)))
    assert abs(info["log_z"] - log_z) < 4 * info["log_z_error"] + 0.02
    assert info["log_z_lower"] <= info["log_z_upper"] + 0.05
    assert math.isclose(info["mean_log_prob_error"], math.hypot(info["mc_error"], info["log_z_error"]))
    assert torch.allclose(ais, exact_b + log_z - info["log_z"], atol=1e-9)


def test_sampled_bound_is_below_the_exact_likelihood_on_average():
    model = tiny((4, 3), scale=1.5)
    v = visible_states(model)
    bound, info = model.log_prob(v, method="bound", k=200, generator=torch.Generator().manual_seed(3))
    exact, _ = model.log_prob(v, method="exact")
    assert float(bound.mean()) < float(exact.mean()) - 10 * info["mc_error"]


def _chi2_p(model: DBN, n: int, seed: int, target: torch.Tensor) -> float:
    from scipy.stats import chisquare

    x = model.sample(n, generator=torch.Generator().manual_seed(seed), init="random", burn_in=100)
    counts = torch.bincount((x > 0.5).long() @ (2 ** torch.arange(x.shape[-1])), minlength=len(target)).double()
    expected = n * target
    keep = expected >= 5
    if not bool(keep.all()):   # the rare states as one bin
        counts = torch.cat([counts[keep], counts[~keep].sum()[None]])
        expected = torch.cat([expected[keep], expected[~keep].sum()[None]])
    obs, exp = counts.numpy(), expected.numpy()
    return float(chisquare(obs, exp * obs.sum() / exp.sum()).pvalue)


def _exact_marginal(model: DBN) -> torch.Tensor:
    return torch.exp(model.log_prob(visible_states(model), method="exact")[0])


def test_samples_follow_the_exact_marginal():
    """Gibbs in the top RBM then the down-pass, 20,000 independent chains, χ² against the enumerated p(v)
    (64 states, bins with fewer than 5 expected merged).  Measured over seeds 0-9: the correct network gives
    p = 0.07-0.67; shifting every bottom visible bias by 0.1 gives p < 1e-13 in 10 of 10 (the check below),
    by 0.04 p < 0.001 in 2 of 10 and p < 0.05 in 9 of 10 — the power ends near a 0.04 shift of the biases.
    False-alarm rate 10⁻³; p = 0.31 at the test's seed with 1 and 2 threads, 0.060–0.94 over seeds 1000 k
    (k = 0–19, one thread), where the 0.1 shift gave p ≤ 2×10⁻¹⁴."""
    model = tiny((4, 3), scale=1.0)
    target = _exact_marginal(model)
    assert _chi2_p(model, 20_000, 0, target) > 1e-3
    shifted = tiny((4, 3), scale=1.0)
    with torch.no_grad():
        shifted.rbms[0].a.add_(0.1)
    assert _chi2_p(shifted, 20_000, 0, target) < 1e-3


def test_sampled_bound_needs_two_draws():
    from physgen.errors import UserError

    model = tiny((4, 3))
    with pytest.raises(UserError, match="k=1"):
        model.log_prob(visible_states(model), method="bound", k=1)
    with pytest.raises(UserError, match="^method="):
        model.log_prob(visible_states(model), method="elbo")
