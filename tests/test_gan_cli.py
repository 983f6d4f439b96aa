"""End to end: ``physgen train gan|wgan-gp|thesis-dcgan`` with the default diagnostics, sampling, resume,
preprocessing checks and the NaN rollback."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from physgen.data import Dataset, load, save


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    from physgen.data.digits import load_digits

    return save(load_digits().subset(slice(0, 256)), tmp_path_factory.mktemp("d") / "digits.h5")


@pytest.fixture(scope="module")
def tabular(tmp_path_factory):
    rng = np.random.default_rng(0)
    s = rng.uniform(-1, 1, 512)
    x = np.stack([s, np.clip(0.6 * s + 0.3 * rng.normal(size=512), -1, 1), np.tanh(rng.normal(size=512))], 1)
    return save(Dataset(x.astype(np.float32), "continuous", attrs={"feature_names": ["s", "t", "y"]}),
                tmp_path_factory.mktemp("t") / "tab.h5")


def test_vanilla_gan_writes_the_course_plots(cli, digits, tmp_path):
    out = tmp_path / "gan"
    code, _, err = cli("train", "gan", "--data", digits, "--out", out, "--epochs", "3", "--no-progress",
                       "--set", "model.sample_epochs=[1,3]", "--set", "train.log_every=1")
    assert code == 0, err
    diag = out / "diagnostics"
    for name in ("losses.png", "samples.png", "diagnostics.json"):
        assert (diag / name).stat().st_size > 0
    info = json.loads((diag / "diagnostics.json").read_text())
    assert info["epochs"] == [1, 3] and set(info["diversity_ratio"]) == {"1", "3"}
    with open(out / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("g_loss")]  # training rows (validation rows apart)
    assert len(rows) == 12 and {"g_loss", "d_loss", "d_real", "d_fake"} <= set(rows[0])
    assert all(0 < float(r["d_real"]) < 1 and 0 < float(r["d_fake"]) < 1 for r in rows)
    code, _, err = cli("sample", out, "--n", 20, "--out", tmp_path / "s.h5")
    ds = load(tmp_path / "s.h5")
    assert code == 0 and ds.kind == "image" and ds.samples.min() >= 0 and ds.samples.max() <= 1


def test_wgan_gp_resume_equals_an_uninterrupted_run(cli, tabular, tmp_path):
    base = ["--data", tabular, "--no-progress", "--set", "model.hidden_g=[16]", "--set", "model.hidden_d=[16]",
            "--set", "model.n_critic=3", "--set", "train.batch_size=64", "--set", "model.diagnostics=false"]
    assert cli("train", "wgan-gp", "--out", tmp_path / "a", "--steps", "14", *base)[0] == 0
    assert cli("train", "wgan-gp", "--out", tmp_path / "b", "--steps", "7", *base)[0] == 0
    code, _, err = cli("train", "wgan-gp", "--out", tmp_path / "b", "--steps", "14", "--resume", "--no-progress")
    assert code == 0, err
    from physgen.training import load_run

    a, b = (load_run(tmp_path / r, which="latest").model.state_dict() for r in ("a", "b"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert int(a["calls"]) == 14


def test_thesis_dcgan_defaults_and_range_check(cli, tabular, tmp_path):
    code, _, err = cli("train", "thesis-dcgan", "--data", tabular, "--out", tmp_path / "t", "--steps", "2",
                       "--no-progress", "--set", "train.batch_size=32")
    assert code == 0, err
    cfg = (tmp_path / "t" / "config.toml").read_text()
    assert "betas = [0.5, 0.999]" in cfg and "batch_size = 32" in cfg and "lr = 0.0002" in cfg
    code, _, err = cli("train", "thesis-dcgan", "--data", tabular, "--out", tmp_path / "u", "--steps", "2",
                       "--set", "data.transform=standardize")
    assert code == 2 and "leave [−1, 1]" in err and not (tmp_path / "u").exists()


def test_sampled_events_stay_in_the_data_range_with_clip_output(cli, tabular, tmp_path):
    out = tmp_path / "c"
    code, _, err = cli("train", "wgan-gp", "--data", tabular, "--out", out, "--steps", "5", "--no-progress",
                       "--set", "model.output=clip", "--set", "model.hidden_g=[8]", "--set", "model.hidden_d=[8]")
    assert code == 0, err
    cli("sample", out, "--n", 500, "--out", tmp_path / "c.h5")
    x, real = load(tmp_path / "c.h5").samples, load(tabular).samples
    assert np.all(x >= real.min(0) - 1e-6) and np.all(x <= real.max(0) + 1e-6)


def test_nan_in_a_players_loss_rolls_back(tabular, tmp_path):
    from physgen.config import TrainConfig
    from physgen.data.transforms import make_transform
    from physgen.models import registry
    from physgen.models.base import DataSpec
    from physgen.training.data import to_tensor_data
    from physgen.training.trainer import Trainer, TrainingDiverged

    ds = load(tabular)
    model = registry.build("gan", {"output": "linear", "diagnostics": False}, DataSpec.from_dataset(ds))
    calls = {"n": 0}
    forward = model.disc.forward

    def poisoned(x, c=None):
        calls["n"] += 1
        out = forward(x, c)
        return out * float("nan") if calls["n"] > 12 else out
    model.disc.forward = poisoned
    trainer = Trainer(model, TrainConfig(batch_size=64, steps=20, progress=False, checkpoint_every=2),
                      to_tensor_data(ds, make_transform("none"), None), run_dir=tmp_path / "n")
    with pytest.raises(TrainingDiverged, match="diverged"):
        trainer.fit()
    assert trainer.step == 4 and all(torch.isfinite(p).all() for p in model.parameters())
