"""``physgen evaluate RUN_DIR --data TEST.h5``: a run's samples judged on test data, and for an sgan run on
labelled test data its classifier beside the supervised baseline and the random forest (a tiny run: 12 steps)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from physgen.data import Dataset, load, save

SMALL = ["--set", "model.hidden_g=[16]", "--set", "model.hidden_d=[16, 16]", "--set", "model.latent=4",
         "--set", "model.labels_per_class=3", "--set", "train.batch_size=32", "--set", "train.epochs=1",
         "--set", "model.diagnostics=false", "--no-progress"]
FAST = ["--metrics", "kl", "--n-boot", "5", "--no-plots"]


@pytest.fixture(scope="module")
def sgan_run(tmp_path_factory):
    """(run directory, labelled test file): 12 steps on 200 digits, 100 other digits to test on."""
    from physgen.cli import main
    from physgen.data.digits import load_digits

    tmp = tmp_path_factory.mktemp("sgan")
    ds = load_digits()
    train, test = save(ds.subset(slice(0, 200)), tmp / "train.h5"), save(ds.subset(slice(200, 300)), tmp / "test.h5")
    assert main(["train", "sgan", "--data", str(train), "--out", str(tmp / "run"), "--steps", "12", "--seed", "0",
                 *SMALL]) == 0
    return tmp / "run", test


def test_sgan_run_reports_its_classifier_beside_the_baseline_and_the_forest(cli, sgan_run, tmp_path):
    """The four classifiers' accuracies count correct rows of the 100 test rows, with binomial errors."""
    from physgen.models.gan.sgan_classifiers import compare_classifiers
    from physgen.training import load_run

    run_dir, test = sgan_run
    code, out, err = cli("evaluate", run_dir, "--data", test, "--out", tmp_path / "e", *FAST)
    assert code == 0, err
    res = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert res["kl"]["value"] is not None and res["_meta"]["real"]["n"] == res["_meta"]["fake"]["n"] == 100
    c = res["classifier"]
    for name in ("sgan", "supervised", "mlp", "random_forest"):
        p = c[name]["value"]
        assert c[name]["n"] == 100 and p * 100 == pytest.approx(round(p * 100))      # k correct rows of 100
        assert c[name]["error"] == pytest.approx(math.sqrt(p * (1 - p) / 100))   # binomial standard error
    assert c["n_labelled"] == 30 and c["sgan_steps"] == c["baseline_steps"] == 12
    assert c["sgan_minus_supervised"] == pytest.approx(c["sgan"]["value"] - c["supervised"]["value"])
    assert c["sgan_minus_mlp"] == pytest.approx(c["sgan"]["value"] - c["mlp"]["value"])
    assert "classifier test accuracy (100 labelled test rows" in out and "random_forest" in out
    assert 'id="classifier"' in (tmp_path / "e" / "report.html").read_text()
    # the same numbers as the Python API on the same checkpoint and seed
    run, ds = load_run(run_dir), load(test)
    direct = compare_classifiers(run.model, torch.from_numpy(ds.samples), ds.labels, seed=0)
    assert {k: direct[k]["value"] for k in ("sgan", "supervised", "mlp", "random_forest")} == \
           {k: c[k]["value"] for k in ("sgan", "supervised", "mlp", "random_forest")}


def test_baseline_steps_option_and_unlabelled_rows(cli, sgan_run, tmp_path):
    run_dir, test = sgan_run
    ds = load(test)
    labels = ds.labels.copy()
    labels[:40] = -1                                          # unlabelled test rows are left out
    part = save(Dataset(ds.samples, ds.kind, labels=labels, attrs=ds.attrs), tmp_path / "part.h5")
    code, _, err = cli("evaluate", run_dir, "--data", part, "--out", tmp_path / "e", "--baseline-steps", "3", *FAST)
    assert code == 0, err
    c = json.loads((tmp_path / "e" / "metrics.json").read_text())["classifier"]
    assert c["baseline_steps"] == 3 and c["sgan"]["n"] == 60


def test_data_without_labels_gets_the_metrics_only(cli, sgan_run, tmp_path):
    run_dir, test = sgan_run
    ds = load(test)
    bare = save(Dataset(ds.samples, ds.kind, attrs=ds.attrs), tmp_path / "bare.h5")
    code, _, err = cli("evaluate", run_dir, "--data", bare, "--out", tmp_path / "e", *FAST)
    assert code == 0, err
    assert "no /labels" in err
    res = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert "classifier" not in res and "kl" in res


@pytest.mark.parametrize("case, message", [
    ("no-data", "--data: required with RUN_DIR"),
    ("real-and-run", "--real/--fake: not with RUN_DIR"),
    ("neither", "--real, --fake: required"),
    ("data-without-run", "--data: needs RUN_DIR"),
    ("shape", "the run was trained on kind 'image' and shape (8, 8)"),
    ("label", "label 12 is outside the run's 10 classes"),
])
def test_bad_input_is_one_line_and_writes_nothing(cli, sgan_run, tmp_path, case, message):
    run_dir, test = sgan_run
    ds = load(test)
    args = {"no-data": [run_dir], "real-and-run": [run_dir, "--data", test, "--real", test],
            "neither": [], "data-without-run": ["--data", test, "--real", test, "--fake", test]}.get(case)
    if case == "shape":
        other = save(Dataset(np.zeros((5, 4, 4), np.float32), "image"), tmp_path / "x.h5")
        args = [run_dir, "--data", other]
    elif case == "label":
        labels = ds.labels.copy()
        labels[3] = 12
        args = [run_dir, "--data", save(Dataset(ds.samples, ds.kind, labels=labels), tmp_path / "x.h5")]
    out = tmp_path / "out"
    code, _, err = cli("evaluate", *args, "--out", out, *FAST)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert message in err
    assert not out.exists() or not any(out.iterdir())
