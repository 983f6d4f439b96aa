"""tt̄ events rebuilt from (s, t, y) and ``physgen sample --format lhe|root``."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pythia8mc")
pytest.importorskip("pylhe")
uproot = pytest.importorskip("uproot")
import trainer_toy  # noqa: E402,F401  (registers the test-only toy-gauss model)

from physgen.data import load  # noqa: E402
from physgen.data.hep import features as F  # noqa: E402
from physgen.data.hep import pythia as P  # noqa: E402
from physgen.data.hep import shards as S  # noqa: E402
from physgen.data.hep.events import ttbar_from_sty  # noqa: E402
from physgen.data.hep.lhe import read_lhe, write_lhe  # noqa: E402

ECM = 13000.0


@pytest.fixture(scope="module")
def on_shell():
    shard = S.generate(P.Spec("ttbar", ECM, on_shell=True), 200, seed=6)
    return shard, F.hard_features(shard.kin, ECM)


def test_rebuilt_events_reproduce_s_t_y_and_the_identities(on_shell, tmp_path):
    shard, f = on_shell
    m = shard.kin["m3"][0]
    kin, ok = ttbar_from_sty(f["s"], f["t"], f["y"], ecm=ECM, mass=m, rng=np.random.default_rng(0))
    assert ok.all()
    g = F.hard_features(kin, ECM)
    for name in ("s", "t", "y", "shat", "that", "uhat", "pthat", "p3_eta", "p4_eta"):
        np.testing.assert_allclose(g[name], f[name], rtol=1e-7, atol=1e-7 * np.abs(f[name]).max(), err_msg=name)
    p34 = kin["p3"] + kin["p4"]
    np.testing.assert_allclose(p34, kin["p1"] + kin["p2"], atol=1e-6 * ECM)
    path = tmp_path / "re.lhe"
    write_lhe(path, kin, ecm=ECM)
    back, _ = read_lhe(path)
    np.testing.assert_allclose(F.hard_features(back, ECM)["t"], f["t"], rtol=1e-7)


def test_unphysical_rows_are_masked():
    m = 173.0
    s = np.array([4 * m * m * 0.9, 4e5, 4e5, 4e5])
    t = np.array([-1e4, -2e5, 1.0, -2e5])
    y = np.array([0.0, 0.0, 0.0, 9.0])
    _, ok = ttbar_from_sty(s, t, y, ecm=ECM, mass=m, rng=np.random.default_rng(0))
    assert ok.tolist() == [False, True, False, False]     # below threshold, |cos θ*| > 1, x > 1


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, on_shell):
    """A tiny toy-gauss run trained on Pythia's s, t, y (GeV²)."""
    from physgen.cli import main
    from physgen.data import Dataset, save

    _, f = on_shell
    d = tmp_path_factory.mktemp("run")
    x = np.stack([f["s"], f["t"], f["y"]], axis=1).astype(np.float32)
    data = save(Dataset(x, "continuous", attrs={"feature_names": ["s", "t", "y"], "ecm": ECM}), d / "sty.h5")
    assert main(["train", "toy-gauss", "--data", str(data), "--out", str(d / "run"), "--steps", "50",
                 "--no-progress", "--device", "cpu", "--set", "data.transform=standardize"]) == 0
    return d / "run"


def test_sample_format_lhe_and_root(cli, run_dir, tmp_path):
    out = tmp_path / "gen.lhe"
    code, stdout, err = cli("sample", run_dir, "--n", "100", "--format", "lhe", "--ecm", "13000", "--out", out)
    assert code == 0, err
    kin, init = read_lhe(out)
    assert 0 < len(kin["m3"]) <= 100 and init["ecm"] == ECM and np.all(kin["id3"] == 6)
    assert len(kin["m3"]) == 100 or "outside the physical region" in err
    root = tmp_path / "gen.root"
    assert cli("sample", run_dir, "--n", "50", "--format", "root", "--out", root)[0] == 0
    with uproot.open(root) as f:
        arrays = f["events"].arrays(library="np")
    assert sorted(arrays) == ["s", "t", "y"] and len(arrays["s"]) == 50
    back = tmp_path / "back.h5"
    assert cli("data", "import", root, "--out", back)[0] == 0
    assert load(back).feature_names == ["s", "t", "y"]


def test_sample_format_errors(cli, run_dir, tmp_path):
    for args, expect in ((("--format", "lhe", "--out", tmp_path / "x.h5"), "--out"),
                         (("--format", "root", "--out", tmp_path / "x.lhe"), "--out")):
        code, _, err = cli("sample", run_dir, "--n", "5", *args)
        assert code == 2 and expect in err and err.count("\n") == 1, err
    assert not any(tmp_path.iterdir())
