"""Binarized 8×8 digits: a two-layer DBN's variational lower bound beside the single RBM's log-likelihood, both
on 297 held-out digits with log Z by AIS (the figures of docs/dbn.md, through the CLI)."""
from __future__ import annotations

import h5py
import pytest

from physgen.data.digits import load_digits
from physgen.data.io import Dataset, save


def _split(tmp_path):
    ds = load_digits(binarize=0.5)
    for name, rows in (("train", slice(0, 1500)), ("test", slice(1500, None))):
        save(Dataset(ds.samples[rows], ds.kind, {}, ds.labels[rows], dict(ds.attrs)), tmp_path / f"{name}.h5")
    return tmp_path / "train.h5", tmp_path / "test.h5"


def _score(cli, run, test, out, *extra):
    code, _, err = cli("score", run, "--data", test, "--method", "ais", "--out", out, *extra)
    assert code == 0, err
    with h5py.File(out) as f:
        return float(f.attrs["mean_log_prob"]), float(f.attrs["mean_log_prob_error"])


@pytest.mark.slow
def test_two_layer_bound_beside_the_rbm(tmp_path, cli):
    """~1.5 minutes on one core.  The 1-layer DBN is the RBM; the 2-layer one shares its bottom RBM (same seed,
    same first 5,000 updates) and starts its top RBM as that RBM transposed (``tie_init``), where the bound
    equals the RBM's log-likelihood; 5,000 PCD updates of the top then move it.  Recorded (docs/dbn.md):
    RBM −17.32 ± 0.02, DBN bound −17.54 ± 0.04 nats per held-out digit (92 s)."""
    train, test = _split(tmp_path)
    scores = {}
    for layers in ("[128]", "[128,64]"):
        run = tmp_path / f"run{layers}"
        code, _, err = cli("train", "dbn", "--data", train, "--out", run, "--epochs", "100000",
                           "--set", f"model.layers={layers}", "--set", "model.tie_init=true")
        assert code == 0, err
        scores[layers] = _score(cli, run, test, tmp_path / f"s{layers}.h5", "--k", "100")
    (rbm, rbm_err), (dbn, dbn_err) = scores["[128]"], scores["[128,64]"]
    print(f"RBM log p {rbm:.3f} ± {rbm_err:.3f}; DBN bound {dbn:.3f} ± {dbn_err:.3f}")
    assert rbm_err < 0.1 and dbn_err < 0.1
    assert -19 < rbm < -16 and abs(dbn - rbm) < 0.5
