"""The discrete Langevin sampler (DMALA / DULA) against the exact Boltzmann distribution of a 3×3 periodic
Ising model (512 states, β = 0.4), and the EBM that uses it on spins.

The statistic is a chi-square test of the histogram of the bond sum Σ s_i s_j over its levels (levels
with fewer than 5 expected counts merged), 4,000 independent chains after 100 steps from random spins.
Measured power (``python benchmarks/power.py discrete``: seeds 0..199, this test's rule p < 1e-3): chains
that target a coupling 3% too large are rejected 123/200 times, 5% too large 200/200, the exact target
0/200; the unadjusted chain (DULA) at α = 2 is rejected 200/200.  After only 40 steps the exact chains are
still rejected about half of the time: 100 steps is what it takes from random spins at α = 0.8.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from test_gibbs import chi2_pvalue as histogram_pvalue

from physgen.errors import UserError
from physgen.models.base import DataSpec
from physgen.models.ebm import EBM, EBMConfig
from physgen.samplers.discrete import dlp, to_spins

L, BETA = 3, 0.4


def bond_sum(x: torch.Tensor) -> torch.Tensor:
    s = x.reshape(len(x), L, L)
    return (s * torch.roll(s, 1, 1) + s * torch.roll(s, 1, 2)).sum((1, 2))


def chi2_pvalue(beta_chain: float, *, mh: bool = True, step_size: float = 0.8, steps: int = 100,
                n: int = 4000, seed: int = 0) -> float:
    states = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=L * L)))
    bonds = bond_sum(states).round().long().numpy()
    p = torch.softmax(BETA * torch.from_numpy(bonds).double(), 0).numpy()
    levels = np.unique(bonds)
    probs = np.array([p[bonds == v].sum() for v in levels])
    g = torch.Generator().manual_seed(seed)
    x0 = to_spins(torch.rand((n, L * L), generator=g) * 2 - 1)
    x = dlp(lambda y: beta_chain * bond_sum(y), x0, step_size=step_size, n_steps=steps, generator=g, mh=mh).samples
    b = bond_sum(x).round().long().numpy()
    observed = np.array([(b == v).sum() for v in levels])
    return histogram_pvalue(torch.from_numpy(observed), torch.from_numpy(probs))


def test_dmala_samples_the_exact_ising_distribution():
    """False-alarm rate 10⁻³ (the rule p > 10⁻³).  p over seeds 1000 k (k = 0–19, one thread): 0.036–0.96
    (0.16 at seed 0, the same at 1 and 2 threads)."""
    assert chi2_pvalue(BETA) > 1e-3


def test_the_test_sees_a_five_percent_coupling_error_and_the_unadjusted_bias():
    """Over seeds 0–4 and 1 and 2 threads: p ≤ 1.7×10⁻⁷ for the 5% coupling error, p = 0 (underflow) for DULA."""
    assert chi2_pvalue(1.05 * BETA) < 1e-3
    assert chi2_pvalue(BETA, mh=False, step_size=2.0) < 1e-3


def test_acceptance_and_flip_rates_at_the_default_step():
    """α = 0.8 on the 3×3 model (4,000 chains, 100 steps from random spins): 96% of the proposals are
    accepted and 3.7% of the spins flip per step (the figures docs/ebm.md quotes).  Measured over seeds 1000 k
    (k = 0–19, one thread): acceptance 0.9625 ± 0.0003 and flip rate 0.0368 ± 0.0002, at least 9.4 sd inside
    both bands."""
    g = torch.Generator().manual_seed(0)
    res = dlp(lambda y: BETA * bond_sum(y), to_spins(torch.rand((4000, L * L), generator=g) * 2 - 1),
              step_size=0.8, n_steps=100, generator=g)
    assert 0.95 < float(res.acceptance_rate.mean()) < 0.97 and 0.035 < res.flip_rate < 0.039


def test_states_stay_spins_and_rates_are_reported():
    g = torch.Generator().manual_seed(1)
    res = dlp(lambda y: BETA * bond_sum(y), to_spins(torch.rand(64, 9, generator=g) - 0.5), step_size=0.8,
              n_steps=5, generator=g)
    assert bool(((res.samples == 1) | (res.samples == -1)).all())
    assert res.acceptance_rate.shape == (64,) and 0 < float(res.acceptance_rate.mean()) <= 1
    assert 0 < res.flip_rate < 0.5


@pytest.mark.parametrize("kwargs, match", [({"n_steps": 0}, "n_steps"), ({"step_size": 0.0}, "step_size"),
                                           ({"x0": torch.zeros(4, 9)}, "±1")])
def test_bad_arguments(kwargs, match):
    args = {"x0": torch.ones(4, 9), "step_size": 0.8, "n_steps": 3, **kwargs}
    with pytest.raises(UserError, match=match):
        dlp(lambda y: y.sum(1), args.pop("x0"), generator=None, **args)


def test_ebm_on_spins_trains_and_samples_spin_configurations():
    spec = DataSpec("spins", (4, 4))
    model = EBM(EBMConfig(k_steps=3, buffer_size=64), spec)
    assert model.discrete
    g = torch.Generator().manual_seed(0)
    x = to_spins(torch.rand(32, 4, 4, generator=g) - 0.5)
    loss, logs = model.loss({"x": x}, generator=g)
    assert torch.isfinite(loss) and logs["blowup"] == 0.0
    spin_rows = ((model.buffer.data == 1) | (model.buffer.data == -1)).flatten(1).all(1)
    assert int(spin_rows.sum()) == 32   # the pushed negatives are spin configurations
    s = model.sample(10, generator=g)
    assert s.shape == (10, 4, 4) and bool(((s == 1) | (s == -1)).all())
    with pytest.raises(UserError, match="discrete"):
        model.sample(2, generator=g, sampler="langevin")
    snaps = model.chain_snapshots(3, generator=g, steps=(0, 2, 5))
    assert sorted(snaps) == [0, 2, 5] and bool(((snaps[5] == 1) | (snaps[5] == -1)).all())


def test_ebm_discrete_sampler_needs_discrete_data():
    with pytest.raises(UserError, match="sampler=discrete"):
        EBM(EBMConfig(sampler="discrete"), DataSpec("continuous", (2,)))
    assert not EBM(EBMConfig(sampler="langevin"), DataSpec("spins", (4, 4))).discrete


def test_conditioned_ebm_chains_keep_their_slot_condition():
    """Each replay slot has one condition, drawn from the training conditions; sampling at T starts from
    chains that evolved at T."""
    spec = DataSpec("spins", (4, 4), condition_names=("temperature",), condition_values={"temperature": (2.0, 3.0)})
    model = EBM(EBMConfig(k_steps=2, buffer_size=60), spec)
    g = torch.Generator().manual_seed(0)
    temps = torch.tensor([2.0, 3.0]).repeat(16)
    batch = {"x": to_spins(torch.rand(32, 4, 4, generator=g) - 0.5), "cond": temps[:, None]}
    model.on_fit_start(batch, resumed=False, generator=g)
    values = torch.unique(model.buffer.cond[:, 0])
    assert len(values) == 2 and bool(model.buffer.conditioned)
    before = model.buffer.cond.clone()
    model.loss(batch, generator=g)
    assert torch.equal(model.buffer.cond, before)          # training never relabels a slot
    c = model.cond(torch.full((5, 1), 3.0))
    slots = model.buffer.slots_like(c, g)
    assert torch.allclose(model.buffer.cond[slots], c)
    assert model.sample(5, generator=g, condition={"temperature": 3.0}).shape == (5, 4, 4)


def test_discrete_chains_start_and_restart_from_data_of_their_condition():
    """restart = auto -> data for discrete chains: the buffer is filled with training rows whose condition is
    the slot's (here T = 2 rows are all +1, T = 3 rows all −1), and fresh restarts follow the same rule."""
    spec = DataSpec("spins", (4, 4), condition_names=("temperature",), condition_values={"temperature": (2.0, 3.0)})
    model = EBM(EBMConfig(k_steps=1, buffer_size=40, reinit=1.0), spec)
    g = torch.Generator().manual_seed(0)
    temps = torch.tensor([2.0, 3.0]).repeat(8)
    x = torch.where(temps == 2.0, 1.0, -1.0)[:, None, None].expand(16, 4, 4).clone()
    batch = {"x": x, "cond": temps[:, None]}
    model.on_fit_start(batch, resumed=False, generator=g)
    start, slots = model.buffer.draw(16, g)
    at_two = model.buffer.cond[slots, 0] == model.cond(torch.tensor([[2.0]]))[0, 0]
    assert bool((start[at_two] == 1).all()) and bool((start[~at_two] == -1).all()) and 0 < int(at_two.sum()) < 16
    noise = EBM(EBMConfig(restart="noise", buffer_size=40), spec)
    noise.on_fit_start(batch, resumed=False, generator=g)
    assert noise.buffer.restart_x is None
