"""The hierarchical draw of the ``van`` (``model.arch = han``): the stages cover every site once, log q is
normalised over every 4×4 lattice, the draws follow log q (χ² on 3×3), the draw and the teacher-forced pass
agree on every lattice they make, and the context inputs of a MADE reach every logit."""
from __future__ import annotations

import pytest
import torch

from physgen.errors import UserError
from physgen.models.base import DataSpec
from physgen.models.hierarchical import plan
from physgen.models.made import MADE
from test_van import all_states, pooled_chi2, random_van, state_counts


@pytest.mark.parametrize("L", [2, 3, 4, 5, 8, 10, 32])
def test_the_stages_cover_every_site_once(L):
    """Frame, crosses and single sites together hold each of the L² sites exactly once, whatever L (powers of 2
    and others); every ring site of a stage was drawn at an earlier stage."""
    groups = plan(L)
    sites = torch.cat([s.flatten() for _, s, _ in groups])
    assert sorted(sites.tolist()) == list(range(L * L))
    drawn: set[int] = set()
    for key, s, ring in groups:
        if ring is not None:
            assert set(ring.flatten().tolist()) <= drawn, key
        drawn |= set(s.flatten().tolist())


@pytest.mark.parametrize("z2", ["on", "off"])
@pytest.mark.parametrize("hidden", [(16,), (6, 4), ()])
def test_log_q_is_normalised_on_4x4(z2, hidden):
    """Σ_s q(s) = 1 over all 65,536 lattices of 4×4 to float64 rounding, with and without the Z₂ symmetrisation,
    for one hidden layer, two narrow ones and the linear model alone."""
    model = random_van(4, 0, arch="han", z2=z2, hidden=hidden)
    lq, _ = model.log_prob(all_states(4))
    assert float(torch.logsumexp(lq, 0)) == pytest.approx(0.0, abs=1e-9)


def test_a_conditioned_hierarchical_van_is_normalised_at_every_temperature():
    spec = DataSpec("spins", (3, 3), None, ("temperature",), {"temperature": (1.5, 3.0)})
    model = random_van(spec, 1, arch="han", hidden=(8,))
    assert model.config.gain == "on"
    for t in (1.5, 2.2, 3.0):
        lq, _ = model.log_prob(all_states(3), cond=torch.full((512, 1), t))
        assert float(torch.logsumexp(lq, 0)) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("z2", ["on", "off"])
def test_hierarchical_samples_follow_log_q(z2):
    """100,000 draws on 3×3 (frame, then the 2×2 interior's cross, then its last site) against q from the
    teacher-forced pass: the χ² test over the 512 states passes (p > 10⁻³), while the same counts against a van
    of other weights fail (p < 10⁻¹⁰).  False-alarm rate 10⁻³; over draw seeds 3 + 1000 k (k = 0–19, one
    thread) p was 0.069–0.91 (z2 on) and 0.010–0.90 (off), and 0 (underflow) against the other van."""
    model = random_van(3, 2, arch="han", hidden=(16, 8), z2=z2)
    other = random_van(3, 7, arch="han", hidden=(16, 8), z2=z2)
    x = model.sample(100_000, generator=torch.Generator().manual_seed(3))
    counts = state_counts(x)
    q = model.log_prob(all_states(3))[0].exp().numpy()
    assert pooled_chi2(counts, q * len(x))[2] > 1e-3
    assert pooled_chi2(counts, other.log_prob(all_states(3))[0].exp().numpy() * len(x))[2] < 1e-10


def test_the_proposal_scores_its_draws_as_log_prob_on_16x16():
    """On 16×16 (five stages) the draws' log q from the sampler's proposal equals the teacher-forced log q."""
    spec = DataSpec("spins", (16, 16), None, ("temperature",), {"temperature": (2.0, 3.0)})
    model = random_van(spec, 4, arch="han", hidden=(32,))
    s, lq = model.proposal({"temperature": 2.5}).draw(64, torch.Generator().manual_seed(0))
    want, _ = model.log_prob(s, cond=torch.full((64, 1), 2.5))
    assert torch.allclose(lq, want, atol=1e-9)


def test_context_inputs_reach_every_logit():
    """A MADE with context inputs: every logit, the first site's included, depends on the context; logit i on
    sites < i only; the incremental draw equals the teacher-forced pass on what it draws (same uniforms)."""
    torch.manual_seed(0)
    net = MADE(5, (12,), direct=True, act="tanh", cond_dim=2, gain=True, context=3).double()
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0.0, 0.7)
    s, c, x = torch.randn(1, 5).sign().double(), torch.randn(1, 2).double(), torch.randn(1, 3).double()
    jac = torch.autograd.functional.jacobian(lambda si, xi: net(si, c, xi), (s, x))
    d_s, d_x = jac[0][0, :, 0], jac[1][0, :, 0]                          # (5, 5), (5, 3)
    assert bool((d_x.abs() > 0).all())                                   # d ℓ_i / d x: every site
    assert bool(d_s.triu().eq(0).all()) and bool((d_s.tril(-1).abs() > 0).sum() >= 8)   # s_j, j < i only
    many = 2000
    cc, xx = c.expand(many, -1), x.expand(many, -1)
    drawn = net.sample(many, cc, torch.Generator().manual_seed(1), torch.zeros(1, dtype=torch.float64), xx)
    assert set(drawn.unique().tolist()) == {-1.0, 1.0}
    lq = net.log_prob(drawn, cc, xx)
    assert bool(torch.isfinite(lq).all())


def test_han_refuses_q_states_and_rectangles():
    with pytest.raises(UserError, match="model.arch=han"):
        random_van(DataSpec("spins", (4, 6)), 0, arch="han")
    with pytest.raises(UserError, match="model.arch=han"):
        random_van(DataSpec("categorical", (4, 4), n_states=3), 0, arch="han")


def test_a_tie_between_the_logit_and_the_uniform_draws_a_spin(monkeypatch):
    """With every uniform at ½ and every logit 0 (an untrained MADE without biases), u < σ(ℓ) is a tie: each
    site is −1, never 0, in float32 and float64."""
    import physgen.models.made as made

    monkeypatch.setattr(made, "rand", lambda shape, generator, device, dtype: torch.full(shape, 0.5, dtype=dtype))
    for dtype in (torch.float32, torch.float64):
        net = MADE(6, (8,), direct=True, act="tanh", cond_dim=0, context=2).to(dtype)
        with torch.no_grad():
            for p in net.parameters():
                p.zero_()
        s = net.sample(4, None, None, torch.zeros(1, dtype=dtype), torch.ones(4, 2, dtype=dtype))
        assert s.dtype == dtype and bool((s == -1).all())
