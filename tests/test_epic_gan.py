"""``epic-gan``: EPiC-GAN on point clouds — equivariance of its networks, the least-squares loss, masks and
the multiplicity distribution, the CLI path train → sample → evaluate, resume, bad input, and CUDA."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from physgen.data import load, save
from physgen.data.pointcloud import from_arrays
from physgen.errors import UserError
from physgen.models.base import DataSpec
from physgen.models.epic import EPiCLayer, mask_of
from physgen.models.gan.epic_gan import EPiCGAN, EPiCGANConfig

NAMES = ["eta_rel", "phi_rel", "pt_rel"]
SMALL = ["--set", "model.hidden=16", "--set", "model.layers_g=2", "--set", "model.layers_d=1",
         "--set", "data.val_fraction=0", "--no-progress"]


def _clouds(n=200, p=8, seed=0, shift=0.0, counts=(3, 6), probs=None):
    rng = np.random.default_rng(seed)
    k = rng.choice(counts, n, p=probs)
    mask = np.arange(p)[None] < k[:, None]
    x = np.stack([rng.normal(shift, 0.1, (n, p)), rng.normal(0, 0.1, (n, p)),
                  rng.lognormal(-2, 0.5, (n, p))], axis=2) * mask[..., None]
    return x, mask


def _model(p=8, labels=None, **cfg):
    spec = DataSpec("pointcloud", (p, 3), tuple(NAMES), n_labels=labels)
    return EPiCGAN(EPiCGANConfig(**{"hidden": 16, "global_dim": 4, "layers_g": 2, "layers_d": 2, **cfg}), spec)


def test_epic_layer_shapes_and_equivariance():
    torch.manual_seed(0)
    layer = EPiCLayer(8, 4, 2)
    h, g, ctx = torch.randn(3, 5, 8), torch.randn(3, 4), torch.randn(3, 2)
    mask = torch.ones(3, 5, 1)
    mask[0, 3:] = 0
    h2, g2 = layer(h * mask, g, ctx, mask)
    assert h2.shape == (3, 5, 8) and g2.shape == (3, 4) and torch.all(h2[0, 3:] == 0)
    perm = torch.tensor([4, 2, 0, 1, 3])
    h3, g3 = layer((h * mask)[:, perm], g, ctx, mask[:, perm])
    torch.testing.assert_close(h3, h2[:, perm])
    torch.testing.assert_close(g3, g2)


def test_generator_is_equivariant_and_discriminator_invariant():
    """Permuting the slots of (mask, point latent) permutes the generated cloud; permuting a cloud's particles
    leaves the discriminator's output unchanged; padded slots are zero."""
    torch.manual_seed(0)
    model = _model(labels=2)
    g = torch.Generator().manual_seed(0)
    n, p = 4, 8
    mask = torch.ones(n, p, 1)
    mask[:, 5:] = 0
    z = model.noise(n, g, mask)
    c = torch.nn.functional.one_hot(torch.tensor([0, 1, 1, 0]), 2).float()
    out = model.generate(z, c)
    assert out.shape == (n, p, 4) and torch.all(out[:, 5:] == 0) and torch.equal(out[..., 3:], mask)
    perm = torch.randperm(p)
    zp = torch.cat([z[:, :model.config.latent], z[:, model.config.latent:].view(n, p, -1)[:, perm].flatten(1)], 1)
    torch.testing.assert_close(model.generate(zp, c), out[:, perm], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(model.disc(out[:, perm], c), model.disc(out, c), atol=1e-5, rtol=1e-5)


def test_least_squares_losses_have_the_textbook_values():
    """With D ≡ a: D loss ½ (a − 1)² + ½ a², G loss ½ (a − 1)² (Mao et al. 2017)."""
    model = _model()
    x, _ = _clouds(n=16)
    x = torch.tensor(x, dtype=torch.float32)
    model.on_fit_start({"x": x}, resumed=False, generator=torch.Generator().manual_seed(0))

    class Const(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.tensor(0.3))

        def forward(self, x, c):
            return self.a.expand(len(x))

    model.disc = Const()
    opts = {"discriminator": torch.optim.SGD(model.disc.parameters(), lr=0.0),
            "generator": torch.optim.SGD(model.gen.parameters(), lr=0.0)}
    logs = model.adversarial_step({"x": x}, opts, generator=torch.Generator().manual_seed(1))
    assert logs["d_loss"] == pytest.approx(0.5 * 0.7 ** 2 + 0.5 * 0.3 ** 2)
    assert logs["g_loss"] == pytest.approx(0.5 * 0.7 ** 2) and logs["d_real"] == pytest.approx(0.3)


def test_training_noise_carries_the_real_batch_mask():
    """Training on generated clouds sees the real batch's multiplicities: the noise's mask channel is the
    batch's mask (the multiplicity draw itself: ``tests/test_pointcloud_multiplicity.py``)."""
    x, _ = _clouds(n=200, counts=(2, 3, 4, 5), probs=(0.1, 0.2, 0.3, 0.4))
    x = torch.tensor(x, dtype=torch.float32)
    model = _model()
    g = torch.Generator().manual_seed(0)
    model.on_fit_start({"x": x}, resumed=False, generator=g)
    real = model.to_internal(x[:5])
    z = model.training_noise(real, g)[:, model.config.latent:].view(5, 8, -1)
    assert torch.equal(z[..., :1], mask_of(x[:5]))


def test_config_errors():
    with pytest.raises(UserError, match="model.layers_g"):
        EPiCGANConfig(layers_g=0)
    with pytest.raises(UserError, match="model.output"):
        EPiCGANConfig(output="tanh")
    with pytest.raises(UserError, match="model.diagnostics"):
        EPiCGANConfig(diagnostics=True)
    with pytest.raises(UserError, match="cannot model data of kind"):
        EPiCGAN(EPiCGANConfig(), DataSpec("continuous", (3,)))


@pytest.fixture
def two_types(tmp_path):
    xa, ma = _clouds(n=120, seed=0)
    xb, mb = _clouds(n=120, seed=1, shift=0.5, counts=(5,))
    path = tmp_path / "d.h5"
    save(from_arrays(np.concatenate([xa, xb]), np.concatenate([ma, mb]), names=NAMES,
                     labels=np.array([0] * 120 + [1] * 120)), path)
    return path


def test_cli_train_sample_evaluate(tmp_path, cli, two_types):
    code, _, err = cli("train", "epic-gan", "--data", two_types, "--out", tmp_path / "run", "--condition",
                       "labels", "--steps", "20", *SMALL)
    assert code == 0, err
    code, _, err = cli("sample", tmp_path / "run", "--n", "60", "--condition", "labels=1", "--out",
                       tmp_path / "s.h5")
    assert code == 0, err
    s = load(tmp_path / "s.h5")
    assert s.kind == "pointcloud" and s.shape == (8, 3) and np.all(s.labels == 1)
    assert set(s.mask.sum(axis=1).tolist()) == {5}
    code, _, err = cli("evaluate", "--real", two_types, "--fake", tmp_path / "s.h5", "--out",
                       tmp_path / "ev", "--metrics", "w1m,w1p")
    assert code == 0, err
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text())["w1p"]["value"] is not None


def test_resume_equals_an_uninterrupted_run(tmp_path, cli, two_types):
    args = ["--data", two_types, "--condition", "labels", *SMALL]
    assert cli("train", "epic-gan", "--out", tmp_path / "a", "--steps", "10", *args)[0] == 0
    assert cli("train", "epic-gan", "--out", tmp_path / "b", "--steps", "5", *args)[0] == 0
    code, _, err = cli("train", "epic-gan", "--out", tmp_path / "b", "--steps", "10", "--resume", "--no-progress")
    assert code == 0, err
    from physgen.training import load_run

    a, b = (load_run(tmp_path / r, which="latest").model.state_dict() for r in ("a", "b"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert int(a["calls"]) == 10


@pytest.mark.faults
def test_bad_input_is_one_line_exit_2(tmp_path, cli, two_types):
    from physgen.data import Dataset

    for extra in (["--set", "model.layers_d=0"], ["--set", "model.output=clip"]):
        code, _, err = cli("train", "epic-gan", "--data", two_types, "--out", tmp_path / "r", *extra)
        assert code == 2 and "model." in err and len(err.strip().splitlines()) == 1, err
    save(Dataset(np.zeros((100, 3), np.float32), "continuous"), tmp_path / "t.h5")
    code, _, err = cli("train", "epic-gan", "--data", tmp_path / "t.h5", "--out", tmp_path / "r2")
    assert code == 2 and "pointcloud" in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("family", ["epic-gan", "epic-fm"])
def test_cuda_train_and_sample(tmp_path, cli, family):
    """The CUDA path of both point-cloud families: train conditioned on labels, sample, clouds of the training
    layout and multiplicities (positive p_T,rel)."""
    x, mask = _clouds(n=200, seed=3)
    save(from_arrays(x, mask, names=NAMES, labels=np.zeros(200, np.int64)), tmp_path / "d.h5")
    code, _, err = cli("train", family, "--data", tmp_path / "d.h5", "--out", tmp_path / "run", "--device",
                       "cuda", "--condition", "labels", "--steps", "20", "--set", "data.val_fraction=0",
                       "--no-progress")
    assert code == 0, err
    code, _, err = cli("sample", tmp_path / "run", "--n", "100", "--device", "cuda", "--out", tmp_path / "s.h5")
    assert code == 0, err
    s = load(tmp_path / "s.h5")
    assert s.kind == "pointcloud" and set(s.mask.sum(axis=1).tolist()) <= {3, 6}
    assert np.all(s.samples[..., 2][s.mask == 1] > 0)
