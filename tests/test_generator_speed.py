"""benchmarks/generator_speed.py at a tiny budget with one family: it runs end to end and its results
file and markdown table have the promised structure (the figures themselves are not checked here)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("pythia8mc", reason="the generator benchmark needs Pythia 8: pip install 'physgen[hep]'")
pytest.importorskip("fastjet", reason="hadron-level events need fastjet: pip install 'physgen[hep]'")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "generator_speed.py"


def _script():
    spec = importlib.util.spec_from_file_location("generator_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_run_writes_the_table_and_results(tmp_path, capsys):
    bench = _script()
    out = tmp_path / "speed"
    assert bench.main(["--out", str(out), "--n-train", "600", "--n-heldout", "300", "--n-hadron", "2",
                       "--max-time", "2", "--families", "vae", "--n-boot", "5"]) == 0
    printed = capsys.readouterr().out
    table = (out / "results.md").read_text()
    assert table.strip() in printed
    res = json.loads((out / "results.json").read_text())
    assert set(res) >= {"config", "machine", "aim", "pythia", "networks", "failed"} and res["failed"] == {}
    assert res["aim"] == {"ratio_to_hadron": 100.0, "auc": 0.6}
    for key, n in (("hard", 600), ("hadron", 2)):
        e = res["pythia"][key]
        assert e["events"] == n and e["seconds"] > 0 and e["rate"] == pytest.approx(n / e["seconds"])
        assert e["command"].startswith("physgen data pythia --process ttbar --ecm 13000")
    assert list(res["networks"]) == ["vae"]
    vae = res["networks"]["vae"]
    assert vae["events"] == 300 and vae["rate"] > 0
    assert vae["ratio_to_hadron"] == pytest.approx(vae["rate"] / res["pythia"]["hadron"]["rate"])
    assert vae["train"]["command"].startswith("physgen train vae --data ") and "--max-time 2" in vae["train"]["command"]
    assert vae["command"].startswith("physgen sample ") and vae["train"]["steps"] >= 1
    q = vae["quality"]
    assert set(q["kl_per_feature"]) == {"s", "t", "y"} and q["n_per_side"] == 150
    # the table quotes results.json's KL and AUC with their floors (None would not format)
    assert f"{q['kl']:.4f} ({q['kl_floor']:.4f}) | {q['auc']:.3f} ({q['auc_floor']:.3f}) |" in table
    assert q["nonfinite_rows"] == 0   # a VAE's decoder output is finite
    assert isinstance(vae["meets_aim"], bool)
    lines = table.splitlines()
    assert lines[0].startswith("| generator | events | seconds | events/s | × Pythia hadron | KL (floor) | AUC (floor)")
    rows = [line for line in lines[2:] if line.startswith("| ")]
    assert [r.split(" | ")[0] for r in rows] == ["| Pythia 8, hard level", "| Pythia 8, hadron level + anti-kT jets",
                                                 "| vae (physgen sample)"]
    assert all(r.count("|") == lines[0].count("|") for r in rows)
    assert "Aim: a network ≥ 100× Pythia's hadron-level rate at AUC ≤ 0.6" in table
    assert vae["train"]["command"] in table and vae["command"] in table and res["pythia"]["hadron"]["command"] in table


def test_bad_options_are_refused(tmp_path):
    bench = _script()
    with pytest.raises(SystemExit):
        bench.parse_args(["--out", str(tmp_path), "--n-train", "0"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--out", str(tmp_path), "--max-time", "-1"])


def test_bounded_ttbar_parametrisation_round_trips(tmp_path):
    """(s, t, y) -> (4 m_t²/s, −t/s, y) -> (s, t, y) to float32 rounding; τ ≤ 0 rows are dropped and counted."""
    import numpy as np

    from physgen.data import Dataset, load, save

    bench = _script()
    rng = np.random.default_rng(0)
    s = 4 * 173.0 ** 2 * (1 + rng.exponential(1.0, 50))
    r = rng.uniform(0.05, 0.95, 50)
    x = np.stack([s, -r * s, rng.normal(0, 1, 50)], axis=1).astype(np.float32)
    src = save(Dataset(x, "continuous", attrs={"feature_names": ["s", "t", "y"]}), tmp_path / "x.h5")
    bounded = load(bench.to_bounded(src, tmp_path / "b.h5"))
    assert bounded.feature_names == ["tau", "r", "y"]
    tau, rr, _ = bounded.samples.T
    assert np.all((tau > 0) & (tau < 1)) and np.all((rr > 0) & (rr < 1))
    back, bad = bench.from_bounded(tmp_path / "b.h5", tmp_path / "back.h5")
    assert bad == 0
    np.testing.assert_allclose(load(back).samples, x, rtol=1e-5)
    broken = bounded.samples.copy()
    broken[:3, 0] = [0.0, -0.2, np.float32(0.5)]
    save(Dataset(broken, "continuous", attrs={"feature_names": ["tau", "r", "y"]}), tmp_path / "b2.h5")
    back, bad = bench.from_bounded(tmp_path / "b2.h5", tmp_path / "back2.h5")
    assert bad == 2 and len(load(back)) == 48
