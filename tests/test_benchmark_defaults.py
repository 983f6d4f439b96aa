"""benchmarks/defaults.py, the acceptance benchmark of the families' defaults: its commands, its checks
against targets and floors, its tables, a failing family, and a tiny-budget end-to-end run."""
from __future__ import annotations

import importlib.util
import json
import re
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def _load():
    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location("physgen_defaults_benchmark", REPO / "benchmarks" / "defaults.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load()
from cli_runs import command_text  # noqa: E402  (benchmarks/ is on the path once the script is loaded)


def _obs(real, fake, floor, err=0.01):
    return {"real": {"value": real, "error": err}, "fake": {"value": fake, "error": err},
            "difference": {"value": fake - real, "error": err}, "floor": {"value": floor}}


def test_ising_checks_are_relative_errors_per_temperature_with_floors():
    """⟨e⟩ and ⟨|m|⟩ against the family's target; C and χ against the temperature's fluctuation target or twice
    their floor, whichever is larger; U₄ at T_c only."""
    res = {"observables": {"by_temperature": {"2.27": {"observables": {
        "energy": _obs(-1.4, -1.435, 0.014), "abs_magnetization": _obs(0.6, 0.66, -0.006),
        "specific_heat": _obs(1.5, 1.2, 0.1), "susceptibility": _obs(6.0, 5.5, 0.5),
        "binder": _obs(0.5, 0.52, 0.01)}}}}}
    rows = bench.ising_checks("rbm", res)
    assert [r["quantity"] for r in rows] == ["T=2.27 ⟨e⟩ rel. err.", "T=2.27 ⟨|m|⟩ rel. err.", "T=2.27 C rel. err.",
                                             "T=2.27 χ rel. err.", "T=2.27 U₄ rel. err."]
    e, m, c, chi, u4 = rows
    assert e["value"] == pytest.approx(0.025) and e["floor"] == pytest.approx(0.01) and e["pass"] is True
    assert m["value"] == pytest.approx(0.1) and m["pass"] is False
    assert c["value"] == pytest.approx(0.2) and c["target"] == pytest.approx(2 * 0.1 / 1.5) and c["pass"] is False
    assert chi["value"] == pytest.approx(0.5 / 6) and chi["target"] == pytest.approx(2 * 0.5 / 6) and chi["pass"]
    assert u4["value"] == pytest.approx(0.04) and u4["target"] == bench.BINDER_TARGET and u4["pass"] is True
    assert bench.ising_checks("vae", res)[1]["target"] == 0.05
    res["observables"]["by_temperature"] = {"1.8": res["observables"]["by_temperature"]["2.27"]}
    rows = bench.ising_checks("rbm", res)
    assert len(rows) == 4 and rows[2]["target"] == 0.25   # no U₄ away from T_c; C's target 25% at T = 1.8


def test_recorded_fluctuations_are_judged_from_their_monte_carlo_note():
    """Rows recorded before C and χ had targets become relative errors against the note's Monte Carlo value."""
    old = [{"quantity": "T=1.8 C", "value": 0.5, "error": 0.05, "floor": None, "target": None, "pass": None,
            "note": "Monte Carlo 0.4 ± 0.01"},
           {"quantity": "T=3 χ", "value": 1.05, "error": 0.02, "floor": None, "target": None, "pass": None,
            "note": "Monte Carlo 1 ± 0.02"},
           {"quantity": "T=3 ⟨e⟩ rel. err.", "value": 0.01, "error": 0.001, "floor": 0.0, "target": 0.03, "pass": True}]
    c, chi, e = bench.judge_reported_fluctuations(old)
    assert c["quantity"] == "T=1.8 C rel. err." and c["value"] == pytest.approx(0.25) and c["target"] == 0.25
    assert c["pass"] is True and chi["value"] == pytest.approx(0.05) and chi["target"] == 0.10 and chi["pass"]
    assert e is old[2]


def test_ttbar_and_digits_checks_use_the_family_targets():
    res = {"kl": {"value": 0.025, "error": 0.003, "floor": 0.011}, "c2st_auc": {"value": 0.66, "error": 0.01, "floor": 0.5}}
    kl, auc = bench.ttbar_checks("wgan-gp", res)
    assert (kl["target"], kl["pass"], auc["target"], auc["pass"]) == (0.03, True, 0.65, False)
    assert [c["pass"] for c in bench.ttbar_checks("rbm", res)] == [True, True]
    auc, kl = bench.digits_checks("ddpm", res)
    assert auc["target"] == 0.60 and auc["pass"] is False and kl["pass"] is None


def _board(results, skipped=None):
    return {"max_time": 300, "threads": 1, "seed": 0, "ttbar_protocol": "10k", "machine": "m", "date": "d",
            "versions": {"torch": "t"}, "data_commands": ["OMP_NUM_THREADS=1 physgen data digits --out x.h5"],
            "results": results, "skipped": skipped or {}}


def _columns(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line)) - 1


def test_table_shows_defaults_floor_target_verdict_and_commands():
    ok = {"status": "ok", "steps": 7, "train_status": "max-time", "train_wall_s": 301.2,
          "commands": ["OMP_NUM_THREADS=1 physgen train rbm --data d.h5 --out r --max-time 300"],
          "checks": [bench._check("classifier AUC", {"value": 0.55, "error": 0.02, "floor": 0.5}, 0.6),
                     bench._check("mean KL", {"value": 0.01, "error": None, "floor": 0.002}, None)]}
    failed = {"status": "failed", "reason": "physgen train: error: boom", "commands": ["physgen train ebm"],
              "train_wall_s": 3.0}
    table = bench.markdown(_board({"digits": {"rbm": ok, "ebm": failed}}, {"ttbar": "--ttbar x: no such file"}))
    assert "| digits | rbm | classifier AUC | 0.55 ± 0.02 | 0.5 | ≤ 0.6 | pass |" in table
    assert "| digits | rbm | mean KL | 0.01 | 0.002 | — | reported |" in table
    assert "| digits | ebm | — | failed: physgen train: error: boom | — | — | **fail** |" in table
    assert "| ttbar | all | — | skipped: --ttbar x: no such file | — | — | — |" in table
    assert "1 of 2 checks pass." in table
    assert "| digits | rbm | max-time | 7 | 301 | `OMP_NUM_THREADS=1 physgen train rbm" in table
    assert "OMP_NUM_THREADS=1 physgen data digits --out x.h5" in table
    rows = [line for line in table.splitlines() if line.startswith("|")]
    widths = {_columns(line) for line in rows if "quantity" in line or "| digits | rbm | c" in line}
    assert widths == {7}


def test_percent_rows_read_as_percent():
    row = bench._row("ising", "rbm", bench._check("T=1.8 ⟨e⟩ rel. err.", {"value": 0.012, "error": 0.004,
                                                                             "floor": 0.003}, 0.03))
    assert row == "| ising | rbm | T=1.8 ⟨e⟩ rel. err. | 1.2% ± 0.4% | 0.3% | ≤ 3% | pass |"
    row = bench._row("ising", "rbm", bench._check("T=3 ⟨|m|⟩ rel. err.", {"value": 1.43, "floor": 0.017}, 0.03))
    assert row == r"| ising | rbm | T=3 ⟨\|m\|⟩ rel. err. | 143% | 1.7% | ≤ 3% | **fail** |"
    assert _columns(row) == 7


@pytest.mark.parametrize("argv, message", [
    (["--datasets", "ising,mnist"], "--datasets: unknown mnist"),
    (["--families", "rbm,nope"], "--families: unknown nope"),
    (["--max-time", "0"], "--max-time, --train-timeout and --sample-timeout must be > 0"),
    (["--busy", "-1"], "--busy >= 0"),
    (["--threads", "0"], "--threads >= 1"),
])
def test_bad_options_are_one_line_errors_and_write_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "acc"
    assert bench.main(["--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_missing_ttbar_is_skipped_with_a_message(tmp_path, capsys):
    out = tmp_path / "acc"
    assert bench.main(["--out", str(out), "--datasets", "ttbar", "--ttbar", str(tmp_path / "none.txt")]) == 0
    assert "none.txt: no such file; tt̄ data set skipped" in capsys.readouterr().err
    assert "| ttbar | all | — | skipped:" in (out / "results.md").read_text()


def test_sampling_without_an_ising_run_is_a_failed_row():
    cell = bench.sampling_cell("ebm", {"status": "failed", "reason": "x"}, None)
    assert cell["status"] == "failed" and "Ising run" in cell["reason"]


def test_one_family_at_a_tiny_budget_end_to_end(tmp_path):
    """vae on digits (the cheapest sampler) with --max-time 2: the exact commands run, results.json and the
    table are complete."""
    out = tmp_path / "acc"
    assert bench.main(["--out", str(out), "--max-time", "2", "--families", "vae", "--datasets", "digits"]) == 0
    board = json.loads((out / "results.json").read_text())
    cell = board["results"]["digits"]["vae"]
    assert cell["status"] == "ok" and cell["steps"] > 0
    assert cell["commands"][0] == ("OMP_NUM_THREADS=1 physgen train vae --data data/digits-train.h5 "
                                   "--out runs/digits-vae --max-time 2 --no-progress --overwrite")
    assert [c.split()[2] for c in cell["commands"]] == ["train", "sample", "evaluate"]
    auc = cell["checks"][0]
    assert auc["quantity"] == "classifier AUC" and auc["target"] == 0.6 and 0.0 <= auc["value"] <= 1.0
    assert auc["floor"] is not None and auc["pass"] == (auc["value"] <= 0.6)
    table = (out / "results.md").read_text()
    assert table.startswith("Budget: each family's default step budget capped by `--max-time 2`")
    assert cell["planned_steps"] == 70_000 and cell["stopped_by"] in ("time", "budget")
    assert "| digits | vae | classifier AUC |" in table and f"`{cell['commands'][0]}`" in table
    assert re.search(r"\d+ of 1 checks pass\.", table)


def test_scoreboard_document_has_the_section_record_fills():
    """The scoreboard document carries the markers of the section that the benchmark rewrites: a new body lands
    between them."""
    from record import markers, replace_between

    begin, end = markers(bench.DOC_SECTION)
    assert f"{begin}\nx\n{end}" in replace_between(bench.DOC.read_text(), bench.DOC_SECTION, "x")


def test_combine_merges_the_runs_of_several_invocations(tmp_path):
    ok = {"status": "ok", "commands": ["c"], "checks": [bench._check("mean KL", {"value": 0.01}, 0.03)], "pass": True}
    for name, data, family in (("a", "ttbar", "rbm"), ("b", "digits", "rbm"), ("e", "digits", "ebm")):
        board = {**_board({data: {family: ok}}), "command": f"python benchmarks/defaults.py --datasets {data}"}
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(board))
    assert bench.main(["--out", str(tmp_path / "c"), "--combine",
                       *(str(tmp_path / n / "results.json") for n in "abe")]) == 0
    table = (tmp_path / "c" / "results.md").read_text()
    assert "| ttbar | rbm | mean KL |" in table and "| digits | rbm | mean KL |" in table
    assert "| digits | ebm | mean KL |" in table
    assert "Combined run: `python benchmarks/defaults.py --datasets digits` (d; m)." in table
    assert bench.main(["--out", str(tmp_path / "d"), "--combine", str(tmp_path / "none.json")]) == 2


# --- --runs N: every cell N times, the median judged ----------------------------------------------------------
DIGITS_AUC_PER_RUN = (0.55, 0.70, 0.58)   # run 1 alone misses the 0.60 target; the median, 0.58, meets it


def _fake_physgen(calls: list[list[str]]):
    """A stand-in for ``run_physgen``: records the arguments, writes what train and evaluate leave behind
    (evaluate: digits metrics whose AUC is DIGITS_AUC_PER_RUN[run], the run read from the samples' name)."""
    def run_physgen(args, *, cwd, threads, log=None, timeout=None):
        args = list(map(str, args))
        calls.append(args)
        out = Path(cwd) / args[args.index("--out") + 1] if "--out" in args else None
        if args[0] == "train":
            out.mkdir(parents=True, exist_ok=True)
            (out / "summary.json").write_text(json.dumps({"steps": 5, "status": "max-time"}))
        elif args[0] == "evaluate":
            run = int(m.group(1)) if (m := re.search(r"-r(\d+)\.h5$", args[args.index("--fake") + 1])) else 0
            out.mkdir(parents=True, exist_ok=True)
            metrics = {"c2st_auc": {"value": DIGITS_AUC_PER_RUN[run], "error": 0.02, "floor": 0.5},
                       "kl": {"value": 0.01 * (run + 1), "error": 0.001, "floor": 0.002}}
            (out / "metrics.json").write_text(json.dumps(metrics))
        return {"command": command_text(args, threads), "rc": 0, "wall_s": 10.0 + len(calls), "cpu_s": 0.0,
                "error": None}
    return run_physgen


@pytest.fixture
def fake_runs(tmp_path, monkeypatch):
    """No physgen process: ``run_physgen`` faked, the data prepared as two file names of 599 rows."""
    calls: list[list[str]] = []
    monkeypatch.setattr(bench, "run_physgen", _fake_physgen(calls))
    monkeypatch.setattr("physgen.data.load", lambda path: [0] * 599)
    paths = {"digits": ("data/digits-train.h5", "data/digits-test.h5"), "ising": ("data/ising-train.h5", "x.h5")}
    monkeypatch.setattr(bench, "prepare", lambda datasets, args, commands: (paths, {}))
    return calls


def _args(tmp_path, **kw):
    return bench.parse_args(["--out", str(tmp_path), "--max-time", "2", *(a for k, v in kw.items()
                                                                            for a in (f"--{k}", str(v)))])


def test_run_r_adds_seeds_and_a_path_suffix_and_run_0_is_the_single_run(tmp_path, fake_runs):
    args = _args(tmp_path, seed=4)
    single = bench.train_cell("rbm", "digits", ("d/train.h5", "d/test.h5"), args)
    cell = bench.repeated(partial(bench.train_cell, "rbm", "digits", ("d/train.h5", "d/test.h5"), args), 3)
    assert bench.repeated(lambda r: single, 1) is single and "per_run" not in single
    assert cell["per_run"][0]["commands"] == single["commands"]
    train, sample, evaluate = cell["per_run"][2]["commands"]
    assert train == ("OMP_NUM_THREADS=1 physgen train rbm --data d/train.h5 --out runs/digits-rbm-r2 --max-time 2 "
                     "--seed 6 --no-progress --overwrite")
    assert sample == ("OMP_NUM_THREADS=1 physgen sample runs/digits-rbm-r2 --n 599 --seed 2 "
                      "--out samples/digits-rbm-r2.h5 --overwrite")
    assert "--fake samples/digits-rbm-r2.h5 --out eval/digits-rbm-r2" in evaluate and "--seed 4 " in evaluate
    assert "--seed" not in single["commands"][1] and "--seed 4 " in single["commands"][0]
    assert cell["commands"] == [c for run in cell["per_run"] for c in run["commands"]]


def test_the_ising_judge_draws_3000_samples_per_temperature_against_10000_monte_carlo_lattices(tmp_path, monkeypatch):
    """At T = 3 one standard error of the ⟨|m|⟩ comparison is then 1.5%, half the tightest target."""
    calls: list[list[str]] = []
    monkeypatch.setattr(bench, "run_physgen", _fake_physgen(calls))
    commands: list[str] = []
    paths, _ = bench.prepare(["ising"], _args(tmp_path), commands)
    train_data, test_data = (c[c.index("--samples") + 1] for c in calls)
    assert (train_data, test_data) == ("1000", "10000") and paths["ising"][1] == "data/ising-test.h5"
    train, sample, _ = bench.train_cell("vae", "ising", paths["ising"], _args(tmp_path))["commands"]
    assert " --n 9000 " in sample and "--condition temperature" in train


def test_the_second_ising_set_is_judged_alike_and_van_runs_on_spins_only(tmp_path, monkeypatch):
    """``ising-off`` makes its own files at T = 2.0, 2.4, 3.5 (1,000 to train on, 10,000 to judge against) and its
    cells train conditioned on T; ``van`` is planned for the Ising sets and ``sampling`` only."""
    calls: list[list[str]] = []
    monkeypatch.setattr(bench, "run_physgen", _fake_physgen(calls))
    paths, _ = bench.prepare(["ising-off"], _args(tmp_path), [])
    assert [c[c.index("--temperatures") + 1] for c in calls] == ["2,2.4,3.5"] * 2
    assert paths == {"ising-off": ("data/ising-off-train.h5", "data/ising-off-test.h5")}
    train, sample, _ = bench.train_cell("rbm", "ising-off", paths["ising-off"], _args(tmp_path))["commands"]
    assert " --n 9000 " in sample and "--condition temperature" in train
    assert [d for d in bench.DATASETS if bench.models("van", d)] == ["ising", "ising-off", "ising-random", "sampling"]
    assert all(bench.models("rbm", d) for d in bench.DATASETS) and bench.ISING_TARGETS["van"] == 0.03


def test_the_third_ising_set_is_drawn_per_seed_within_its_range(tmp_path, monkeypatch):
    """``ising-random``: three temperatures in [1.6, 3.6] drawn from the run's --seed (the same seed, the same set;
    another seed, another set), written, trained conditioned on T and judged like the fixed sets."""
    calls: list[list[str]] = []
    monkeypatch.setattr(bench, "run_physgen", _fake_physgen(calls))
    drawn = bench.random_temperatures(0)
    assert len(drawn) == 3 and list(drawn) == sorted(drawn) and all(1.6 <= t <= 3.6 for t in drawn)
    assert bench.random_temperatures(0) == drawn != bench.random_temperatures(1)
    paths, _ = bench.prepare(["ising-random"], _args(tmp_path), [])
    assert [c[c.index("--temperatures") + 1] for c in calls] == [",".join(f"{t:g}" for t in drawn)] * 2
    assert paths == {"ising-random": ("data/ising-random-train.h5", "data/ising-random-test.h5")}
    assert bench.JUDGES["ising-random"] == bench.JUDGES["ising"]
    train, sample, _ = bench.train_cell("rbm", "ising-random", paths["ising-random"], _args(tmp_path))["commands"]
    assert " --n 9000 " in sample and "--condition temperature" in train


def test_the_verdict_is_the_median_s_with_min_max_and_every_run_kept(tmp_path, fake_runs):
    cell = bench.repeated(partial(bench.train_cell, "rbm", "digits", ("a.h5", "b.h5"), _args(tmp_path)), 3)
    auc, kl = cell["checks"]
    assert (auc["quantity"], auc["value"], auc["median"], auc["min"], auc["max"]) == ("classifier AUC", 0.58, 0.58,
                                                                                       0.55, 0.70)
    assert auc["values"] == list(DIGITS_AUC_PER_RUN) and auc["errors"] == [0.02] * 3
    assert auc["floor"] == 0.5 and auc["target"] == 0.6 and auc["pass"] is True and cell["pass"] is True
    assert [run["checks"][0]["pass"] for run in cell["per_run"]] == [True, False, True]
    assert kl["value"] == pytest.approx(0.02) and kl["pass"] is None
    rows = [bench._check("x", {"value": v}, 0.6) for v in (0.7, 0.5, 0.65, 0.45)]   # even: the middle two's mean
    assert bench._median_check(rows)["value"] == pytest.approx(0.575) and bench._median_check(rows)["pass"] is True
    assert bench._median_check(rows[:3])["pass"] is False
    assert bench._median_check([*rows, bench._check("x", {}, 0.6)])["pass"] is False


def test_a_failed_run_fails_the_cell_with_its_reason():
    ok = {"status": "ok", "commands": ["a"], "checks": [bench._check("mean KL", {"value": 0.01}, 0.03)]}
    cell = bench.combine_runs([ok, {"status": "failed", "reason": "physgen train: error: boom", "commands": ["b"]}])
    assert cell["status"] == "failed" and cell["reason"] == "run 1: physgen train: error: boom"
    assert cell["commands"] == ["a", "b"]


def test_sampling_times_the_ising_run_of_each_run_and_takes_the_median(tmp_path, fake_runs):
    args = _args(tmp_path)
    runs = [{"status": "ok"}, {"status": "ok"}]
    cell = bench.repeated(partial(bench.sampling_cell, "vae", {"status": "ok", "per_run": runs}, args), 2)
    assert [run["commands"][0].split()[3] for run in cell["per_run"]] == ["runs/ising-vae", "runs/ising-vae-r1"]
    assert cell["per_run"][1]["commands"][0].endswith("--seed 1 --out samples/sampling-vae-r1.h5 --overwrite")
    (row,) = cell["checks"]
    assert row["values"] == [11.0, 12.0] and row["value"] == 11.5 and row["pass"] is True
    failed = bench.repeated(partial(bench.sampling_cell, "vae", {"per_run": [runs[0], {"status": "failed"}]}, args), 2)
    assert failed["status"] == "failed" and failed["reason"].startswith("run 1: needs the family's Ising run")


def test_multi_run_board_results_and_table(tmp_path, fake_runs):
    out = tmp_path / "acc"
    assert bench.main(["--out", str(out), "--max-time", "2", "--families", "rbm", "--datasets", "digits",
                       "--runs", "3", "--seed", "1"]) == 0
    board = json.loads((out / "results.json").read_text())
    assert board["runs_per_cell"] == 3 and len(board["results"]["digits"]["rbm"]["per_run"]) == 3
    table = (out / "results.md").read_text()
    assert ("3 runs per cell: `physgen train` with seeds 1, 2, 3 and `physgen sample` with seeds 0, 1, 2 "
            "(seed 0, the default, is not written)") in table
    assert "| data | family | quantity | defaults: median [min–max] | floor | target | verdict (median) |" in table
    assert "| digits | rbm | classifier AUC | 0.58 [0.55–0.7] | 0.5 | ≤ 0.6 | pass |" in table
    assert "1 of 1 checks pass." in table
    assert "| digits | rbm run 2 | max-time | 5 |" in table and "--out runs/digits-rbm-r2 " in table
    assert all(_columns(line) == 7 for line in table.splitlines() if line.startswith("| digits | rbm | "))


def test_one_run_keeps_the_single_run_board(tmp_path, fake_runs):
    out = tmp_path / "acc"
    assert bench.main(["--out", str(out), "--max-time", "2", "--families", "rbm", "--datasets", "digits"]) == 0
    board = json.loads((out / "results.json").read_text())
    assert "runs_per_cell" not in board and "per_run" not in board["results"]["digits"]["rbm"]
    assert "| digits | rbm | classifier AUC | 0.55 ± 0.02 | 0.5 | ≤ 0.6 | pass |" in (out / "results.md").read_text()


@pytest.mark.parametrize("runs", ["0", "-2"])
def test_runs_below_one_is_a_one_line_error(tmp_path, capsys, runs):
    out = tmp_path / "acc"
    assert bench.main(["--out", str(out), "--runs", runs]) == 2
    err = capsys.readouterr().err
    assert "--runs >= 1" in err and err.count("\n") == 1 and not out.exists()


def test_combine_takes_multi_run_files_and_mixed_runs(tmp_path, capsys):
    aggregated = bench.combine_runs([{"status": "ok", "commands": [f"c{r}"], "checks": [
        bench._check("mean KL", {"value": v}, 0.03)]} for r, v in enumerate((0.01, 0.04, 0.02))])
    for name, runs in (("a", 3), ("b", 3), ("one", 1)):
        board = {**_board({"digits" if name == "b" else "ttbar": {"rbm": aggregated}}), "command": name,
                 **({"runs_per_cell": runs} if runs > 1 else {})}
        (tmp_path / f"{name}.json").write_text(json.dumps(board))
    assert bench.main(["--out", str(tmp_path / "c"), "--combine", str(tmp_path / "a.json"),
                       str(tmp_path / "b.json")]) == 0
    table = (tmp_path / "c" / "results.md").read_text()
    assert "| ttbar | rbm | mean KL | 0.02 [0.01–0.04] | — | ≤ 0.03 | pass |" in table
    assert "| digits | rbm | mean KL | 0.02 [0.01–0.04] |" in table and "3 runs per cell" in table
    one = {**_board({"ising": {"vae": {"status": "ok", "commands": ["v"], "checks": [
        bench._check("mean KL", {"value": 0.01, "error": 0.002}, 0.03)]}}}), "command": "one"}
    (tmp_path / "one.json").write_text(json.dumps(one))
    assert bench.main(["--out", str(tmp_path / "d"), "--combine", str(tmp_path / "a.json"),
                       str(tmp_path / "one.json")]) == 0
    board = json.loads((tmp_path / "d" / "results.json").read_text())
    assert "runs_per_cell" not in board and [r["runs_per_cell"] for r in board["runs"]] == [3, 1]
    table = (tmp_path / "d" / "results.md").read_text()
    assert "| ttbar | rbm | mean KL | 0.02 [0.01–0.04] | — | ≤ 0.03 | pass |" in table
    assert "| ising | vae | mean KL | 0.01 ± 0.002 |" in table
    assert "A cell with several runs" in table and "runs per cell" not in table


def test_ising_runs_reuses_the_trained_runs_of_an_earlier_output(tmp_path):
    """``--ising-runs DIR`` links DIR's ``runs/ising-FAMILY`` (else ``runs/ising-off-FAMILY``) as this output's
    Ising run for every repetition, and a family DIR lacks is a failed cell, not a crash."""
    import argparse

    earlier = tmp_path / "earlier" / "runs" / "ising-off-vae"
    earlier.mkdir(parents=True)
    (earlier / "config.toml").write_text("")
    args = argparse.Namespace(ising_runs=tmp_path / "earlier", out=tmp_path / "out", runs=2)
    assert bench.reused_ising_run("vae", args) == {"status": "ok"}
    for stem in ("ising-vae", "ising-vae-r1"):
        assert (tmp_path / "out" / "runs" / stem).resolve() == earlier.resolve()
    missing = bench.reused_ising_run("ebm", args)
    assert missing["status"] == "failed" and "runs/ising-ebm" in missing["reason"]
    assert bench._generic_out(["--ising-runs", "/x/y", "--out", "/z"]) == ["--ising-runs", "DIR", "--out", "OUT"]


def test_the_held_out_log_likelihood_is_the_mean_with_its_standard_error(tmp_path):
    """The tt̄ log-likelihood row: the mean of ``/log_prob`` over the events; its error is the standard error of
    that mean, with the estimator's own error (per-event ODE errors, AIS's log Z error) added in quadrature."""
    import h5py

    lp = np.array([-27.0, -26.0, -25.0, -26.0])
    with h5py.File(tmp_path / "s.h5", "w") as f:
        f["log_prob"] = lp
        f.attrs["log_z_error"] = 0.3
    row = bench.loglik_check("rbm", tmp_path / "s.h5")
    sem = lp.std(ddof=1) / 2
    assert row["value"] == pytest.approx(-26.0) and row["error"] == pytest.approx(np.hypot(sem, 0.3))
    assert row["target"] is None and row["quantity"] == "held-out log-likelihood (nats/event, ais)"
    with h5py.File(tmp_path / "o.h5", "w") as f:
        f["log_prob"] = lp
        f["log_prob_error"] = np.full(4, 0.2)
        f.attrs["log_z_error"] = float("nan")
    row = bench.loglik_check("ddpm", tmp_path / "o.h5")
    assert row["error"] == pytest.approx(np.hypot(sem, 0.2 * 2 / 4))
