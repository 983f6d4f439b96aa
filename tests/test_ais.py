"""Annealed importance sampling against exact log Z (trained RBMs on digits and Ising; random RBMs)."""
from __future__ import annotations

import pytest
import torch

from physgen.errors import UserError
from physgen.models.base import DataSpec
from physgen.models.rbm import RBM, RBMConfig, RBMEnergy
from physgen.models.rbm.partition import all_states, exact_log_z
from physgen.samplers.ais import ais_log_z, beta_schedule


def train(data: torch.Tensor, spec: DataSpec, n_hidden: int, epochs: int, lr: float) -> RBM:
    """A short explicit PCD loop (the trainer is tested elsewhere)."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    model = RBM(RBMConfig(n_hidden=n_hidden, method="pcd", k=1), spec)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for _ in range(epochs):
        perm = torch.randperm(len(data), generator=g)
        for i in range(0, len(data), 64):
            loss, _ = model.loss({"x": data[perm[i:i + 64]]}, generator=g)
            opt.zero_grad(), loss.backward(), opt.step()
    return model


def check_ais(e: RBMEnergy, seed: int = 0, **kw) -> None:
    exact = float(exact_log_z(e))
    r = ais_log_z(e, generator=torch.Generator().manual_seed(seed), **kw)
    assert abs(r.log_z - exact) < 0.1, (r, exact)
    assert abs(r.log_z - exact) < 3 * r.log_z_error + 1e-3, (r, exact)
    assert r.log_z_lower <= r.log_z + 1e-9 and r.log_z_upper >= r.log_z_reverse - 1e-9
    assert r.log_z_lower - 0.1 < exact < r.log_z_upper + 0.1          # the forward/reverse bracket


def test_ais_on_rbm_trained_on_digits():
    """64 visible × 20 hidden on binarized 8×8 digits; exact log Z by enumerating the 2^20 hidden states.
    Measured over training and AIS seeds 1000 k (k = 0–19, one thread): |log Z − exact| = 0.011 ± 0.010
    (largest 0.034; 9 sd inside 0.1) and 0.25 ± 0.22 of 3 standard errors (largest 0.69; 3.5 sd inside 1)."""
    from sklearn.datasets import load_digits
    data = torch.tensor(load_digits().data / 16 > 0.5, dtype=torch.float32)
    model = train(data, DataSpec("binary", (64,)), n_hidden=20, epochs=8, lr=0.05)
    e = model.energy(0).detach()
    assert float(e.W.abs().max()) > 0.5                    # a trained, non-trivial model
    base = torch.logit(data.mean(0).clamp(0.02, 0.98))     # Salakhutdinov & Murray's base-rate model
    check_ais(e, n_chains=64, n_betas=3000, base_a=base)


def test_ais_on_rbm_trained_on_ising():
    """16 spins × 16 hidden trained on exact 4×4 Ising samples at T = 2.5 (global flip move on).  Measured over
    data, training and AIS seeds s + 1000 k (k = 0–19, one thread): |log Z − exact| = 0.008 ± 0.006 (largest
    0.020; 16 sd inside 0.1) and 0.29 ± 0.22 of 3 standard errors (largest 0.77; 3.3 sd inside 1)."""
    from physgen.physics.exact import ExactIsing
    ising = ExactIsing(4, 2.5)
    g = torch.Generator().manual_seed(1)
    idx = torch.multinomial(torch.tensor(ising.probabilities), 5000, replacement=True, generator=g)
    data = torch.tensor(ising.states[idx.numpy()].reshape(-1, 16), dtype=torch.float32)
    e = train(data, DataSpec("spins", (4, 4)), n_hidden=16, epochs=5, lr=0.01).energy(0).detach()
    check_ais(e, n_chains=64, n_betas=3000, flip=True)


@pytest.mark.parametrize("visible", ["bernoulli", "spin", "gaussian"])
def test_ais_on_random_rbms(visible):
    g = torch.Generator().manual_seed(7)
    n = 12
    e = RBMEnergy(visible, torch.randn(n, 8, generator=g) * (0.3 if visible == "gaussian" else 1.0),
                  0.3 * torch.randn(n, generator=g), 0.3 * torch.randn(8, generator=g),
                  torch.ones(n) if visible == "gaussian" else None)
    check_ais(e, n_chains=100, n_betas=2000)


def test_ais_is_exact_for_independent_models():
    """W = 0 and base bias = a: every importance weight equals Z_B/Z_A: exact, zero spread."""
    e = RBMEnergy("bernoulli", torch.zeros(5, 3), torch.randn(5), torch.randn(3))
    r = ais_log_z(e, n_chains=10, n_betas=10, generator=torch.Generator().manual_seed(0))
    assert r.log_z == pytest.approx(float(exact_log_z(e)), abs=1e-9) and r.log_z_error < 1e-9


def test_schedules_and_bad_arguments():
    for kind in ("linear", "sigmoid", "sm"):
        b = beta_schedule(100, kind)
        assert len(b) == 101 and b[0] == 0 and b[-1] == 1 and bool((b[1:] >= b[:-1]).all())
    with pytest.raises(UserError):
        beta_schedule(1)
    with pytest.raises(UserError):
        beta_schedule(10, "cubic")
    with pytest.raises(UserError):
        ais_log_z(RBMEnergy("spin", torch.zeros(2, 2), torch.zeros(2), torch.zeros(2)), n_chains=1)


def test_exact_log_z_refuses_large_layers():
    e = RBMEnergy("bernoulli", torch.zeros(30, 30), torch.zeros(30), torch.zeros(30))
    with pytest.raises(UserError, match="ais"):
        exact_log_z(e)
    assert all_states(3).shape == (8, 3)
