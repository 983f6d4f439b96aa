"""``epic-fm``: flow matching on point clouds with an EPiC network — equivariance, masks, the multiplicity
distribution, the CLI path train → sample → evaluate, and (slow) the learned distribution of a toy cloud."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from physgen.data import load, save
from physgen.data.pointcloud import from_arrays
from physgen.models.base import DataSpec
from physgen.models.pointcloud import EPiCFlowMatching, EPiCFMConfig
from physgen.errors import UserError

NAMES = ["eta_rel", "phi_rel", "pt_rel"]


def _clouds(n=200, p=8, seed=0, shift=0.0, counts=(3, 6)):
    rng = np.random.default_rng(seed)
    k = rng.choice(counts, n)
    mask = np.arange(p)[None] < k[:, None]
    x = np.stack([rng.normal(shift, 0.1, (n, p)), rng.normal(0, 0.1, (n, p)),
                  rng.lognormal(-2, 0.5, (n, p))], axis=2) * mask[..., None]
    return x, mask


def _model(p=8, labels=None):
    spec = DataSpec("pointcloud", (p, 3), tuple(NAMES), n_labels=labels)
    return EPiCFlowMatching(EPiCFMConfig(hidden=16, global_dim=8, layers=2, emb_dim=8, steps=4), spec)


def test_network_is_permutation_equivariant_and_ignores_padding():
    torch.manual_seed(0)
    model = _model()
    x, mask = _clouds(n=4)
    x = torch.tensor(x, dtype=torch.float32)
    m = EPiCFlowMatching.mask_of(x)
    t = torch.full((4,), 0.3)
    out = model.net(x, t, None, m)
    perm = torch.randperm(8)
    np.testing.assert_allclose(model.net(x[:, perm], t, None, m[:, perm]).detach(), out[:, perm].detach(),
                               atol=1e-5)
    assert torch.all(out[m[..., 0] == 0] == 0)


def test_config_errors():
    with pytest.raises(UserError, match="model.steps"):
        EPiCFMConfig(steps=0)
    with pytest.raises(UserError, match="model.sampler"):
        EPiCFMConfig(sampler="rk9")
    with pytest.raises(UserError, match="cannot model data of kind"):
        EPiCFlowMatching(EPiCFMConfig(), DataSpec("continuous", (3,)))


def test_cli_train_sample_evaluate(tmp_path, cli):
    xa, ma = _clouds(n=120, seed=0)
    xb, mb = _clouds(n=120, seed=1, shift=0.5)
    ds = from_arrays(np.concatenate([xa, xb]), np.concatenate([ma, mb]), names=NAMES,
                     labels=np.array([0] * 120 + [1] * 120))
    save(ds, tmp_path / "d.h5")
    code, _, err = cli("train", "epic-fm", "--data", tmp_path / "d.h5", "--out", tmp_path / "run", "--condition",
                       "labels", "--steps", "30", "--set", "model.hidden=16", "--set", "model.layers=1",
                       "--set", "model.steps=4", "--set", "data.val_fraction=0", "--no-progress")
    assert code == 0, err
    code, _, err = cli("sample", tmp_path / "run", "--n", "60", "--condition", "labels=1", "--out",
                       tmp_path / "s.h5")
    assert code == 0, err
    s = load(tmp_path / "s.h5")
    assert s.kind == "pointcloud" and s.shape == (8, 3) and np.all(s.labels == 1)
    assert set(s.mask.sum(axis=1).tolist()) <= {3, 6}
    code, _, err = cli("evaluate", "--real", tmp_path / "d.h5", "--fake", tmp_path / "s.h5", "--out",
                       tmp_path / "ev", "--metrics", "w1m,w1p")
    assert code == 0, err
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert m["w1p"]["value"] is not None
    code, _, err = cli("train", "epic-fm", "--data", tmp_path / "d.h5", "--out", tmp_path / "run2",
                       "--set", "model.steps=0")
    assert code == 2 and "model.steps" in err and len(err.strip().splitlines()) == 1


def test_the_sampler_is_a_velocity_sampler_and_solver_its_earlier_name(tmp_path, cli):
    """model.sampler names any velocity sampler (physgen sample --sampler too); model.solver, its earlier name,
    still sets it with a one-line note; a run saved with model.solver loads and samples without one."""
    import tomllib

    xa, ma = _clouds(n=60, seed=0)
    save(from_arrays(xa, ma, names=NAMES), tmp_path / "d.h5")
    train = ["train", "epic-fm", "--data", tmp_path / "d.h5", "--steps", "3", "--set", "model.hidden=8",
             "--set", "model.layers=1", "--set", "data.val_fraction=0", "--no-progress"]
    code, _, err = cli(*train, "--out", tmp_path / "run", "--set", "model.solver=euler")
    assert code == 0, err
    assert err.count("physgen: warning: model.solver is now called model.sampler") == 1
    assert tomllib.loads((tmp_path / "run" / "config.toml").read_text())["model"]["sampler"] == "euler"
    code, _, err = cli(*train, "--out", tmp_path / "both", "--set", "model.solver=euler", "--set",
                       "model.sampler=heun")
    assert code == 2 and "model.solver: is the earlier name of model.sampler" in err
    config = tmp_path / "run" / "config.toml"     # a run written before the rename
    config.write_text(config.read_text().replace("sampler = ", "solver = "))
    for sampler in ([], ["--sampler", "heun"], ["--sampler", "sde", "--steps", "3"]):
        code, _, err = cli("sample", tmp_path / "run", "--n", "5", "--out", tmp_path / "s.h5", "--overwrite",
                           *sampler)
        assert code == 0 and "warning" not in err, err


@pytest.mark.slow
def test_learns_a_gaussian_cloud():
    """Clouds of 4 particles whose (η, φ) are i.i.d. N((0.3, −0.2), 0.1²) and log p_T,rel ~ N(−2, 0.5²):
    after 1,500 steps the generated particles' means lie within 0.03 and their standard deviations within
    20 % of the truth (4,000 generated particles: the sampling error of a mean is 0.0016, of a std 1 %)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    n, p = 2000, 4
    x = np.stack([rng.normal(0.3, 0.1, (n, p)), rng.normal(-0.2, 0.1, (n, p)), rng.lognormal(-2, 0.5, (n, p))], 2)
    model = EPiCFlowMatching(EPiCFMConfig(hidden=64, global_dim=16, layers=2, steps=50),
                             DataSpec("pointcloud", (p, 3), tuple(NAMES)))
    g = torch.Generator().manual_seed(1)
    data = torch.tensor(x, dtype=torch.float32)
    model.on_fit_start({"x": data}, resumed=False, generator=g)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for step in range(1500):
        idx = torch.randint(0, n, (128,), generator=g)
        loss, _ = model.loss({"x": data[idx]}, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    s = model.sample(1000, generator=g).numpy().reshape(-1, 3)
    feats = np.stack([s[:, 0], s[:, 1], np.log(s[:, 2])], 1)
    np.testing.assert_allclose(feats.mean(0), [0.3, -0.2, -2.0], atol=0.03)
    np.testing.assert_allclose(feats.std(0), [0.1, 0.1, 0.5], rtol=0.2)
