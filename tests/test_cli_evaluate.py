"""`physgen evaluate` end to end on tiny files, and every bad input: exit 2, one line, nothing written."""
import json

import h5py
import numpy as np
import pytest

from physgen.data import Dataset, save


def _tab(path, x, **attrs):
    return save(Dataset(np.asarray(x, np.float32), "continuous", attrs={"feature_names": ["a", "b"], **attrs}), path)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    real = _tab(tmp_path / "real.h5", rng.normal(size=(400, 2)))
    fake = _tab(tmp_path / "fake.h5", rng.normal(0.3, 1.0, size=(300, 2)))
    return real, fake


def test_help_has_example(cli):
    code, out, _ = cli("evaluate", "--help")
    assert code == 0 and "Example:" in out and "physgen evaluate --real" in out


def test_end_to_end_tabular(cli, files, tmp_path):
    real, fake = files
    out = tmp_path / "eval"
    code, stdout, err = cli("evaluate", "--real", real, "--fake", fake, "--out", out, "--n-boot", "20",
                            "--metrics", "kl,js,w1,mmd,c2st,fpd", "--seed", "3")
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["_meta"]["seed"] == 3 and metrics["_meta"]["n_per_side"] == 200
    assert metrics["kl"]["value"] > metrics["kl"]["floor"]        # a 0.3σ shift is above the noise
    assert metrics["kl"]["protocol"]["n_boot"] == 20
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64") >= 2 and "floor" in html
    assert "kl" in stdout and "floor" in stdout
    # refuses to overwrite, then overwrites on request
    code, _, err = cli("evaluate", "--real", real, "--fake", fake, "--out", out, "--metrics", "kl")
    assert code == 2 and "already exists" in err and len(err.strip().splitlines()) == 1
    code, _, _ = cli("evaluate", "--real", real, "--fake", fake, "--out", out, "--metrics", "kl",
                     "--n-boot", "5", "--overwrite")
    assert code == 0 and set(json.loads((out / "metrics.json").read_text())) == {"_meta", "kl", "kl_2d"}


def test_end_to_end_spins(cli, tmp_path):
    from physgen.data.ising import simulate
    kw = dict(algorithm="wolff", burn_in=50, thin=2)
    real = save(simulate(4, [1.5, 3.0], 60, seed=1, **kw), tmp_path / "r.h5")
    fake = save(simulate(4, [1.5, 3.0], 60, seed=2, **kw), tmp_path / "f.h5")
    code, _, err = cli("evaluate", "--real", real, "--fake", fake, "--out", tmp_path / "e", "--n-boot", "10",
                       "--metrics", "kl,mmd,observables,c2st")
    assert code == 0, err
    m = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert set(m["observables"]["by_temperature"]) == {"1.5", "3"}
    assert "warning" in err and "unreliable" in err                 # 60 rows per side after the split
    html = (tmp_path / "e" / "report.html").read_text()
    assert "Observables versus temperature" in html and "Samples" in html


def _bad(tmp_path, name, samples, kind="continuous", **cond):
    return save(Dataset(samples, kind, {k: np.asarray(v, float) for k, v in cond.items()}), tmp_path / name)


def _raw(path, samples, kind="continuous"):
    with h5py.File(path, "w") as f:
        f.create_dataset("samples", data=samples)
        f.attrs["kind"] = kind
    return path


@pytest.mark.parametrize("case,message", [
    ("shape", "sample shape (3,) does not match"),
    ("kind", "kind 'image' does not match"),
    ("nan", "2 NaN/Inf values in 1 rows (first at row 1)"),
    ("empty", "expected (N, ...) with N >= 1"),
    ("single", "has 1 sample(s); evaluation needs at least 2"),
    ("metric", "unknown metric 'fid'"),
    ("temperature", "only in"),
    ("observables", "'observables' needs lattice data"),
])
def test_bad_input_exit_2_one_line_nothing_written(cli, files, tmp_path, case, message):
    real, fake = files
    extra = []
    if case == "shape":
        fake = save(Dataset(np.zeros((5, 3), np.float32), "continuous"), tmp_path / "x.h5")
    elif case == "kind":
        fake = save(Dataset(np.zeros((5, 2), np.float32), "image"), tmp_path / "x.h5")
    elif case == "nan":
        x = np.zeros((5, 2), np.float32)
        x[1] = [np.nan, np.inf]
        fake = _raw(tmp_path / "x.h5", x)
    elif case == "empty":
        fake = _raw(tmp_path / "x.h5", np.zeros((0, 2), np.float32))
    elif case == "single":
        fake = _tab(tmp_path / "x.h5", np.zeros((1, 2)))
    elif case == "metric":
        extra = ["--metrics", "kl,fid"]
    elif case == "temperature":
        spins = np.ones((4, 3, 3), np.int8)
        real = _bad(tmp_path, "r.h5", spins, "spins", temperature=[1, 1, 2, 2])
        fake = _bad(tmp_path, "f.h5", spins, "spins", temperature=[1, 1, 2.5, 2.5])
    elif case == "observables":
        extra = ["--metrics", "kl,observables"]
    out = tmp_path / "out"
    code, _, err = cli("evaluate", "--real", real, "--fake", fake, "--out", out, *extra)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert message in err
    assert not out.exists() or not any(out.iterdir())


def test_end_to_end_binary_images(cli, tmp_path):
    rng = np.random.default_rng(3)
    real = save(Dataset((rng.random((120, 5, 5)) < 0.4).astype(np.uint8), "binary"), tmp_path / "r.h5")
    fake = save(Dataset((rng.random((90, 5, 5)) < 0.4).astype(np.uint8), "binary"), tmp_path / "f.h5")
    code, _, err = cli("evaluate", "--real", real, "--fake", fake, "--out", tmp_path / "e", "--n-boot", "5",
                       "--metrics", "kl,w1")
    assert code == 0, err
    html = (tmp_path / "e" / "report.html").read_text()
    assert "Samples" in html and "Per-feature" not in html           # pixels: sample grid, no 25 histograms
