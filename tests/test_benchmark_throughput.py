"""benchmarks/throughput.py: the training rate read from metrics.csv leaves out the first interval and the
intervals with probes; the quick mode on one family prints a table of the promised shape; run_all.py reads
its summary line."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load(name: str):
    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location(f"physgen_{name}_benchmark", REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load("throughput")


def test_training_rate_counts_clean_intervals_only(tmp_path):
    csv = tmp_path / "metrics.csv"
    csv.write_text("step,samples_per_s,time_s,val_score\n"
                   "10,100,1.0,\n"          # first interval: left out
                   "20,640,2.0,\n"          # clean: 640 samples in 1 s
                   "20,,2.5,0.3\n"          # a probe ...
                   "30,320,4.0,\n"          # ... so this interval (2 s) is left out
                   "40,640,5.0,\n"          # clean
                   "40,,,\n"                # a validation pass (no time_s)
                   "50,100,9.0,\n")         # left out
    r = bench.training_rate(csv)
    assert r == {"samples": 1280.0, "seconds": 2.0, "steps": 20, "rate": 640.0, "probes_included": False}
    csv.write_text("step,samples_per_s,time_s,val_score\n10,100,1.0,\n10,,1.5,0.2\n20,200,3.0,\n")
    r = bench.training_rate(csv)
    assert r["probes_included"] is True and r["seconds"] == 2.0 and r["rate"] == 200.0


def test_quick_mode_on_one_family_prints_the_table(tmp_path, capsys):
    doc = bench.DOC.read_text()
    code = bench.main(["--quick", "--families", "gan,epic-fm", "--kinds", "digits", "--threads", "1,2",
                       "--devices", "cpu", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and bench.DOC.read_text() == doc              # --quick never writes the docs
    lines = [ln for ln in out.splitlines() if ln.startswith("| ")]
    header, rows = lines[0], lines[1:]
    assert header.startswith("| family | data | device | threads | training samples/s |")
    assert len(rows) == 3 and all(r.count(" | ") == header.count(" | ") for r in rows)
    for threads, row in zip(("1", "2"), rows):
        cells = row.split(" | ")
        assert cells[:4] == ["| gan", "digits 8 × 8", "cpu", threads] and float(cells[4].replace(",", "")) > 0
        assert f"of {bench.QUICK_STEPS} steps × batch" in cells[5] and float(cells[6].replace(",", "")) > 0
        assert cells[7] == str(bench.QUICK_N)
        assert (cells[8] == "—") == (threads == "2")                  # the whole command: one thread only
    assert rows[2].startswith("| epic-fm | digits 8 × 8 | — | — | — | no defaults for image data")
    assert "OMP_NUM_THREADS=1 physgen data digits --out digits-n1797.h5" in out
    assert "throughput: 2 rows measured, 0 failed, 1 without defaults; load " in out
    assert (tmp_path / "results.json").is_file()


def test_run_all_reads_the_summary_line():
    run_all = _load("run_all")
    assert "throughput" in run_all.BENCHES and "throughput" in run_all.OWN_TABLE
    [row] = run_all.throughput("...\nthroughput: 70 rows measured, 1 failed, 21 without defaults; load 1.02-1.90\n")
    assert row[1] == "70 rows" and "1 failed" in row[2] and row[4] == "1.02–1.90"
    assert run_all.throughput("crashed") == []


def test_unknown_family_is_refused():
    with pytest.raises(SystemExit):
        bench.parse_args(["--families", "nope"])
