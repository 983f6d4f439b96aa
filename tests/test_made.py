"""The MADE's incremental samplers against its teacher-forced pass (:mod:`physgen.models.made`).

Both samplers draw site i by comparing a uniform u_i with the conditional of the sites drawn before it, computed
incrementally (the first layer updated in place).  Re-drawing the same uniforms and recomputing every conditional
of the drawn lattices in one teacher-forced pass must give back the same choices, with the condition entering
additively or also through the logits' gain, and with context inputs.  In float64 the two computations differ
by rounding only, so a choice may differ only where u_i lies within 10⁻⁹ of a threshold, which the seeds here
never hit.
"""
from __future__ import annotations

import pytest
import torch

from physgen.models.made import MADE, sample_states
from physgen.randomness import rand

OPTIONS = [{}, {"gain": True}]


def random_made(d: int, per_site: int = 1, context: int = 0, **options) -> MADE:
    """A float64 MADE of ``d`` sites, hidden widths (16, 8), a 2-component condition, every weight N(0, 0.7²)."""
    torch.manual_seed(0)
    net = MADE(d, (16, 8), direct=True, act="tanh", cond_dim=2, per_site=per_site, context=context, **options)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0.0, 0.7)
    return net.double()


@pytest.mark.parametrize("context", [0, 3])
@pytest.mark.parametrize("options", OPTIONS)
def test_spin_sampler_draws_the_teacher_forced_conditionals(options, context):
    n, d = 4000, 9
    net = random_made(d, context=context, **options)
    like = torch.zeros((), dtype=torch.float64)
    c = torch.randn(n, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x = torch.randn(n, context, dtype=torch.float64, generator=torch.Generator().manual_seed(2)).sign() \
        if context else None
    s = net.sample(n, c, torch.Generator().manual_seed(3), like, x)
    u = rand((n, d), torch.Generator().manual_seed(3), like.device, like.dtype)
    logits = net(s, c, x)
    assert torch.equal(s > 0, logits > torch.log(u) - torch.log1p(-u))
    assert 0.2 < float((s > 0).double().mean()) < 0.8


@pytest.mark.parametrize("options", OPTIONS)
def test_state_sampler_draws_the_teacher_forced_conditionals(options):
    n, d, k = 4000, 6, 3
    net = random_made(d, per_site=k, **options)
    like = torch.zeros((), dtype=torch.float64)
    c = torch.randn(n, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    s = sample_states(net, n, c, torch.Generator().manual_seed(3), like, canonical=False)
    u = rand((n, d), torch.Generator().manual_seed(3), like.device, torch.float64)
    onehot = torch.nn.functional.one_hot(s, k).double().reshape(n, -1)
    cdf = torch.softmax(net(onehot, c).view(n, d, k), -1).cumsum(-1)
    assert torch.equal(s, torch.minimum((cdf < u[:, :, None]).sum(-1), torch.tensor(k - 1)))
    assert len(s.unique()) == k


def test_the_experts_sampler_draws_the_teacher_forced_conditionals():
    """Three MADEs joined by temperature gates (:mod:`physgen.models.van_experts`): conditions at the knots,
    between them and beyond them, each row's draw against the gated teacher-forced logits."""
    from physgen.models.van_experts import TemperatureExperts

    n, d = 4000, 9
    nets = [random_made(d, gain=True) for _ in range(3)]
    with torch.no_grad():
        for k, net in enumerate(nets):
            for p in net.parameters():
                p.mul_(1.0 + 0.3 * k)
    experts = TemperatureExperts(nets, torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64))
    like = torch.zeros((), dtype=torch.float64)
    c = torch.randn(n, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 1.5
    c[: n // 4, 0] = torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64).repeat(n // 4)[: n // 4]
    s = experts.sample(n, c, torch.Generator().manual_seed(3), like)
    u = rand((n, d), torch.Generator().manual_seed(3), like.device, like.dtype)
    assert torch.equal(s > 0, experts(s, c) > torch.log(u) - torch.log1p(-u))
    assert 0.2 < float((s > 0).double().mean()) < 0.8
