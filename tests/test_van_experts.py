"""The van's one network per training temperature (``model.experts``): gates, normalisation, sampling, the CLI."""
from __future__ import annotations

import pytest
import torch

from physgen.errors import UserError
from physgen.models.base import DataSpec
from physgen.models.van import VAN, VANConfig
from physgen.models.van_experts import TemperatureExperts
from tests.test_van import all_states, pooled_chi2, random_van, state_counts

TEMPS = (2.0, 2.5, 3.5)


def spec(temperatures=TEMPS, kind="spins", shape=(3, 3)) -> DataSpec:
    return DataSpec(kind, shape, None, ("temperature",), {"temperature": tuple(temperatures)})


def q_at(model: VAN, t: float):
    return model.log_prob(all_states(3), cond=torch.full((512, 1), t))[0]


def test_experts_auto_follows_the_run():
    """``experts = auto``: a network per temperature for 2–8 distinct temperatures of likelihood training on
    spins or binary data; off for one temperature, for nine, for the free energy and for labels."""
    def experts(temperatures=TEMPS, s=None, **kw):
        return VAN.resolve(VANConfig(**kw), s or spec(temperatures)).experts
    assert experts() == "on" and experts(experts="off") == "off"
    assert experts((2.5,)) == "off" and experts(tuple(1.5 + 0.2 * k for k in range(9))) == "off"
    assert experts(s=spec(kind="binary", shape=(2, 3))) == "on"
    assert experts(objective="free-energy") == "off"
    assert VAN.resolve(VANConfig(), DataSpec("spins", (3, 3), n_labels=3)).experts == "off"
    model = random_van(spec(), 0)
    assert isinstance(model.net, TemperatureExperts) and len(model.net.nets) == 3


def test_experts_on_where_they_cannot_be_is_one_error():
    with pytest.raises(UserError, match="model.experts"):
        VAN(VANConfig(experts="on"), DataSpec("spins", (3, 3)))


def test_gates_interpolate_between_neighbouring_temperatures():
    """At a training temperature one network alone; halfway, half of each neighbour; beyond the ends the nearest."""
    net = random_van(spec(), 0).net
    c = net.knots
    mid = (c[0] + c[1]) / 2
    w = net.weights(torch.stack([c[0], c[1], c[2], mid, c[0] - 1, c[2] + 1])[:, None])
    want = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0], [1, 0, 0], [0, 0, 1]], dtype=w.dtype)
    assert torch.allclose(w, want, atol=1e-6)


@pytest.mark.parametrize("t", [2.0, 2.2, 3.0, 4.0])
def test_log_q_is_normalised_at_and_between_the_training_temperatures(t):
    model = random_van(spec(), 1, hidden=(16, 8))
    assert float(torch.logsumexp(q_at(model, t), 0)) == pytest.approx(0.0, abs=1e-9)


def test_each_training_temperature_is_its_own_network():
    """Changing the network of T = 3.5 changes q at 3.5 and between 2.5 and 3.5, and leaves q at 2 and 2.5."""
    model = random_van(spec(), 2)
    before = {t: q_at(model, t) for t in (2.0, 2.5, 3.0, 3.5)}
    with torch.no_grad():
        for p in model.net.nets[2].parameters():
            p.add_(0.3)
    after = {t: q_at(model, t) for t in before}
    assert torch.equal(before[2.0], after[2.0]) and torch.equal(before[2.5], after[2.5])
    assert not torch.allclose(before[3.0], after[3.0]) and not torch.allclose(before[3.5], after[3.5])


@pytest.mark.parametrize("t, seed", [(2.5, 7), (3.0, 8)])
def test_samples_follow_log_q_at_a_knot_and_between_knots(t, seed):
    """100,000 draws on 3×3 at a training temperature (one network) and between two (the logits of both summed
    site by site) pass the χ² test over the 512 states against the teacher-forced q (p > 10⁻³) and fail against
    q at T = 2 (p < 10⁻¹⁰). False-alarm rate 10⁻³; over draw seeds 11 + 1000 k (k = 0–9, one thread) p was
    0.0014–0.96 at T = 2.5 and 0.18–1.0 at T = 3, and 0 (underflow) against q at T = 2."""
    model = random_van(spec(), 3, hidden=(16, 8))
    x = model.sample(100_000, generator=torch.Generator().manual_seed(seed), condition={"temperature": t})
    counts = state_counts(x)
    assert pooled_chi2(counts, q_at(model, t).exp().numpy() * len(x))[2] > 1e-3
    assert pooled_chi2(counts, q_at(model, 2.0).exp().numpy() * len(x))[2] < 1e-10


def test_training_moves_only_the_networks_of_the_batch_rows():
    """A likelihood step on lattices at T = 2 alone gives gradients to that temperature's network only."""
    model = random_van(spec(), 4).train()
    x = torch.randint(0, 2, (16, 3, 3)).float() * 2 - 1
    loss, _ = model.loss({"x": x, "cond": torch.full((16, 1), 2.0)}, generator=torch.Generator().manual_seed(0))
    loss.backward()
    touched = [any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in n.parameters())
               for n in model.net.nets]
    assert touched == [True, False, False]


def test_a_run_with_experts_trains_saves_samples_and_scores(cli, tmp_path):
    """``physgen train van`` on Wolff lattices of 4×4 at two temperatures holds a network each; the saved run
    loads them back (its log q of the data equals the trained model's) and samples between them."""
    import numpy as np

    from physgen.data import load, save
    from physgen.data.ising import simulate
    from physgen.training import load_run

    data = tmp_path / "ising.h5"
    save(simulate(4, [2.0, 3.0], 300, algorithm="wolff", seed=1), data)
    out = tmp_path / "run"
    code, _, err = cli("train", "van", "--data", data, "--condition", "temperature", "--out", out, "--steps", "60",
                       "--no-progress")
    assert code == 0, err
    run = load_run(out)
    assert run.model.config.experts == "on" and len(run.model.net.nets) == 2
    lp, _ = run.log_prob(load(data), method="exact")
    assert np.isfinite(lp).all() and -lp.mean() / 16 < np.log(2)
    code, _, err = cli("sample", out, "--n", "32", "--condition", "temperature=2.5", "--out", tmp_path / "s.h5")
    assert code == 0, err
    assert load(tmp_path / "s.h5").samples.shape == (32, 4, 4)



def test_a_run_saved_before_the_experts_loads_with_one_network(tmp_path):
    """A data run at two temperatures saved before ``model.experts`` existed (its config and checkpoints record
    none) had one shared MADE: it loads and samples with that network, not with today's ``auto`` choice."""
    from physgen.cli import main
    from physgen.data import save
    from physgen.data.ising import simulate
    from physgen.models.made import MADE
    from physgen.training import load_run
    from tests.test_checkpoint import forget_model_option

    data, run = tmp_path / "ising.h5", tmp_path / "old"
    save(simulate(4, [2.0, 3.0], 100, algorithm="wolff", seed=1), data)
    assert main(["train", "van", "--data", str(data), "--condition", "temperature", "--steps", "5",
                 "--set", "model.experts=off", "--out", str(run), "--no-progress"]) == 0
    forget_model_option(run, "experts")
    model = load_run(run).model
    assert model.config.experts == "off" and isinstance(model.net, MADE)
