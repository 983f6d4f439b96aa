"""``wgan-gp --set model.match_observables=W``: the Ising observables per site, the per-temperature targets,
the split-half penalty (exact values, zero at the targets, unbiased where the squared batch mean is not),
bad input, and a run that trains, checkpoints the targets and resumes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from physgen.data import Dataset, save
from physgen.errors import UserError
from physgen.models import registry
from physgen.models.base import DataSpec
from physgen.models.gan.observables import ObservableMatching, observables

G = lambda seed=0: torch.Generator().manual_seed(seed)  # noqa: E731
SPEC = DataSpec("spins", (4, 4), None, ("temperature",), {"temperature": (2.0, 3.0)})
SMALL = {"arch": "conv", "width": 4, "dilations_g": (1,), "dilations_d": (1,), "latent": 2}
UP = torch.ones(4, 4)
CHECKER = (torch.arange(4)[:, None] + torch.arange(4)[None, :]) % 2 * 2.0 - 1  # antiferromagnet


def matcher(x: torch.Tensor, t: torch.Tensor, fluctuations: bool = False) -> ObservableMatching:
    model = registry.build("wgan-gp", {**SMALL, "match_observables": 1.0, "match_fluctuations": fluctuations}, SPEC)
    model.observables.fit(x, t[:, None])
    return model.observables


def test_observables_of_simple_lattices():
    s = observables(torch.stack([UP, -UP, CHECKER]))
    torch.testing.assert_close(s, torch.tensor([[1.0, 1.0, -2.0], [1.0, 1.0, -2.0], [0.0, 0.0, 2.0]]))


def test_targets_are_the_data_means_per_temperature():
    x = torch.stack([UP, -UP, CHECKER, UP])
    t = torch.tensor([2.0, 2.0, 3.0, 3.0])
    obs = matcher(x, t)
    torch.testing.assert_close(obs.target, torch.tensor([[1.0, 1.0, -2.0], [0.5, 0.5, 0.0]]))
    torch.testing.assert_close(obs.scale, observables(x).std(0))


def test_penalty_is_zero_at_the_targets_and_exact_for_identical_lattices():
    x = torch.stack([UP, -UP, CHECKER, CHECKER])
    t = torch.tensor([2.0, 2.0, 3.0, 3.0])
    obs = matcher(x, t)
    c = obs.keys[[0, 0, 0, 1, 1, 1]]  # condition features of 2.0 ×3 and 3.0 ×3
    assert float(obs.penalty(torch.stack([UP, -UP, UP, CHECKER, CHECKER, CHECKER]), c)) == 0.0
    # every generated lattice all-up: each group's two half-means both equal s(UP) = (1, 1, −2)
    fake = UP.expand(6, 4, 4)
    d = (observables(UP[None])[0] - obs.target) / obs.scale          # (2, 3)
    expected = 0.5 * (d[0] ** 2).sum() + 0.5 * (d[1] ** 2).sum()
    torch.testing.assert_close(obs.penalty(fake, c), expected)
    # a group with a single lattice has no second half and contributes nothing
    torch.testing.assert_close(obs.penalty(fake[:4], c[:4]), 0.75 * (d[0] ** 2).sum())


def down_at(*sites: tuple[int, int]) -> torch.Tensor:
    x = UP.clone()
    for i, j in sites:
        x[i, j] = -1
    return x


def test_fluctuations_catch_a_mixture_with_the_right_means():
    """Four down spins in 16 (|m| = 1/2) with e = −1/2 (a 1×3 bar and a lone spin) as the data at T = 2; as
    fakes, the same |m| at e = 0 (four lone spins) and e = −1 (a 2×2 block), half and half.  Every half-batch
    has the data's ⟨|m|⟩, ⟨m²⟩ and ⟨e⟩, so the means-only penalty is exactly 0; the spread of e is not:
    ``fluctuations`` matches ⟨(e − ⟨e⟩_T)²⟩ (C), here 1/4 against the data's 0, and charges exactly
    ((1/4)/σ)², σ the spread of the data's squared deviations from their own temperature's means."""
    data = down_at((0, 0), (0, 1), (0, 2), (2, 0))
    lone, block = down_at((0, 0), (0, 2), (2, 0), (2, 2)), down_at((0, 0), (0, 1), (1, 0), (1, 1))
    torch.testing.assert_close(observables(torch.stack([data, lone, block])),
                               torch.tensor([[0.5, 0.25, -0.5], [0.5, 0.25, 0.0], [0.5, 0.25, -1.0]]))
    x, t = torch.stack([data, data, UP, CHECKER]), torch.tensor([2.0, 2.0, 3.0, 3.0])
    plain, full = matcher(x, t), matcher(x, t, fluctuations=True)
    # T = 3: |m| 1 and 0, e −2 and +2 -> variances 1/4 and 4; T = 2: identical lattices, no spread
    torch.testing.assert_close(full.target[:, 3:], torch.tensor([[0.0, 0.0], [0.25, 4.0]]))
    sd = torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.25, 4.0], [0.25, 4.0]]).std(0)
    torch.testing.assert_close(full.scale[3:], sd)
    fake = torch.stack([lone, lone, block, block])   # halves by rank: {lone, block} twice
    c = plain.keys[[0, 0, 0, 0]]                      # all at T = 2
    assert float(plain.penalty(fake, c)) == 0.0
    torch.testing.assert_close(full.penalty(fake, c), (0.25 / sd[1]) ** 2)


def test_penalty_is_unbiased_where_the_squared_batch_mean_is_not():
    """Fakes drawn from the data's own law (i.i.d. ±1 spins at both temperatures): the split-half penalty
    averages to 0 (|z| < 4 over 400 batches), while the squared batch mean is biased up by Var s / n — the
    term that would pull the generator towards identical lattices.  Power: the naive mean sits > 10 SE above 0."""
    g = G(3)
    data = torch.randint(0, 2, (4000, 4, 4), generator=g).float() * 2 - 1
    t = torch.tensor([2.0, 3.0]).repeat(2000)
    obs = matcher(data, t)
    pen, naive = [], []
    for _ in range(400):
        fake = torch.randint(0, 2, (32, 4, 4), generator=g).float() * 2 - 1
        idx = torch.randint(0, 2, (32,), generator=g)
        pen.append(float(obs.penalty(fake, obs.keys[idx])))
        s = observables(fake)
        naive.append(sum(float((((s[idx == k].mean(0) - obs.target[k]) / obs.scale) ** 2).sum()) for k in (0, 1)) / 2)
    pen, naive = np.array(pen), np.array(naive)
    assert abs(pen.mean()) < 4 * pen.std() / np.sqrt(len(pen))
    assert naive.mean() > 10 * naive.std() / np.sqrt(len(naive))


def test_penalty_gradient_pushes_the_observables_towards_the_targets():
    x = torch.stack([UP, UP, -UP, -UP])
    obs = matcher(x, torch.tensor([2.0, 2.0, 3.0, 3.0]))
    soft = torch.full((4, 4), 0.5)
    soft[0] = -0.2   # sampled lattice sign(y): 12 up, 4 down, |m| = 0.5 < target 1
    fake = soft.expand(4, 4, 4).clone().requires_grad_(True)
    obs.penalty(fake, obs.keys[[0, 0, 1, 1]]).backward()
    assert bool((fake.grad < 0).all())  # raising every spin lowers the penalty


def test_penalty_sees_the_sampled_spins_not_the_soft_outputs():
    """Soft outputs 0.5 everywhere sample to the all-up lattice, which is on target: no penalty, no pull
    (matching s(y) itself would push them to |y| = 1 and, for mixed signs, bias the sampled lattices)."""
    obs = matcher(torch.stack([UP, UP, -UP, -UP]), torch.tensor([2.0, 2.0, 3.0, 3.0]))
    fake = (0.5 * UP).expand(4, 4, 4).clone().requires_grad_(True)
    pen = obs.penalty(fake, obs.keys[[0, 0, 1, 1]])
    pen.backward()
    assert float(pen.detach()) == 0.0 and bool((fake.grad == 0).all())


def test_bad_input_is_refused():
    with pytest.raises(UserError, match="only for spin lattices"):
        registry.build("wgan-gp", {"match_observables": 1.0}, DataSpec("continuous", (3,)))
    two = DataSpec("spins", (4, 4), None, ("temperature", "field"), {"temperature": (2.0,), "field": (0.0,)})
    with pytest.raises(UserError, match="at most one continuous condition"):
        registry.build("wgan-gp", {**SMALL, "match_observables": 1.0}, two)
    with pytest.raises(UserError, match="match_observables"):
        registry.build("wgan-gp", {**SMALL, "match_observables": -1.0}, SPEC)
    with pytest.raises(UserError, match="match_fluctuations: needs model.match_observables"):
        registry.build("wgan-gp", {**SMALL, "match_fluctuations": True}, SPEC)


def test_run_trains_checkpoints_the_targets_and_resumes(tmp_path):
    from physgen.training import load_run, train

    rng = np.random.default_rng(0)
    x = np.where(rng.random((64, 4, 4)) < 0.5, 1, -1).astype(np.int8)
    x[:32] = 1  # "ordered" at T = 2
    save(Dataset(x, "spins", conditions={"temperature": np.repeat([2.0, 3.0], 32)}), tmp_path / "d.h5")
    sets = [f"model.{k}={v}" for k, v in {**SMALL, "dilations_g": "[1]", "dilations_d": "[1]"}.items()]
    sets += ["model.match_observables=5.0", "model.diagnostics=false", "train.batch_size=16"]
    train("wgan-gp", data=tmp_path / "d.h5", out=tmp_path / "run", sets=sets, steps=6, condition="temperature")
    target = load_run(tmp_path / "run").model.observables.target
    torch.testing.assert_close(target[0], torch.tensor([1.0, 1.0, -2.0]))
    summary = train("wgan-gp", data=None, out=tmp_path / "run", resume=True, steps=10)
    assert summary["steps"] == 10 and summary["status"] == "completed"
    torch.testing.assert_close(load_run(tmp_path / "run").model.observables.target, target)
