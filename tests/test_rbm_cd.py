"""The closed-form CD path (physgen.models.rbm.cd): gradients equal autograd's, the hidden-state chains
and the logit-based spin flip sample the exact law, and the model trains through it unchanged.

Over generator seeds s + 1000 k (k = 0–19, one thread; the laws kept; benchmarks/test_margins.py rbm_cd): the
flip z-test |z| 0.71 ± 0.54, largest 1.7, against 4 (6.1 sd), the combined p of the five sweep tests 0.0025–0.99
(false-alarm rate 10⁻³; the smallest, hidden-state spin sweeps, one of 100 values)."""
from __future__ import annotations

import copy

import pytest
import torch

from physgen.models.base import DataSpec
from physgen.models.rbm import RBM, RBMConfig
from physgen.models.rbm.cd import ExplicitGradient, cd_gradients
from physgen.samplers.gibbs import flip_from_logits, sweeps
from physgen.models.rbm.energy import RBMEnergy
from test_gibbs import N, SEEDS, combined, small_rbm, visible_pvalue


def _units(visible: str, shape, g) -> torch.Tensor:
    if visible == "gaussian":
        return torch.randn(shape, generator=g, dtype=torch.float64)
    b = (torch.rand(shape, generator=g, dtype=torch.float64) < 0.5).double()
    return b if visible == "bernoulli" else 2 * b - 1


@pytest.mark.parametrize("visible", ["bernoulli", "spin", "gaussian"])
def test_gradients_equal_autograd_of_the_free_energy_difference(visible):
    g = torch.Generator().manual_seed(1)
    e = small_rbm(visible, 0, n=7, m=5)
    v0, vn = _units(visible, (11, 7), g), _units(visible, (13, 7), g)   # B != C on purpose
    value, dW, da, db = cd_gradients(e, v0, e.hidden_logits(v0), vn, e.hidden_logits(vn))
    params = [t.clone().requires_grad_() for t in (e.W, e.a, e.b)]
    ea = RBMEnergy(visible, *params, e.sigma)
    ref = ea.free_energy(v0).mean() - ea.free_energy(vn).mean()
    for got, want in zip((dW, da, db), torch.autograd.grad(ref, params)):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(value, ref.detach(), rtol=1e-12, atol=1e-12)


def test_explicit_gradient_hands_the_given_gradients_to_autograd():
    w, b = torch.zeros(3, requires_grad=True), torch.zeros(2, requires_grad=True)
    gw, gb = torch.tensor([1.0, -2.0, 3.0]), torch.tensor([0.5, 0.25])
    out = ExplicitGradient.apply(torch.tensor(7.0), (gw, gb), w, b)
    assert float(out.detach()) == 7.0
    (2 * out).backward()
    assert torch.equal(w.grad, 2 * gw) and torch.equal(b.grad, 2 * gb)


def test_flip_from_logits_is_the_free_energy_ratio():
    """Acceptance uses F(s) − F(−s) from the logits alone; the flipped logits are those of −s."""
    e, g = small_rbm("spin", 2), torch.Generator().manual_seed(0)
    s = _units("spin", (4000, 6), g)
    x = e.hidden_logits(s)
    v, x_new = flip_from_logits(e, s, x, torch.Generator().manual_seed(3))
    torch.testing.assert_close(x_new, e.hidden_logits(v))
    flipped = (v != s).all(-1).double()
    accept = torch.exp(e.flip_log_ratio(s)).clamp(max=1.0)
    # acceptance frequency matches min(1, p(-s)/p(s)): z-test on the mean over 4000 chains
    z = (flipped.mean() - accept.mean()) / (accept * (1 - accept)).mean().sqrt() * 4000 ** 0.5
    assert abs(float(z)) < 4


@pytest.mark.parametrize("visible,flip", [("bernoulli", False), ("spin", True), ("gaussian", False)])
def test_hidden_state_sweeps_keep_the_exact_hidden_law(visible, flip):
    """Chains run h -> v -> h; for Gaussian units the check is on the hidden marginal p(h) (exact by
    enumeration of h), for binary units on the visible states."""
    from physgen.models.rbm.partition import _log_g, all_states, states_index
    from test_gibbs import chi2_pvalue
    p = []
    for seed in SEEDS:
        e, g = small_rbm(visible, seed), torch.Generator().manual_seed(seed)
        h0 = torch.zeros(N, e.n_hidden, dtype=torch.float64)
        v, _, h = sweeps(e, h0, 60, g, flip=flip)
        if visible == "gaussian":
            hs = all_states(e.n_hidden)
            probs = torch.softmax(hs @ e.b + _log_g(e, e.a + hs @ e.W.T), 0)
            p.append(chi2_pvalue(torch.bincount(states_index(h), minlength=len(hs)), probs))
        else:
            p.append(visible_pvalue(e, v))
    assert combined(p) > 1e-3, p


@pytest.mark.parametrize("visible,flip", [("bernoulli", False), ("spin", True)])
def test_stacked_sweeps_sample_each_rbm_exactly(visible, flip):
    """K RBMs advanced together by batched products (the conditioned PCD path): each keeps its own law."""
    p = []
    for seed in SEEDS:
        es = [small_rbm(visible, 10 * seed + k) for k in range(3)]
        stacked = RBMEnergy(visible, torch.stack([e.W for e in es]), torch.stack([e.a for e in es])[:, None],
                            torch.stack([e.b for e in es])[:, None])
        v, _, _ = sweeps(stacked, torch.zeros(3, N, 4, dtype=torch.float64), 60, torch.Generator().manual_seed(seed),
                         flip=flip)
        p += [visible_pvalue(e, v[k]) for k, e in enumerate(es)]
    assert combined(p) > 1e-3, p


@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_closed_form_and_autograd_paths_give_the_same_update(method):
    """With an (inactive) sparsity cost the model falls back to autograd; both paths see the same
    negatives for the same generator, hence equal gradients."""
    spec = DataSpec("spins", (3, 3))
    x = {"x": 2 * (torch.rand(40, 3, 3, generator=torch.Generator().manual_seed(0)) < 0.5).float() - 1}
    grads = []
    for sparse in (0.0, 1e-300):
        torch.manual_seed(0)
        m = RBM(RBMConfig(n_hidden=5, method=method, k=2, n_chains=16, l2=0.01, l1=0.001, sparsity_cost=sparse,
                          monitor_every=10**6), spec)
        for step in range(3):
            m.zero_grad()
            loss, _ = m.loss(x, generator=torch.Generator().manual_seed(step))
            loss.backward()
        grads.append((float(loss.detach()), m.W.grad.clone(), m.a.grad.clone(), m.b.grad.clone()))
    assert grads[0][0] == pytest.approx(grads[1][0], rel=1e-5)
    for a, b in zip(grads[0][1:], grads[1][1:]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_gradients_without_autograd_equal_loss_backward(method):
    """RBM.gradients (the trainer's path when not distributed) writes exactly the .grad that loss().backward()
    gives for the same generator, adds to an existing .grad, and refuses the autograd-only configurations."""
    spec = DataSpec("spins", (3, 3), condition_names=("temperature",), condition_values={"temperature": (1.0, 2.0)})
    g = torch.Generator().manual_seed(0)
    batch = {"x": 2 * (torch.rand(24, 3, 3, generator=g) < 0.5).float() - 1,
             "cond": torch.tensor([[1.0]] * 10 + [[2.0]] * 14)}
    models = []
    for _ in range(3):
        torch.manual_seed(0)
        models.append(RBM(RBMConfig(n_hidden=5, method=method, k=2, n_chains=8, l2=0.01, monitor_every=10**6), spec))
    a, b, c = models
    assert "closed-form-gradients" in a.capabilities
    for step in range(4):  # persistent chains advance identically on all paths
        a.zero_grad(), b.zero_grad(), c.zero_grad()
        la, logs_a = a.loss(batch, generator=torch.Generator().manual_seed(step))
        la.backward()
        lb, logs_b = b.gradients(batch, generator=torch.Generator().manual_seed(step))
        assert not lb.requires_grad and float(lb) == float(la.detach()) and logs_a == logs_b
        lc, _ = c.gradients(batch, generator=torch.Generator().manual_seed(step))
        assert float(lc) == float(lb)
        for p, q, r in zip((a.W, a.a, a.b), (b.W, b.a, b.b), (c.W, c.a, c.b)):
            assert torch.equal(p.grad, q.grad) and torch.equal(q.grad, r.grad)
    before, fresh = b.W.grad.clone(), copy.deepcopy(b)
    fresh.zero_grad(set_to_none=True)
    fresh.gradients(batch, generator=torch.Generator().manual_seed(9))
    b.gradients(batch, generator=torch.Generator().manual_seed(9))
    torch.testing.assert_close(b.W.grad, before + fresh.W.grad)  # accumulated, not replaced
    sparse = RBM(RBMConfig(n_hidden=5, method=method, sparsity_cost=0.1), spec)
    assert "closed-form-gradients" not in sparse.capabilities
    with pytest.raises(NotImplementedError):
        sparse.gradients(batch, generator=g)


def test_conditioned_groups_get_their_own_gradients():
    spec = DataSpec("spins", (2, 2), condition_names=("temperature",),
                    condition_values={"temperature": (1.0, 2.0, 3.0)})
    m = RBM(RBMConfig(n_hidden=3, method="cd", monitor_every=10**6), spec)
    g = torch.Generator().manual_seed(0)
    x = 2 * (torch.rand(12, 2, 2, generator=g) < 0.5).float() - 1
    cond = torch.tensor([[1.0]] * 6 + [[3.0]] * 6)
    loss, _ = m.loss({"x": x, "cond": cond}, generator=g)
    loss.backward()
    assert m.W.grad[1].abs().sum() == 0 and m.W.grad[0].abs().sum() > 0 and m.W.grad[2].abs().sum() > 0


def test_bfloat16_products_under_medium_precision_match_float32():
    """RBMEnergy.fast(): a no-op at "highest"; at "medium" (where the CPU has bf16 kernels) logits, fields and
    CD statistics from the bf16 copy of W agree with float32 to bf16 rounding (~2⁻⁸ relative)."""
    from physgen.models.rbm.cd import stacked_gradients
    from physgen.models.nets import cpu_has_bf16_kernels
    g = torch.Generator().manual_seed(0)
    e = RBMEnergy("bernoulli", 0.3 * torch.randn(40, 30, generator=g), torch.randn(40, generator=g),
                  torch.randn(30, generator=g))
    v, h = (torch.rand(24, 40, generator=g) < 0.4).float(), (torch.rand(24, 30, generator=g) < 0.5).float()
    assert e.fast() is e  # default precision "highest"
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("medium")
    try:
        f = e.fast()
    finally:
        torch.set_float32_matmul_precision(before)
    if not cpu_has_bf16_kernels():
        assert f is e
        return
    assert f.Wc.dtype == torch.bfloat16 and f.W is e.W
    torch.testing.assert_close(f.hidden_logits(v), e.hidden_logits(v), rtol=0, atol=0.05)
    torch.testing.assert_close(f.visible_field(h), e.visible_field(h), rtol=0, atol=0.05)
    ref = stacked_gradients(e, v, e.hidden_logits(v), 10)
    got = stacked_gradients(f, v, f.hidden_logits(v), 10)
    vc = f.operands(v)  # the rows cast once and shared by both products: the same numbers
    assert vc.dtype == torch.bfloat16 and e.operands(v) is v
    for a, b in zip(stacked_gradients(f, v, f.hidden_logits(vc), 10, vc=vc), got):
        assert torch.equal(a, b)
    scale = float(e.free_energy(v).abs().mean())  # the loss is a difference of free energies of this size
    torch.testing.assert_close(got[0], ref[0], rtol=0, atol=0.01 * scale)
    for a, b in zip(got[1:], ref[1:]):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a, b, rtol=0.02, atol=0.02 * float(b.abs().max()))


def test_single_rbm_energy_cache_follows_in_place_updates_and_new_storage():
    """The detached energy of a single RBM is built once per parameter storage: in-place updates (the
    optimizer's) are seen through its views, its bfloat16 copy is refreshed, and a dtype change rebuilds it."""
    torch.manual_seed(0)
    m = RBM(RBMConfig(n_hidden=4, method="pcd", n_chains=3), DataSpec("binary", (5,)))
    before = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("medium")
        first = m._single_fast()
        with torch.no_grad():
            m.W.add_(1.0)
        again = m._single_fast()
        assert again is first and torch.equal(again.W, m.W[0])
        if again.Wc is not None:  # CPUs with bfloat16 kernels
            assert torch.equal(again.Wc, m.W[0].to(torch.bfloat16))
        m.double()
        rebuilt = m._single_fast()
        assert rebuilt is not first and rebuilt.W.dtype == torch.float64 and rebuilt.Wc is None
    finally:
        torch.set_float32_matmul_precision(before)
