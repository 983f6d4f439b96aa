"""`physgen analyze` end to end on tiny files of every kind, and its one-line errors."""
import json

import numpy as np
import pytest

from physgen.data import Dataset, save


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("analyze")
    rng = np.random.default_rng(0)
    temps = np.repeat([1.0, 1.5, 2.2, 3.0, 3.5], 12)
    x = np.where(rng.random((60, 6, 6)) < 0.5, 1, -1).astype(np.int8)
    low = temps < 2.0
    x[low] = np.where(rng.random(low.sum()) < 0.5, 1, -1).astype(np.int8)[:, None, None]
    save(Dataset(x, "spins", {"temperature": temps}, attrs={"J": 1.0}), d / "spins.h5")
    save(Dataset(x[:, :, :], "spins"), d / "bare.h5")
    y = np.repeat([0, 1], 30)
    img = (rng.random((60, 4, 4)) * 0.3 + y[:, None, None] * 0.7).astype(np.float32)
    save(Dataset(img, "image", labels=y), d / "images.h5")
    tab = rng.standard_normal((80, 3)).astype(np.float32)
    save(Dataset(tab, "continuous", attrs={"feature_names": ["s", "t", "y"]}), d / "tab.h5")
    return d


def _json(path):
    return json.loads((path / "analysis.json").read_text())


def test_pca_on_spins_writes_json_html_and_pngs(cli, files, tmp_path):
    code, out, err = cli("analyze", "pca", files / "spins.h5", "--out", tmp_path / "p", "--components", "4")
    assert code == 0, err
    a = _json(tmp_path / "p")
    assert a["method"] == "pca" and len(a["explained_variance_ratio"]) == 4
    assert abs(a["pc1_magnetization_correlation"]) > 0.99
    assert {"index.html", "pca_pc1.png", "projections.npy", "components.npy"} <= set(a["files"])
    assert np.load(tmp_path / "p" / "projections.npy").shape == (60, 4)
    html = (tmp_path / "p" / "index.html").read_text()
    assert "data:image/png;base64" in html and "Principal component analysis" in html


def test_pca_on_tabular_has_no_magnetization(cli, files, tmp_path):
    code, _, err = cli("analyze", "pca", files / "tab.h5", "--out", tmp_path / "t", "--standardize")
    assert code == 0, err
    a = _json(tmp_path / "t")
    assert "pc1_magnetization_correlation" not in a and len(a["explained_variance_ratio"]) == 3


def test_kmeans_on_spins_raw_and_pca(cli, files, tmp_path):
    for on in ("raw", "pca"):
        code, _, err = cli("analyze", "kmeans", files / "spins.h5", "--k", "3", "--on", on,
                           "--out", tmp_path / on, "--seed", "1")
        assert code == 0, err
        a = _json(tmp_path / on)
        assert sum(a["cluster_sizes"]) == 60 and len(a["cluster_magnetization"]) == 3
        m = a["cluster_magnetization"]  # ordered +, disordered, ordered − (a 6x6 random lattice may join one)
        assert m[0] > 0.9 and abs(m[1]) < 0.2 and m[2] < -0.9
        assert np.load(tmp_path / on / "labels.npy").shape == (60,)


def test_hierarchical_with_dendrogram(cli, files, tmp_path):
    code, _, err = cli("analyze", "hierarchical", files / "images.h5", "--linkage", "average", "--k", "2",
                       "--out", tmp_path / "h", "--max-points", "30")
    assert code == 0, err
    a = _json(tmp_path / "h")
    assert sorted(a["cluster_sizes"]) == [30, 30] and a["protocol"]["tree_points"] == 30
    assert "hierarchical_dendrogram.png" in a["files"] and np.load(tmp_path / "h" / "linkage.npy").shape == (29, 4)


def test_forest_phase_and_label(cli, files, tmp_path):
    code, _, err = cli("analyze", "forest", files / "spins.h5", "--target", "phase", "--out", tmp_path / "f",
                       "--estimators", "20", "--variance-repeats", "2")
    assert code == 0, err
    a = _json(tmp_path / "f")
    assert {"test_accuracy", "critical_accuracy", "oob_score"} <= set(a)
    assert a["critical_accuracy"] is not None and a["protocol"]["critical_region"] == "|T - Tc| < 0.3"
    assert {"forest_accuracy_importances.png", "forest_bagging_variance.png"} <= set(a["files"])
    code, _, err = cli("analyze", "forest", files / "images.h5", "--target", "label", "--out", tmp_path / "g",
                       "--estimators", "20", "--variance-repeats", "0")
    assert code == 0, err
    a = _json(tmp_path / "g")
    assert a["test_accuracy"] == 1.0 and a["critical_accuracy"] is None


def test_refuses_existing_analysis_without_overwrite(cli, files, tmp_path):
    assert cli("analyze", "pca", files / "tab.h5", "--out", tmp_path / "o")[0] == 0
    code, _, err = cli("analyze", "pca", files / "tab.h5", "--out", tmp_path / "o")
    assert code == 2 and "already holds an analysis" in err and len(err.strip().splitlines()) == 1
    assert cli("analyze", "pca", files / "tab.h5", "--out", tmp_path / "o", "--overwrite")[0] == 0


@pytest.mark.parametrize("args,msg", [
    (["magic", "{spins}", "--out", "{out}"], "invalid choice: 'magic'"),
    (["kmeans", "{spins}", "--k", "0", "--out", "{out}"], "--k: '0' must be >= 1"),
    (["kmeans", "{spins}", "--k", "61", "--out", "{out}"], "k = 61 must be between 1 and the number of samples (60)"),
    (["hierarchical", "{spins}", "--linkage", "median", "--out", "{out}"], "invalid choice: 'median'"),
    (["hierarchical", "{spins}", "--linkage", "ward", "--k", "99", "--out", "{out}"], "k = 99 must be between"),
    (["forest", "{bare}", "--target", "phase", "--out", "{out}"], "no /conditions/temperature"),
    (["forest", "{spins}", "--target", "label", "--out", "{out}"], "no /labels"),
    (["pca", "{missing}", "--out", "{out}"], "no such file"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(cli, files, tmp_path, args, msg):
    paths = {"spins": files / "spins.h5", "bare": files / "bare.h5", "missing": files / "nope.h5",
             "out": tmp_path / "out"}
    code, out, err = cli("analyze", *[a.format(**{k: str(v) for k, v in paths.items()}) for a in args])
    assert code == 2
    assert msg in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_help_has_examples(cli):
    for method in ("pca", "kmeans", "hierarchical", "forest"):
        code, out, _ = cli("analyze", method, "--help")
        assert code == 0 and f"physgen analyze {method}" in out and "Example" in out


def test_ttbar_pca_and_kmeans(cli, pythia_ttbar_file, pythia_ttbar, tmp_path):
    code, _, err = cli("analyze", "pca", pythia_ttbar_file, "--standardize", "--out", tmp_path / "p")
    assert code == 0, err
    evr = _json(tmp_path / "p")["explained_variance_ratio"]
    assert len(evr) == 3 and sum(evr) == pytest.approx(1.0, abs=1e-5)
    # standardised s and t correlate (ρ ≈ −0.7: |t| grows with ŝ) and y is uncorrelated with both (|ρ| < 0.02),
    # so the correlation matrix has eigenvalues 1 ± |ρ| and 1: ratios (1 + |ρ|)/3, 1/3, (1 − |ρ|)/3
    rho = abs(np.corrcoef(pythia_ttbar.astype(np.float64).T)[0, 1])
    assert rho > 0.5
    np.testing.assert_allclose(evr, [(1 + rho) / 3, 1 / 3, (1 - rho) / 3], atol=0.02)
    code, _, err = cli("analyze", "kmeans", pythia_ttbar_file, "--k", "4", "--out", tmp_path / "k")
    assert code == 0, err
    a = _json(tmp_path / "k")
    assert sum(a["cluster_sizes"]) == 10000 and len(a["centroids"]) == 4 and "cluster_magnetization" not in a


def test_digits_forest_by_label(cli, tmp_path):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    save(Dataset((bunch.images / 16.0).astype(np.float32), "image", labels=bunch.target), tmp_path / "d.h5")
    code, _, err = cli("analyze", "forest", tmp_path / "d.h5", "--target", "label", "--out", tmp_path / "f",
                       "--estimators", "30", "--variance-repeats", "0")
    assert code == 0, err
    a = _json(tmp_path / "f")
    assert a["test_accuracy"] > 0.9 and a["classes"] == list(range(10))  # forests reach ~0.97 on digits
    assert np.load(tmp_path / "f" / "importances.npy").shape == (64,)


def test_out_that_cannot_be_a_directory(cli, files, tmp_path):
    (tmp_path / "plain").write_text("x")
    code, _, err = cli("analyze", "pca", files / "tab.h5", "--out", tmp_path / "plain")
    assert code == 2 and "exists and is not a directory" in err
    code, _, err = cli("analyze", "pca", files / "tab.h5", "--out", tmp_path / "plain" / "sub")
    assert code == 2 and "cannot create the directory" in err and len(err.strip().splitlines()) == 1
