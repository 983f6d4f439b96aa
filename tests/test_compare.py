"""benchmarks/compare.py, physgen's scoreboard of the families' defaults: the regression rule, the table, the
exact commands, bad input, a failing family, and (slow) determinism and every family's quick-mode metrics
against benchmarks/compare_quick_reference.json.

Regression rule (lower is better for every metric): a family fails when its quick-mode classifier AUC
differs from the recorded one by more than 3σ + 0.005 either way (a better AUC means the reference is
stale), or its KL / MMD / ⟨e⟩,⟨|m|⟩ relative error > recorded·1.5 + 3σ, σ = the recorded and new errors
(DeLong for the AUC, bootstrap otherwise) in quadrature.  Quick mode uses fixed step budgets and seeds, so
on the same CPU and torch build the numbers are reproduced exactly (checked below); the tolerance only
absorbs changes of platform or library version.

Power of the AUC rule (``python benchmarks/power.py compare``: a true AUC shift Δ, the new AUC drawn
around it with the recorded DeLong error, analytic): Δ = 0.1 is caught with probability 0.09–0.15 in the
Ising and digits cells recorded at 0.50–0.66 (errors ≈ 0.03; Δ = 0.2: 0.96–0.99), 0.27 in the Ising ebm's
(0.72), 0.83–0.91 in the tt̄ cells at 0.52–0.67, ≥ 0.94 in the cells at 0.87–1.0; Δ = 0.05 only in the
cells at 0.87–1.0 (0.07–0.35, 1.0 where the recorded AUC is ≥ 0.997).
"""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def _load_compare():
    spec = importlib.util.spec_from_file_location("physgen_compare_script", REPO / "benchmarks" / "compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compare = _load_compare()


def _entry(value, error=0.0, floor=None):
    return {"value": value, "error": error, "floor": floor}


def test_regression_rule_thresholds_are_exact():
    ref = {"c2st_auc": _entry(0.70, 0.03), "kl": _entry(0.20, 0.04), "mmd": _entry(0.10, 0.0)}
    sigma_auc = (0.03 ** 2 + 0.04 ** 2) ** 0.5                     # = 0.05
    auc_limit = 0.005 + 3 * sigma_auc                                # = 0.155 either way
    kl_limit = 0.20 * 1.5 + 3 * 0.04                                  # new error 0 -> 0.42
    ok = {"c2st_auc": _entry(0.70 + auc_limit - 1e-9, 0.04), "kl": _entry(kl_limit - 1e-9), "mmd": _entry(0.15)}
    assert compare.regressions(ref, ok) == []
    worse = {"c2st_auc": _entry(0.70 + auc_limit + 1e-6, 0.04), "kl": _entry(kl_limit + 1e-6), "mmd": _entry(0.1501)}
    bad = compare.regressions(ref, worse)
    assert [m.split(":")[0] for m in bad] == ["c2st_auc", "kl", "mmd"]
    assert compare.regressions(ref, {"kl": _entry(0.0), "mmd": _entry(0.0)}) == ["c2st_auc: missing in the new results"]
    better = {"c2st_auc": _entry(0.70 - auc_limit + 1e-9, 0.04), "kl": _entry(0.0), "mmd": _entry(0.0)}
    assert compare.regressions(ref, better) == []                    # KL, MMD: improvements never fail
    stale = compare.regressions(ref, {**better, "c2st_auc": _entry(0.70 - auc_limit - 1e-6, 0.04)})
    assert len(stale) == 1 and "re-record" in stale[0]               # a much better AUC: the reference is stale


def test_auc_rule_can_fail_for_every_recorded_cell():
    """The AUC limit of every cell of the reference lies inside [0, 1] on at least one side, so each recorded
    AUC, however close to 1, can fail the rule (a rule of recorded + tolerance alone cannot above 0.95)."""
    reference = json.loads(compare.REFERENCE.read_text())
    for data, cells in reference["results"].items():
        for family, metrics in cells.items():
            a = metrics["c2st_auc"]
            reach = 0.005 + 3 * 2 ** 0.5 * a["error"]                 # the new error taken as the recorded one
            assert a["value"] - reach > 0.0 or a["value"] + reach < 1.0, (data, family, a)
            assert compare.regressions({"c2st_auc": a}, {"c2st_auc": {**a, "value": a["value"] - reach - 1e-6}}) \
                or compare.regressions({"c2st_auc": a}, {"c2st_auc": {**a, "value": a["value"] + reach + 1e-6}})


def _obs(real_e, fake_e, real_m, fake_m, floor_e, floor_m, err=0.01):
    def one(r, f, fl):
        return {"real": {"value": r}, "difference": {"value": f - r, "error": err}, "floor": {"value": fl}}
    return {"observables": {"energy": one(real_e, fake_e, floor_e), "abs_magnetization": one(real_m, fake_m, floor_m)}}


def test_relative_errors_average_over_temperatures_and_observables():
    obs = {"by_temperature": {"2": _obs(-1.0, -0.9, 0.5, 0.6, 0.01, -0.02),
                              "3": _obs(-0.5, -0.5, 0.2, 0.1, 0.0, 0.01)}}
    r = compare.relative_errors(obs)
    assert r["value"] == pytest.approx((0.1 + 0.2 + 0.0 + 0.5) / 4)
    assert r["floor"] == pytest.approx((0.01 + 0.04 + 0.0 + 0.05) / 4)
    assert r["error"] == pytest.approx((0.01 ** 2 * (1 + 4 + 4 + 25)) ** 0.5 / 4)


def test_table_marks_inapplicable_failed_and_skipped_cells():
    ok = {"status": "ok", "parameters": 1234, "steps": 10, "cpu_s": 1.0, "wall_s": 2.0, "sample_s": 0.5,
          "command": "OMP_NUM_THREADS=1 physgen train rbm --data d.h5 --out r --steps 10",
          "metrics": {"kl": _entry(0.5, 0.1, 0.01), "mmd": _entry(0.2), "c2st_auc": _entry(0.6, 0.02, 0.5)}}
    board = {"results": {"digits": {"rbm": ok, "ebm": {"status": "n/a", "reason": "no energy for words"},
                                    "ddpm": {"status": "failed", "reason": "UserError: boom", "command": "physgen x"}}},
             "skipped": {"ttbar": "--ttbar x: no such file"}}
    table = compare.markdown(board)
    assert ("| digits | rbm | 0.5 ± 0.1 (0.01) | 0.2 ± 0 | 0.6 ± 0.02 (0.5) | — | 1,234 | 10 | 1.0 | 2.0 | 0.5 | "
            "`OMP_NUM_THREADS=1 physgen train rbm --data d.h5 --out r --steps 10` |") in table
    assert "| digits | ebm | n/a: no energy for words |" in table
    assert "| digits | ddpm | failed: UserError: boom |" in table and "`physgen x` |" in table
    assert "| ttbar | all | skipped: --ttbar x: no such file |" in table
    rows = [line for line in table.splitlines() if line.startswith("|")]
    assert all(len(re.findall(r"(?<!\\)\|", line)) == len(compare.HEAD) + 1 for line in rows)  # all columns
    assert "`--no-progress`, `--overwrite`" in table  # the bookkeeping flags are printed


def test_train_command_is_the_defaults_with_a_budget_only():
    """The scoreboard's run is what a user types: no --set, --config or --epochs; one budget flag."""
    quick = compare.train_args("ddpm", "ising", "data/ising-train.h5", "runs/x", compare.budget_args("ddpm", True, 60), 0)
    assert quick == ["train", "ddpm", "--data", "data/ising-train.h5", "--out", "runs/x", "--condition", "temperature",
                     "--steps", str(compare.QUICK_STEPS["ddpm"]), "--no-progress", "--overwrite"]
    full = compare.train_args("vae", "ttbar", "t.h5", "runs/y", compare.budget_args("vae", False, 300), 3)
    assert full == ["train", "vae", "--data", "t.h5", "--out", "runs/y", "--max-time", "300", "--seed", "3",
                    "--no-progress", "--overwrite"]


@pytest.mark.parametrize("argv, message", [
    (["--data", "ising,mnist"], "--data: unknown mnist"),
    (["--families", "rbm,flow"], "--families: unknown flow"),
    (["--quick", "--threads", "0"], "--threads >= 1"),
    (["--quick", "--jobs", "0"], "--jobs >= 1"),
    (["--quick", "--seed", "-1"], "--seed >= 0"),
    (["--max-time", "0"], "--max-time must be > 0"),
])
def test_bad_options_are_one_line_errors_and_write_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "sb"
    assert compare.main(["--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    out = tmp_path / "file"
    out.write_text("x")
    assert compare.main(["--out", str(out), "--quick"]) == 2
    assert "is a file" in capsys.readouterr().err


def test_missing_ttbar_file_skips_that_data_set_with_a_message(tmp_path, capsys):
    out = tmp_path / "sb"
    assert compare.main(["--quick", "--out", str(out), "--data", "ttbar", "--ttbar", str(tmp_path / "nope.txt")]) == 0
    captured = capsys.readouterr()
    assert "nope.txt: no such file; tt̄ data set skipped" in captured.err
    board = json.loads((out / "scoreboard.json").read_text())
    assert board["results"] == {} and "ttbar" in board["skipped"]
    assert "| ttbar | all | skipped:" in (out / "scoreboard.md").read_text()


def test_ttbar_events_come_from_pythia_once_per_output_directory(tmp_path, monkeypatch):
    """Without --ttbar the tt̄ set is ``physgen data pythia`` events in OUT/data: the command is run when the
    file is absent and only recorded when it is there (a file planted here stands in for an earlier run)."""
    from physgen.data import Dataset, load, save

    out = tmp_path / "sb"
    cached = out / "data" / compare.file_name(seed=3)
    save(Dataset(np.arange(30, dtype=np.float32).reshape(10, 3), "continuous"), cached)
    monkeypatch.setattr(compare, "run_physgen", lambda *a, **k: pytest.fail("the cached file was regenerated"))
    commands: list[str] = []
    paths, skipped = compare.prepare_data(["ttbar"], True, 3, None, out, 1, commands)
    assert skipped == {} and commands == [
        "OMP_NUM_THREADS=1 physgen data pythia --process ttbar --ecm 13000 --n 10000 --features s,t,y --seed 3 "
        f"--out data/{cached.name}"]
    train, test = (load(out / p) for p in paths["ttbar"])
    assert len(train) == 8 and len(test) == 2


def test_ttbar_events_are_generated_when_absent(tmp_path):
    """The default tt̄ set: 10⁴ Pythia events (≈ 2 s) in OUT/data, split 8,000 / 2,000."""
    pytest.importorskip("pythia8mc")
    from physgen.data import load

    out = tmp_path / "sb"
    out.mkdir()
    commands: list[str] = []
    paths, _ = compare.prepare_data(["ttbar"], True, 0, None, out, 1, commands)
    ds = load(out / "data" / compare.file_name(seed=0))
    assert len(ds) == 10_000 and ds.feature_names == ["s", "t", "y"] and commands[0].endswith(
        f"--seed 0 --out data/{compare.file_name(seed=0)}")
    assert len(load(out / paths["ttbar"][0])) == 8_000


def test_one_cell_runs_the_cli_and_a_failing_family_is_reported(tmp_path, monkeypatch):
    """digits: vae at a tiny step budget (the cheapest sampler) runs train, sample and evaluate as printed; rbm,
    given a bad budget, fails with its one-line CLI error while the table still holds the vae row."""
    monkeypatch.setitem(compare.QUICK_STEPS, "vae", 20)
    budget = compare.budget_args
    monkeypatch.setattr(compare, "budget_args", lambda f, q, t: ["--steps", "-1"] if f == "rbm" else budget(f, q, t))
    out = tmp_path / "sb"
    assert compare.main(["--quick", "--out", str(out), "--data", "digits", "--families", "vae,rbm"]) == 1
    board = json.loads((out / "scoreboard.json").read_text())
    vae, rbm = board["results"]["digits"]["vae"], board["results"]["digits"]["rbm"]
    assert vae["status"] == "ok" and vae["steps"] == 20 and 0.0 <= vae["metrics"]["c2st_auc"]["value"] <= 1.0
    assert vae["command"] == ("OMP_NUM_THREADS=1 physgen train vae --data data/digits-train.h5 --out runs/digits-vae "
                              "--steps 20 --no-progress --overwrite")
    assert rbm["status"] == "failed" and "--steps" in rbm["reason"] and "\n" not in rbm["reason"]
    table = (out / "scoreboard.md").read_text()
    assert f"`{vae['command']}` |" in table and "| digits | rbm | failed: " in table
    commands = (out / "commands.txt").read_text().splitlines()
    assert commands[0] == "OMP_NUM_THREADS=1 physgen data digits --out data/digits-all.h5 --overwrite"
    assert [c.split()[2] for c in commands[1:]] == ["train", "sample", "evaluate", "train"]


@pytest.mark.slow
def test_quick_mode_is_deterministic(tmp_path):
    """Two quick runs of the cheapest cell (digits, vae) give identical numbers (≈ 40 s)."""
    boards = []
    for name in ("a", "b"):
        args = ["--quick", "--out", str(tmp_path / name), "--data", "digits", "--families", "vae"]
        assert compare.main(args) == 0
        boards.append(json.loads((tmp_path / name / "scoreboard.json").read_text()))
    cells = [b["results"]["digits"]["vae"] for b in boards]
    assert cells[0]["metrics"] == cells[1]["metrics"] and cells[0]["steps"] == compare.QUICK_STEPS["vae"]


def test_record_replaces_only_the_marked_section(tmp_path):
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    from record import record, replace_between

    doc = tmp_path / "doc.md"
    doc.write_text("intro\n<!-- t:begin -->\nold\n<!-- t:end -->\noutro\n")
    record(doc, "t", "| new |\n")
    assert doc.read_text() == "intro\n<!-- t:begin -->\n| new |\n<!-- t:end -->\noutro\n"
    with pytest.raises(ValueError, match="no <!-- u:begin -->"):
        replace_between(doc.read_text(), "u", "x")
    text = compare.DOC.read_text()
    for name in compare.DOC_SECTIONS.values():  # the scoreboard document has the sections --record fills
        replace_between(text, name, "x")


@pytest.mark.slow
@pytest.mark.parametrize("data", ["ising", "ttbar", "digits"])
def test_quick_scoreboard_does_not_regress(data, tmp_path):
    """Every family's quick-mode metrics on ``data`` against the recorded reference (rule: module docstring);
    two cells at a time (the numbers do not depend on it: one thread per run, fixed step budgets)."""
    reference = json.loads(compare.REFERENCE.read_text())
    argv = ["--quick", "--out", str(tmp_path / "sb"), "--data", data, "--seed", str(reference["seed"]), "--jobs", "2"]
    if data == "ttbar":
        pytest.importorskip("pythia8mc")
    assert compare.main(argv) == 0
    board = json.loads((tmp_path / "sb" / "scoreboard.json").read_text())
    problems = []
    for family, recorded in reference["results"][data].items():
        cell = board["results"][data][family]
        assert cell["status"] == "ok", cell
        assert cell["steps"] == reference["quick_steps"][family]
        problems += [f"{family} {m}" for m in compare.regressions(recorded, cell["metrics"])]
    assert set(reference["results"][data]) == set(compare.FAMILIES)
    assert "sets" not in reference  # the defaults: no per-family overrides
    assert not problems, "; ".join(problems)


def test_inapplicable_cell_is_reported_not_trained(tmp_path, monkeypatch):
    monkeypatch.setitem(compare.NOT_APPLICABLE, ("ebm", "digits"), "test reason")
    out = tmp_path / "sb"
    assert compare.main(["--quick", "--out", str(out), "--data", "digits", "--families", "ebm"]) == 0
    assert "| digits | ebm | n/a: test reason |" in (out / "scoreboard.md").read_text()
    assert not (out / "runs").exists()
