"""Hadron level: anti-kT jets (fastjet) and isolated leptons from full Pythia events."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pythia8mc")
pytest.importorskip("fastjet")

from physgen.data import load  # noqa: E402
from physgen.data.hep import hadron as H  # noqa: E402


def _p(pt, eta, phi, m=0.0):
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return (np.sqrt(px * px + py * py + pz * pz + m * m), px, py, pz)


def test_anti_kt_merges_within_r_and_separates_beyond():
    p = np.array([_p(50, 0.0, 0.0), _p(30, 0.2, 0.1), _p(40, 0.0, 2.0)])
    jets = H.cluster_jets(p, 0.4, 20.0)
    assert len(jets) == 2
    np.testing.assert_allclose(jets[0], p[0] + p[1], rtol=1e-12)          # ΔR ≈ 0.22 < 0.4: merged
    assert len(H.cluster_jets(p, 0.1, 20.0)) == 3
    assert len(H.cluster_jets(p, 0.4, 60.0)) == 1                          # p_T cut
    assert len(H.cluster_jets(np.empty((0, 4)), 0.4, 20.0)) == 0


def test_isolated_leptons_and_row_layout():
    p = np.array([_p(40, 0.5, 1.0, 0.000511), _p(25, -1.0, -2.0, 0.105), _p(30, -1.05, -2.0),
                  _p(60, 2.0, 0.0), _p(5, 0.0, 3.0, 0.105)])
    ids = np.array([11, -13, 211, 22, 13])
    lep = H.isolated_leptons(p, ids)
    assert list(lep) == [0]                  # the muon has a 30 GeV pion beside it; the last is below 10 GeV
    row = H.event_row(p, ids, n_jets=2, n_leptons=2, r=0.4, jet_pt_min=20.0)
    names = H.feature_names(2, 2)
    assert len(row) == len(names) and names[:3] == ["njet", "nlep", "met"]
    f = dict(zip(names, row))
    assert f["nlep"] == 1 and f["lep1_pt"] == pytest.approx(40) and f["lep2_pt"] == 0
    assert f["njet"] == 2 and f["jet1_pt"] >= f["jet2_pt"] >= 20
    assert f["lep1_m"] == pytest.approx(0.000511, abs=1e-4)


def test_cli_hadron_level_ttbar(cli, tmp_path):
    out = tmp_path / "had.h5"
    code, stdout, err = cli("data", "pythia", "--process", "ttbar", "--ecm", "13000", "--n", "20", "--level",
                            "hadron", "--jets", "3", "--leptons", "1", "--seed", "1", "--out", out)
    assert code == 0, err
    assert stdout.count("\n") == 1 and "FastJet" not in stdout and "PYTHIA" not in stdout
    ds = load(out)
    assert ds.feature_names == H.feature_names(3, 1) and ds.samples.shape == (20, 3 + 16)
    f = dict(zip(ds.feature_names, ds.samples.T.astype(np.float64)))
    assert ds.attrs["level"] == "hadron" and ds.attrs["jet_r"] == 0.4 and ds.attrs["jets"] == 3
    assert np.mean(f["njet"]) >= 3                         # tt̄ → b b̄ + W W: several jets per event
    present = f["njet"] >= 3
    assert np.all(f["jet1_pt"][present] >= f["jet2_pt"][present])
    assert np.all(f["jet3_pt"][present] >= 20.0 - 1e-3)
    assert np.all(f["jet3_pt"][~present] == 0)


def test_cli_hadron_level_z_leptons_and_errors(cli, tmp_path):
    out = tmp_path / "z.h5"
    assert cli("data", "pythia", "--process", "z-ll", "--ecm", "13000", "--n", "15", "--level", "hadron",
               "--features", "nlep,lep1_pt,lep2_pt", "--out", out)[0] == 0
    nlep, pt1, pt2 = load(out).samples.T
    assert np.mean(nlep >= 2) > 0.3 and np.all(nlep >= 1) and np.all(pt1 >= pt2)   # acceptance |η| ≤ 2.5, p_T ≥ 10
    for args, expect in ((("--jet-r", "0"), "--jet-r"), (("--jets", "0", "--leptons", "0"), "--jets"),
                         (("--features", "s,t,y"), "--features"), (("--lhe", str(tmp_path / "a.lhe")), "--lhe")):
        bad = tmp_path / "bad.h5"
        code, _, err = cli("data", "pythia", "--process", "ttbar", "--ecm", "13000", "--n", "3", "--level", "hadron",
                           *args, "--out", bad)
        assert code == 2 and expect in err and not bad.exists(), err


def test_hadron_level_shards_are_deterministic():
    from physgen.data.hep import pythia as P
    from physgen.data.hep import shards as S

    spec = P.Spec("ttbar", 13000.0, level="hadron", jets=2, leptons=1)
    a, b = (S.generate(spec, 6, seed=4, workers=2) for _ in range(2))
    np.testing.assert_array_equal(a.kin["hadron"], b.kin["hadron"])
    first = P.generate_shard(spec, 3, S.shard_seeds(4, 2)[0])
    np.testing.assert_array_equal(a.kin["hadron"][:3], first.kin["hadron"])
    assert a.kin["hadron"].shape == (6, 3 + 12)
