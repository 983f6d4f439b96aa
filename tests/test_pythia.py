"""Pythia 8 hard-level events: kinematic identities per event, conventions, attributes, determinism."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

pytest.importorskip("pythia8mc")

from physgen.data import load  # noqa: E402
from physgen.data.hep import features as F  # noqa: E402
from physgen.data.hep import pythia as P  # noqa: E402
from physgen.data.hep import shards as S  # noqa: E402

ECM = 13000.0
N = 300


@pytest.fixture(scope="module")
def ttbar():
    spec = P.Spec("ttbar", ECM)
    shard = S.generate(spec, N, seed=1)
    return shard, F.hard_features(shard.kin, ECM)


@pytest.fixture(scope="module")
def ttbar_on_shell():
    shard = S.generate(P.Spec("ttbar", ECM, on_shell=True), N, seed=1)
    return shard, F.hard_features(shard.kin, ECM)


def _check_identities(kin: dict, f: dict) -> None:
    """ŝ = x₁x₂s = (p₁+p₂)², ŝ + t̂ + û = m₃² + m₄², ŝ ≥ (m₃+m₄)², y = ½ ln(x₁/x₂) = y(p₃+p₄), per event.

    Equalities hold to float64 rounding: relative 1e-9 of ŝ (the terms are of order ŝ).
    """
    shat = f["shat"]
    assert np.all(shat > 0)
    np.testing.assert_allclose(shat, kin["x1"] * kin["x2"] * ECM ** 2, rtol=1e-12)
    p12 = kin["p1"] + kin["p2"]
    np.testing.assert_allclose(F.dot(p12, p12), shat, rtol=1e-9)
    np.testing.assert_allclose(shat + f["that"] + f["uhat"] - kin["m3"] ** 2 - kin["m4"] ** 2, 0, atol=1e-9 * shat.max())
    assert np.all(shat >= (kin["m3"] + kin["m4"]) ** 2 * (1 - 1e-9))
    np.testing.assert_allclose(f["y"], 0.5 * np.log(kin["x1"] / kin["x2"]), rtol=0, atol=1e-12)
    p34 = kin["p3"] + kin["p4"]
    np.testing.assert_allclose(f["y"], 0.5 * np.log((p34[:, 0] + p34[:, 3]) / (p34[:, 0] - p34[:, 3])), atol=1e-6)
    np.testing.assert_allclose(p34, p12, atol=1e-6 * np.sqrt(shat.max()))


def test_ttbar_identities_per_event(ttbar):
    shard, f = ttbar
    _check_identities(shard.kin, f)
    assert len(f["shat"]) == N


def test_p3_is_the_top_whatever_the_record_order(ttbar):
    """t = −2 p₁·p₃ with p₃ the top (id 6): Pythia lists the antitop first in some events."""
    shard, f = ttbar
    kin = shard.kin
    assert np.all(kin["id3"] == 6) and np.all(kin["id4"] == -6)
    np.testing.assert_allclose(f["t"], -2 * F.dot(kin["p1"], kin["p3"]))
    np.testing.assert_allclose(f["t"], f["that"] - kin["m3"] ** 2, rtol=1e-9)
    np.testing.assert_allclose(f["s"], 2 * F.dot(kin["p1"], kin["p2"]), rtol=1e-9)
    assert np.all(kin["p1"][:, 3] > 0) and np.all(kin["p2"][:, 3] < 0)   # p1 from beam A along +z
    assert set(np.unique(kin["code"])) <= {601, 602}                     # gg → tt̄, qq̄ → tt̄


def test_breit_wigner_versus_on_shell(ttbar, ttbar_on_shell):
    """Default: top masses from a Breit–Wigner (they vary); --on-shell: every top at the pole mass."""
    bw, _ = ttbar
    os_, f = ttbar_on_shell
    assert np.std(bw.kin["m3"]) > 0.1
    assert np.ptp(os_.kin["m3"]) == 0 and np.ptp(os_.kin["m4"]) == 0
    m0 = os_.kin["m3"][0]
    assert 170 < m0 < 176
    assert np.all(f["shat"] >= 4 * m0 ** 2 * (1 - 1e-9))
    _check_identities(os_.kin, f)


@pytest.mark.parametrize("process, id3", [("z-ll", {11, 13}), ("w-lnu", {11, 13, -11, -13}), ("dijet", None)])
def test_other_processes(process, id3):
    shard = S.generate(P.Spec(process, ECM), 100, seed=2)
    f = F.hard_features(shard.kin, ECM)
    _check_identities(shard.kin, f)
    if id3 is not None:
        assert set(np.unique(shard.kin["id3"])) <= id3
    if process == "dijet":
        assert f["pthat"].min() >= 20.0
    if process == "z-ll":
        assert np.sqrt(f["shat"]).min() >= 60.0


def test_cross_section_agrees_across_seeds():
    """σ(pp → tt̄, 13 TeV, LO) from two seeds agrees within 4 combined errors and is a few hundred pb.

    Pythia 8.317 with NNPDF2.3 LO gives about 510 pb with Breit–Wigner tops; each run's error is ~0.8 %.
    """
    spec = P.Spec("ttbar", ECM)
    a, b = (S.generate(spec, 2000, seed=s).stats for s in (3, 4))
    assert abs(a["sigma_pb"] - b["sigma_pb"]) < 4 * np.hypot(a["sigma_err_pb"], b["sigma_err_pb"])
    for st in (a, b):
        assert 350 < st["sigma_pb"] < 700 and 0 < st["sigma_err_pb"] < 0.05 * st["sigma_pb"]
        assert st["tried"] >= st["accepted"] == 2000


def test_seeds_and_sizes():
    assert S.shard_sizes(10, 3) == [4, 3, 3] and sum(S.shard_sizes(7, 7)) == 7
    seeds = S.shard_seeds(5, 4)
    assert seeds == S.shard_seeds(5, 4) and len(set(seeds)) == 4
    assert all(1 <= s <= P.MAX_SEED for s in seeds)
    assert S.shard_seeds(5, 1) != S.shard_seeds(6, 1)


def test_sharded_generation_is_the_concatenation_of_its_shards():
    spec = P.Spec("ttbar", ECM)
    whole = S.generate(spec, 61, seed=7, workers=2)
    parts = [P.generate_shard(spec, n, s) for n, s in zip(S.shard_sizes(61, 2), S.shard_seeds(7, 2))]
    for key in whole.kin:
        np.testing.assert_array_equal(whole.kin[key], np.concatenate([p.kin[key] for p in parts]))
    assert whole.stats["seeds"] == S.shard_seeds(7, 2)
    assert whole.stats["accepted"] == 61


def _samples_bytes(path) -> bytes:
    with h5py.File(path, "r") as f:
        return f["samples"][()].tobytes()


def test_cli_writes_thesis_features_and_attributes(cli, tmp_path):
    out = tmp_path / "tt.h5"
    code, stdout, err = cli("data", "pythia", "--process", "ttbar", "--ecm", "13000", "--n", "200",
                            "--features", "s,t,y", "--seed", "3", "--out", out)
    assert code == 0, err
    assert stdout.count("\n") == 1 and stdout.startswith(f"wrote {out}: 200 ttbar events")
    ds = load(out)
    assert ds.feature_names == ["s", "t", "y"] and ds.samples.shape == (200, 3) and ds.kind == "continuous"
    a = ds.attrs
    assert a["process"] == "ttbar" and a["ecm"] == 13000.0 and a["level"] == "hard" and a["on_shell"] is False
    assert a["pythia_version"].startswith("8.3") and "NNPDF2.3" in a["pdf_set"]
    assert a["seed"] == 3 and a["seeds"] == S.shard_seeds(3, 1) and a["workers"] == 1
    assert a["sigma_pb"] > 0 and a["sigma_err_pb"] > 0 and a["tried"] >= a["accepted"] == 200
    s, t, y = ds.samples.astype(np.float64).T
    assert np.all(s >= 4 * 160.0 ** 2) and np.all(t < 0) and np.all(np.abs(y) < 3)


def test_cli_same_seed_and_workers_give_identical_samples(cli, tmp_path):
    paths = [tmp_path / f"{i}.h5" for i in range(3)]
    for path, seed in zip(paths, (4, 4, 5)):
        assert cli("data", "pythia", "--process", "ttbar", "--ecm", "13000", "--n", "50", "--seed", seed,
                   "--on-shell", "--out", path)[0] == 0
    assert _samples_bytes(paths[0]) == _samples_bytes(paths[1])
    assert _samples_bytes(paths[0]) != _samples_bytes(paths[2])
    assert load(paths[0]).attrs["on_shell"] is True


def test_cli_workers_are_deterministic(cli, tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    for path in (a, b):
        code, _, err = cli("data", "pythia", "--process", "ttbar", "--ecm", "13000", "--n", "40", "--seed", "9",
                           "--workers", "2", "--out", path)
        assert code == 0, err
    assert _samples_bytes(a) == _samples_bytes(b)
    assert load(a).attrs["workers"] == 2 and load(a).attrs["seeds"] == S.shard_seeds(9, 2)


def test_cli_progress_goes_to_stderr(cli, tmp_path):
    code, stdout, err = cli("data", "pythia", "--process", "w-lnu", "--ecm", "13000", "--n", "30", "--progress",
                            "--out", tmp_path / "w.h5")
    assert code == 0 and stdout.count("\n") == 1 and "events/s" in stdout
    assert "pythia" in err and "30/30" in err and "event/s" in err
