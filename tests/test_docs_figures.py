"""The acceptance figures the docs repeat are the recorded ones: benchmarks/figures.py regenerates the marked
tables of README.md and docs/models.md from ``benchmarks/records/acceptance/results.json``, and a document
that differs fails.  The generator itself is checked on two results.json files written by
``benchmarks/defaults.py`` (tests/fixtures/acceptance/): ``results-single.json`` is ``python benchmarks/defaults.py
--out OUT --max-time 5 --families rbm,vae --datasets digits``; ``results-runs2.json`` has the layout of
``--runs 2``, assembled with defaults.py's own ``ttbar_checks``, ``ising_checks``, ``digits_checks`` and
``combine_runs`` from ``physgen evaluate`` outputs of such short runs (the second Ising run's relative errors
scaled by 1.5 so that min and max differ).  Their figures are far from the targets: they test the layout."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "acceptance"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"physgen_{name}_script", REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


figures = _load("figures")


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_docs_match_the_acceptance_record():
    """README.md and docs/models.md hold exactly the tables generated from the committed record."""
    if not figures.RECORD.is_file():
        pytest.skip(f"{figures.RECORD.relative_to(REPO)} is not committed yet: the docs' acceptance tables are "
                    "not checked against it (commit it, then run python benchmarks/figures.py)")
    board = json.loads(figures.RECORD.read_text(encoding="utf-8"))
    assert figures.stale(board) == [], ("run: python benchmarks/figures.py --results "
                                        f"{figures.RECORD.relative_to(REPO)}")


def test_every_document_has_its_markers():
    """The marker pairs exist where the generated tables belong (a missing pair would make the check vacuous)."""
    board = _fixture("results-runs2.json")
    docs = figures.documents(board)
    assert set(docs) == {"README.md", "docs/models.md", "docs/training.md"}


def _cell_value(board, data, family, quantity):
    return next(c for c in board["results"][data][family]["checks"] if c["quantity"] == quantity)


def test_readme_table_carries_the_recorded_values():
    """Each tt̄ figure is the record's value (KL to two significant digits, AUC to three decimals) with the
    floor in the row label; repeated cells are named as medians."""
    board = _fixture("results-runs2.json")
    text = figures.readme_ttbar(board)
    kl = {f: _cell_value(board, "ttbar", f, "mean KL") for f in ("wgan-gp", "vae")}
    auc = {f: _cell_value(board, "ttbar", f, "classifier AUC") for f in ("wgan-gp", "vae")}
    assert "| tt̄ (s, t, y) | wgan-gp | vae |" in text
    assert (f"| mean per-feature KL ({figures.sig2(kl['vae']['floor'])}) | {figures.sig2(kl['wgan-gp']['value'])} | "
            f"{figures.sig2(kl['vae']['value'])} |") in text
    assert (f"| classifier AUC ({auc['vae']['floor']:.2f}) | {auc['wgan-gp']['value']:.3f} | "
            f"{auc['vae']['value']:.3f} |") in text
    assert "medians of 2 runs" in text and board["date"][:10] in text


def test_models_table_rows_from_a_single_run():
    board = _fixture("results-single.json")
    text = figures.models_table(board)
    auc = _cell_value(board, "digits", "rbm", "classifier AUC")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert [r.split(" | ")[0] for r in rows] == ["| `vae`", "| `rbm`"]
    assert f"| `rbm` | — | — | {auc['value']:.3f} |" in text and "median" not in text


def test_models_table_worst_ising_error_and_medians():
    board = _fixture("results-runs2.json")
    text = figures.models_table(board)
    checks = [c for c in board["results"]["ising"]["vae"]["checks"] if "rel. err." in c["quantity"]]
    worst = max(checks, key=lambda c: c["value"])
    second = sorted(c["value"] for c in checks)[-2]
    row = next(line for line in text.splitlines() if line.startswith("| `vae`"))
    assert f"{figures.pct(worst['value'])} (" in row and f"the rest ≤ {figures.pct(second)})" in row
    assert f"median of 2 runs: {figures.pct(worst['min'])}–{figures.pct(worst['max'])}" in row
    temperatures = [c["quantity"].split()[0][2:] for c in checks if "⟨e⟩" in c["quantity"]]
    assert f"over T = {', '.join(temperatures)} |" in text


def test_failed_cell_reads_failed():
    board = _fixture("results-single.json")
    board["results"]["digits"]["vae"] = {"status": "failed", "reason": "boom", "commands": []}
    assert "| `vae` | — | — | failed |" in figures.models_table(board)


def test_rewrite_changes_only_the_marked_tables_and_a_stale_figure_fails(tmp_path):
    """Regenerating into copies of the documents keeps every line outside the markers, is then up to date,
    and a figure edited by hand inside the markers is reported (the check can fail)."""
    for doc in ("README.md", "docs/models.md", "docs/training.md"):
        (tmp_path / doc).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / doc, tmp_path / doc)
    board = _fixture("results-runs2.json")
    for doc, (now, want) in figures.documents(board, tmp_path).items():
        begin, end = "<!-- ", ":end -->"
        outside = lambda t: [t[: t.index(begin + name)] + t[t.index(name + end):]   # noqa: E731
                             for (d, name) in figures.SECTIONS if d == doc][0]
        assert outside(now) == outside(want)
        (tmp_path / doc).write_text(want, encoding="utf-8")
    assert figures.stale(board, tmp_path) == []
    models = tmp_path / "docs" / "models.md"
    value = f"{_cell_value(board, 'digits', 'vae', 'classifier AUC')['value']:.3f}"
    models.write_text(models.read_text(encoding="utf-8").replace(value, "0.123", 1), encoding="utf-8")
    assert figures.stale(board, tmp_path) == ["docs/models.md"]


def test_script_check_and_bad_input(tmp_path, capsys):
    assert figures.main(["--results", str(tmp_path / "none.json"), "--check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("figures: error: ") and err.count("\n") == 1


def test_training_times_carry_the_recorded_wall_times_and_steps():
    """docs/training.md's table gives each cell's training wall time and steps from the record (run 0 of a
    repeated cell), and names a failed cell."""
    board = _fixture("results-single.json")
    text = figures.training_times(board)
    for family, cell in board["results"]["digits"].items():
        if cell.get("status") == "ok" and cell.get("train_wall_s"):
            assert f"| `{family}` | {cell['train_wall_s']:,.0f} s ({cell['steps']:,} steps) |" in text
    broken = {**board, "results": {"digits": {"rbm": {"status": "failed", "reason": "x"}}}}
    assert "| `rbm` | failed |" in figures.training_times(broken)
    runs2 = _fixture("results-runs2.json")
    for family, cell in runs2["results"]["digits"].items():
        first = cell["per_run"][0]
        assert f"| `{family}` | {first['train_wall_s']:,.0f} s ({first['steps']:,} steps) |" in figures.training_times(runs2)


def test_tables_are_dated_by_the_runs_that_measured_them():
    """A combined record dates the tt̄ table by the last run that covered tt̄, not by its first run."""
    board = {**_fixture("results-single.json"), "date": "2026-01-01 00:00 UTC", "runs": [
        {"command": "python benchmarks/defaults.py --out OUT", "date": "2026-01-01 00:00 UTC"},
        {"command": "python benchmarks/defaults.py --out OUT --datasets ising", "date": "2026-01-02 00:00 UTC"},
        {"command": "python benchmarks/defaults.py --out OUT --datasets ttbar", "date": "2026-01-03 00:00 UTC"}]}
    assert figures._run_date(board, "ttbar") == "2026-01-03"
    assert figures._run_date(board, "digits") == "2026-01-01"
    assert figures._run_dates(board, ["ttbar", "ising", "digits"]) == "2026-01-01 to 2026-01-03"
    assert "2026-01-03" in figures.readme_ttbar(board)
