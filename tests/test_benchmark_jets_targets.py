"""benchmarks/jets_targets.py: the table judges FPD and W1 of the jet mass against their floors, a finished
command is not run again, and bad options are one line with exit code 2."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import jets_targets as jt  # noqa: E402


def _metrics(ratio_w1m: float, ratio_fpd: float) -> dict:
    out = {k: {"value": 0.002, "error": 0.0001, "floor": 0.002, "floor_error": 0.0003} for k in jt.METRICS}
    out["w1m"]["value"] = 0.002 * ratio_w1m
    out["fpd"]["value"] = 0.002 * ratio_fpd
    return out


def test_the_table_meets_a_target_only_within_both_factors(tmp_path):
    opts = argparse.Namespace(dir=tmp_path, families=["epic-fm", "epic-gan"], threads=1)
    for name, (w, f) in {"truth-top": (1.0, 1.0), "epic-fm-top": (1.9, 2.9), "epic-gan-top": (2.5, 1.0)}.items():
        (tmp_path / "eval" / name).mkdir(parents=True)
        (tmp_path / "eval" / name / "metrics.json").write_text(json.dumps(_metrics(w, f)))
    rows = {line.split("|")[2].strip(): line for line in jt.table({}, opts).splitlines() if line.startswith("| top")}
    assert rows["Pythia"].endswith("| met |") and rows["epic-fm"].endswith("| met |")
    assert rows["epic-gan"].endswith("| missed |") and "| 2.5 | 1 |" in rows["epic-gan"]


def test_a_finished_command_is_not_run_again(tmp_path, monkeypatch):
    opts = argparse.Namespace(dir=tmp_path, threads=1)
    monkeypatch.setattr(jt, "run_physgen", lambda *a, **k: (_ for _ in ()).throw(AssertionError("ran")))
    state = {"x": {"rc": 0, "wall_s": 1.0}}
    assert jt._run(state, "x", ["models"], opts) is state["x"]


def test_bad_options_exit_2(capsys, tmp_path):
    assert jt.main(["--dir", str(tmp_path), "--stages", "data,nope"]) == 2
    assert jt.main(["--dir", str(tmp_path), "--families", "gan"]) == 2
    assert "bad --stages/--families" in capsys.readouterr().err


def test_a_floor_within_its_error_of_zero_counts_as_its_error():
    assert jt.resolved_floor({"floor": -3.6e-05, "floor_error": 1.5e-04}) == 1.5e-04
    assert jt.resolved_floor({"floor": 8.1e-04, "floor_error": 1.4e-04}) == 8.1e-04
