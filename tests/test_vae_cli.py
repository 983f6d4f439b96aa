"""End to end: ``physgen train vae|conv-vae``, ``sample`` (conditions, --extrapolate) and ``score`` (ELBO/IWAE)."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from physgen.data import Dataset, load, save


@pytest.fixture(scope="module")
def digits_bin(tmp_path_factory):
    from physgen.data.digits import load_digits

    return save(load_digits(binarize=0.5), tmp_path_factory.mktemp("d") / "digits.h5")


@pytest.fixture(scope="module")
def trained_vae(digits_bin, tmp_path_factory):
    from physgen.cli import main

    out = tmp_path_factory.mktemp("r") / "vae"
    assert main(["train", "vae", "--data", str(digits_bin), "--out", str(out), "--steps", "60", "--no-progress",
                 "--set", "model.latent=4", "--set", "model.hidden=[64]", "--set", "train.lr=3e-3"]) == 0
    return out


def scores(path) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return f["log_prob"][()]


def test_score_elbo_le_iwae_and_iwae_grows_with_k(cli, trained_vae, digits_bin, tmp_path):
    res = {}
    for method, k in (("elbo", 10), ("iwae", 1), ("iwae", 10), ("iwae", 100)):
        out = tmp_path / f"{method}{k}.h5"
        code, stdout, err = cli("score", trained_vae, "--data", digits_bin, "--method", method, "--k", k,
                                "--out", out, "--seed", 3)
        assert code == 0, err
        res[(method, k)] = scores(out)
    # same seed and k: the same draws, so ELBO ≤ IWAE_k per sample exactly (Jensen)
    assert np.all(res[("elbo", 10)] <= res[("iwae", 10)] + 1e-4)
    e, i1, i10, i100 = (res[key].mean() for key in (("elbo", 10), ("iwae", 1), ("iwae", 10), ("iwae", 100)))
    assert e < i10 < i100 < 0
    assert abs(i1 - e) < 0.5 * (i10 - e)   # IWAE_1 is the ELBO (different draws)


def test_samples_are_binary_digits(cli, trained_vae, tmp_path):
    code, _, err = cli("sample", trained_vae, "--n", 50, "--out", tmp_path / "s.h5")
    assert code == 0, err
    ds = load(tmp_path / "s.h5")
    assert ds.kind == "binary" and ds.shape == (8, 8) and set(np.unique(ds.samples)) <= {0, 1}


@pytest.fixture(scope="module")
def ising_like(tmp_path_factory):
    """Toy lattices whose magnetisation falls with T (enough to train and sample a conditioned model)."""
    rng = np.random.default_rng(0)
    temps = np.repeat([1.5, 2.0, 3.0, 3.5], 40)
    p_up = np.clip(1.2 - temps / 3.5, 0.5, 1.0)
    spins = np.where(rng.random((len(temps), 8, 8)) < p_up[:, None, None], 1, -1).astype(np.int8)
    return save(Dataset(spins, "spins", conditions={"temperature": temps}), tmp_path_factory.mktemp("i") / "i.h5")


def test_temperature_conditioned_conv_vae(cli, ising_like, tmp_path):
    out = tmp_path / "cvae"
    code, _, err = cli("train", "conv-vae", "--data", ising_like, "--out", out, "--steps", "20", "--no-progress",
                       "--condition", "temperature", "--set", "model.channels=[4,8]", "--set", "model.hidden=[16]")
    assert code == 0, err
    code, _, err = cli("sample", out, "--n", 10, "--condition", "temperature=2.75", "--out", tmp_path / "a.h5")
    assert code == 0, err
    ds = load(tmp_path / "a.h5")
    assert ds.kind == "spins" and np.all(ds.conditions["temperature"] == 2.75)
    code, _, err = cli("sample", out, "--n", 10, "--condition", "temperature=5.0", "--out", tmp_path / "b.h5")
    assert code == 2 and "outside the trained range" in err and not (tmp_path / "b.h5").exists()
    code, _, err = cli("sample", out, "--n", 10, "--condition", "temperature=5.0", "--extrapolate",
                       "--out", tmp_path / "b.h5")
    assert code == 0, err


def test_conditioning_on_a_missing_condition_is_refused(cli, digits_bin, tmp_path):
    code, _, err = cli("train", "vae", "--data", digits_bin, "--out", tmp_path / "x", "--steps", "1",
                       "--condition", "temperature")
    assert code == 2 and "no /conditions/temperature" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_bad_latent_size_is_refused_before_writing(cli, digits_bin, tmp_path):
    code, _, err = cli("train", "vae", "--data", digits_bin, "--out", tmp_path / "y", "--steps", "1",
                       "--set", "model.latent=0")
    assert code == 2 and "model.latent" in err
    assert not (tmp_path / "y").exists() or not any((tmp_path / "y").iterdir())


def test_tabular_file_with_other_features_is_refused(cli, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (300, 3)).astype(np.float32)
    good = save(Dataset(x, "continuous", attrs={"feature_names": ["s", "t", "y"]}), tmp_path / "good.h5")
    other = save(Dataset(x, "continuous", attrs={"feature_names": ["s", "y", "t"]}), tmp_path / "other.h5")
    wide = save(Dataset(np.zeros((5, 4), np.float32), "continuous"), tmp_path / "wide.h5")
    out = tmp_path / "tab"
    code, _, err = cli("train", "vae", "--data", good, "--out", out, "--steps", "5", "--no-progress",
                       "--set", "model.hidden=[8]")
    assert code == 0, err
    for bad in (other, wide):
        code, _, err = cli("score", out, "--data", bad, "--method", "elbo", "--out", tmp_path / "sc.h5")
        assert code == 2 and "--data" in err and not (tmp_path / "sc.h5").exists(), err
