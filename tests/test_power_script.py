"""benchmarks/power.py (the simulation behind the statistical tests' stated power) runs and reports."""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_power_script_runs_a_section_and_writes_json(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import power
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert power.main(["gibbs", "--reps", "2", "--json", str(tmp_path / "p.json")]) == 0
    rows = json.loads((tmp_path / "p.json").read_text())
    assert {r["bias"] for r in rows} == {0.0, 0.02, 0.05} and all(0 <= r["rate"] <= 1 for r in rows)
    assert "gibbs" in capsys.readouterr().out
