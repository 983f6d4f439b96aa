"""The DBN's greedy schedule: one layer trained at a time, the decay per layer, the stop when the schedule is
done, an exact resume from a checkpoint; ``physgen train/sample/score dbn`` and its bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from physgen.models.base import DataSpec
from physgen.models.dbn import DBN, DBNConfig
from physgen.training import checkpoint as ckpt


def _digits(tmp_path, cli):
    path = tmp_path / "digits.h5"
    code, _, err = cli("data", "digits", "--binarize", "0.5", "--out", path)
    assert code == 0, err
    return path


@pytest.mark.parametrize("closed_form", [True, False])
def test_only_the_current_layer_learns_and_its_gradient_decays(closed_form):
    torch.manual_seed(0)
    x = (torch.rand(64, 10) < 0.3).float()
    model = DBN(DBNConfig(layers=[6, 4], steps_per_layer=5, sparsity_cost=0.0 if closed_form else 0.1),
                DataSpec("binary", (10,)))
    assert ("closed-form-gradients" in model.capabilities) is closed_form
    g = torch.Generator().manual_seed(0)
    scales = []
    for t in range(10):
        model.zero_grad(set_to_none=True)
        scales.append(model._scale())
        if closed_form:
            model.gradients({"x": x}, generator=g)
        else:
            model.loss({"x": x}, generator=g)[0].backward()
        layer = 0 if t < 5 else 1
        assert model.rbms[layer].W.grad is not None and model.rbms[1 - layer].W.grad is None
    assert scales == [1.0, 0.8, 0.6, 0.4, 0.2] * 2
    assert model.schedule_done and model.layer == 1 and int(model.updates) == 10


def test_the_decay_scales_the_layer_gradient():
    x = (torch.rand(32, 8, generator=torch.Generator().manual_seed(1)) < 0.4).float()
    grads = []
    for decay in ("constant", "linear"):
        model = DBN(DBNConfig(layers=[5], steps_per_layer=4, decay=decay), DataSpec("binary", (8,)))
        torch.manual_seed(0)
        with torch.no_grad():
            model.rbms[0].W.copy_(torch.randn(model.rbms[0].W.shape))
        g = torch.Generator().manual_seed(0)
        for _ in range(2):
            model.zero_grad(set_to_none=True)
            model.gradients({"x": x}, generator=g)
        grads.append(model.rbms[0].W.grad.clone())
    assert torch.allclose(grads[1], 0.75 * grads[0], atol=1e-6)


def _model_tensors(run):
    tensors, state = ckpt.load(ckpt.latest(run / "checkpoints"), model="dbn")
    return {k: v for k, v in tensors.items() if k.startswith("model.")}, state


def test_cli_train_stops_after_the_schedule_and_resumes_exactly(tmp_path, cli):
    """2 × 20 greedy updates and 10 up-down updates; the second run stops inside the fine-tuning and resumes."""
    data = _digits(tmp_path, cli)
    common = ["--data", data, "--epochs", "1000", "--set", "model.layers=[16,8]", "--set", "model.steps_per_layer=20",
              "--set", "model.finetune_steps=10",
              "--set", "model.monitor_every=7", "--set", "train.log_every=5"]
    code, _, err = cli("train", "dbn", "--out", tmp_path / "a", *common)
    assert code == 0, err
    a, state = _model_tensors(tmp_path / "a")
    assert state["step"] == 50 and int(a["model.updates"]) == 50 and int(a["model.untied"]) == 1
    code, _, err = cli("train", "dbn", "--out", tmp_path / "b", *common, "--steps", "45")
    assert code == 0, err
    code, _, err = cli("train", "dbn", "--out", tmp_path / "b", "--resume", "--steps", "1000")
    assert code == 0, err
    b, state = _model_tensors(tmp_path / "b")
    assert state["step"] == 50
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    code, out, err = cli("sample", tmp_path / "a", "--n", "20", "--out", tmp_path / "s.h5")
    assert code == 0, err
    from physgen.data import load
    s = load(tmp_path / "s.h5")
    assert s.kind == "binary" and s.samples.shape == (20, 8, 8)
    code, out, err = cli("score", tmp_path / "a", "--data", data, "--method", "ais", "--k", "3",
                         "--out", tmp_path / "scores.h5")
    assert code == 0, err
    import h5py
    with h5py.File(tmp_path / "scores.h5") as f:
        lp = f["log_prob"][:]
        assert f.attrs["method"] == "ais" and f.attrs["posterior"] == "sampled" and f.attrs["mc_error"] > 0
        assert np.isfinite(lp).all() and len(lp) == 1797 and np.isfinite(f.attrs["log_z_error"])


@pytest.mark.parametrize("value,needs", [("[]", "non-empty list"), ("[16,0]", "integer >= 1"),
                                         ("[-3]", "integer >= 1")])
def test_bad_layer_lists_are_one_line_exit_2(tmp_path, cli, value, needs):
    data = _digits(tmp_path, cli)
    code, out, err = cli("train", "dbn", "--data", data, "--out", tmp_path / "r", "--set", f"model.layers={value}")
    assert code == 2 and "model.layers" in err and needs in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()


def test_conditioned_data_are_refused():
    from physgen.errors import UserError

    spec = DataSpec("spins", (4,), None, ("temperature",), {"temperature": (2.0, 3.0)})
    with pytest.raises(UserError, match="data.condition"):
        DBN(DBNConfig(layers=[3]), spec)


def test_tied_start_makes_the_bound_the_lower_rbms_likelihood():
    """With ``tie_init`` the second RBM starts as the first transposed: at that moment the DBN is the first RBM,
    so the (enumerated) bound equals its exact log-likelihood; the tie happens before the layer's first update."""
    from physgen.models.rbm.partition import all_states, exact_log_prob_all

    x = (torch.rand(64, 6, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    model = DBN(DBNConfig(layers=[4, 6], steps_per_layer=30, tie_init=True), DataSpec("binary", (6,)))
    g = torch.Generator().manual_seed(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(31):   # layer 0's 30 updates, then layer 1's first (tie, then update)
        opt.zero_grad(set_to_none=True)
        model.gradients({"x": x}, generator=g)
        opt.step()
    r0, r1 = model.rbms
    with torch.no_grad():   # undo the one update of layer 1: back to the tied start
        tied = [r0.W.mT, r0.b, r0.a]
        assert all(torch.allclose(p, t, atol=0.05) and not torch.equal(p, t) for p, t in zip(r1.parameters(), tied))
        for p, t in zip(r1.parameters(), tied):
            p.copy_(t)
    v = all_states(6)
    bound, _ = model.double().log_prob(v, method="bound")
    rbm = exact_log_prob_all(r0.energy().detach().to(torch.float64))
    assert torch.allclose(bound, rbm, atol=1e-9)


def test_tie_init_needs_matching_sizes():
    from physgen.errors import UserError

    with pytest.raises(UserError, match="model.tie_init: layer 2 must have as many units as the data"):
        DBN(DBNConfig(layers=[4, 5], tie_init=True), DataSpec("binary", (6,)))
    with pytest.raises(UserError, match="Bernoulli units below"):
        DBN(DBNConfig(layers=[4, 6], tie_init=True), DataSpec("spins", (6,)))


def test_up_down_residuals_are_the_gradients_of_the_conditionals():
    """The wake (generative) and sleep (recognition) rules are the gradients of log p(s | h) and log q(h | v)."""
    from physgen.models.dbn.finetune import residual
    from physgen.models.dbn.likelihood import log_conditional, log_recognition
    from physgen.models.rbm.energy import RBMEnergy

    g = torch.Generator().manual_seed(0)
    h = (torch.rand(7, 3, generator=g) < 0.5).double()
    for visible, s in (("bernoulli", (torch.rand(7, 5, generator=g) < 0.5).double()),
                       ("spin", torch.where(torch.rand(7, 5, generator=g) < 0.5, 1.0, -1.0).double()),
                       ("gaussian", torch.randn(7, 5, generator=g, dtype=torch.float64))):
        W = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
        a, b = torch.randn(5, dtype=torch.float64), torch.randn(3, dtype=torch.float64, requires_grad=True)
        sigma = torch.full((5,), 0.7, dtype=torch.float64) if visible == "gaussian" else None
        e = RBMEnergy(visible, W, a, b, sigma)
        log_conditional(e, s, h).sum().backward()
        r = residual(e.detach(), s, e.detach().visible_field(h))
        assert torch.allclose(W.grad, r.mT @ h, atol=1e-12)
        W.grad = None
        log_recognition(e, s, h).sum().backward()
        x = e.detach().hidden_logits(s)
        assert torch.allclose(W.grad, e.scaled(s).mT @ (h - torch.sigmoid(x)), atol=1e-12)
        assert torch.allclose(b.grad, (h - torch.sigmoid(x)).sum(0), atol=1e-12)


def test_up_down_fine_tuning_unties_and_raises_the_bound():
    """8 units from 3 noisy prototypes, layers [6, 5]: 1,500 greedy updates per layer, then 1,500 up-down
    updates.  Untying changes nothing at first; fine-tuning then raises the enumerated bound and the exact
    log p on the training data (measured: bound −3.61 -> −3.56, exact −3.61 -> −3.54; the top RBM keeps
    learning by CD during the up-down updates, part of the gain)."""
    g = torch.Generator().manual_seed(0)
    protos = (torch.rand(3, 8, generator=g) < 0.5).float()
    x = (protos[torch.randint(3, (2000,), generator=g)] + (torch.rand(2000, 8, generator=g) < 0.1).float()) % 2
    model = DBN(DBNConfig(layers=[6, 5], steps_per_layer=1500, finetune_steps=1500), DataSpec("binary", (8,)))
    assert set(model.parameter_groups()) == {"layer0", "layer1", "recognition"}
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
    gen = torch.Generator().manual_seed(1)

    def scores():
        m = model.double()
        out = [float(m.log_prob(x.double(), method=k)[0].mean()) for k in ("bound", "exact")]
        model.float()
        return out

    while not model.schedule_done:
        if int(model.updates) == model.greedy_steps:
            before = scores()
            model._untie()
            assert scores() == before and bool(model.untied)
        opt.zero_grad(set_to_none=True)
        model.gradients({"x": x[torch.randint(2000, (64,), generator=gen)]}, generator=gen)
        opt.step()
    after = scores()
    print(before, after)
    assert after[0] > before[0] + 0.01 and after[1] > before[1] and after[0] <= after[1]


def test_fine_tuning_loss_and_gradients_agree():
    x = (torch.rand(32, 6, generator=torch.Generator().manual_seed(0)) < 0.4).float()
    grads = []
    for path in ("gradients", "loss"):
        torch.manual_seed(0)
        model = DBN(DBNConfig(layers=[4, 3], steps_per_layer=2, finetune_steps=3), DataSpec("binary", (6,)))
        g = torch.Generator().manual_seed(0)
        for _ in range(5):
            model.zero_grad(set_to_none=True)
            if path == "gradients":
                model.gradients({"x": x}, generator=g)
            else:
                model.loss({"x": x}, generator=g)[0].backward()
        assert model.finetuning and bool(model.untied)
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and "rec.W.0" in grads[0] and "rbms.0.W" in grads[0]
    assert all(torch.allclose(grads[0][k], grads[1][k]) for k in grads[0])
