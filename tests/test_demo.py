"""`physgen demo --quick` end to end: the README's main job (CI smoke test)."""
import json

import pytest

from physgen.demo.stages import STAGES


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    from physgen.cli import main

    out = tmp_path_factory.mktemp("demo") / "out"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    return out


def test_every_stage_finishes_and_is_in_the_report(quick_demo):
    summary = json.loads((quick_demo / "summary.json").read_text())
    assert {name: r["status"] for name, r in summary.items()} == {s.name: "ok" for s in STAGES}
    html = (quick_demo / "report.html").read_text()
    for stage in STAGES:
        assert f'id="{stage.name}"' in html, stage.name
    assert html.count("data:image/png;base64,") >= 10  # self-contained figures
    assert "physgen demo --quick" in html  # the exact command is recorded


def test_model_stages_use_the_defaults_and_the_quick_budget(quick_demo):
    summary = json.loads((quick_demo / "summary.json").read_text())
    for name in ("rbm", "vae", "gan", "ebm", "ddpm"):
        s = summary[name]["summary"]
        assert s["budget_s"] == 12.0 and "--max-time 12 " in s["command"] and "--set" not in s["command"], name


def test_monte_carlo_matches_onsager_away_from_tc(quick_demo):
    from physgen.physics import onsager

    obs = json.loads((quick_demo / "summary.json").read_text())["ising"]["summary"]["observables"]
    for t in ("1.5", "3.5"):  # L=16 finite-size corrections are < 1% in the energy here
        e = obs[t]["energy"]
        assert e["value"] == pytest.approx(float(onsager.energy_per_spin(float(t))), abs=0.02)
    assert obs["1.5"]["abs_magnetization"]["value"] == pytest.approx(0.98650, abs=0.01)


def test_rerun_reuses_finished_stages(quick_demo, capsys):
    from physgen.cli import main

    assert main(["demo", "--quick", "--out", str(quick_demo), "--stages", "ising,rbm"]) == 0
    err = capsys.readouterr().err
    assert "ising: finished earlier, reused" in err and "rbm: finished earlier, reused" in err
