"""The acceptance figures the docs repeat, generated from the benchmark's recorded ``results.json``.

``benchmarks/defaults.py`` writes ``OUT/results.json`` (every value, error, floor, target and command); the
committed record is ``benchmarks/records/acceptance/results.json``.  The tables that other documents
repeat from it are made here, by one function each, and written between marker comments
(``<!-- NAME:begin -->`` … ``<!-- NAME:end -->``, benchmarks/record.py):

* README.md, ``ttbar-defaults``: the tt̄ table (mean per-feature KL and classifier AUC per family);
* docs/models.md, ``acceptance-defaults``: per family the tt̄ KL / AUC, the worst Ising relative error of
  ⟨e⟩ and ⟨|m|⟩ over the temperatures, and the digits AUC;
* docs/training.md, ``training-times``: per family and data set the default steps and the wall time they took.

A cell of ``--runs N`` shows its median, as docs/scoreboard.md does.  tests/test_docs_figures.py
regenerates the tables from the committed record and fails when a document differs.

Usage::

    python benchmarks/figures.py --results benchmarks/records/acceptance/results.json           # rewrite the tables
    python benchmarks/figures.py --results benchmarks/records/acceptance/results.json --check   # exit 1 if stale
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import replace_between  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RECORD = REPO / "benchmarks" / "records" / "acceptance" / "results.json"
FAMILIES = ("wgan-gp", "ddpm", "vae", "rbm", "ebm")      # benchmarks/defaults.py's order


# --- numbers ------------------------------------------------------------------------------------------------
def sig2(x: float) -> str:
    """Two significant digits, trailing zeros kept (0.03 -> 0.030, 10.4 -> 10); whole numbers from 100 on."""
    if abs(x) >= 10:
        return f"{x:.0f}" if abs(x) >= 100 else f"{x:#.2g}".rstrip(".")
    return f"{x:#.2g}" if abs(x) >= 1e-4 else f"{x:.2g}"


def pct(x: float) -> str:
    """A fraction as a percentage with two significant digits: 0.048 -> '4.8 %'."""
    return f"{sig2(100 * x)} %"


def _runs(cell: dict) -> int:
    return len(cell.get("per_run", [])) or 1


def _check(cell: dict | None, quantity: str) -> dict | None:
    if not cell or cell.get("status") != "ok":
        return None
    return next((c for c in cell["checks"] if c["quantity"] == quantity and c.get("value") is not None), None)


def _floor(cells: dict, quantity: str) -> float | None:
    """The floor of ``quantity`` (the same for every family: the real data are shared)."""
    return next((c["floor"] for cell in cells.values() if (c := _check(cell, quantity)) and c.get("floor")), None)


def _families(board: dict) -> list[str]:
    present = {f for cells in board["results"].values() for f in cells}
    return [f for f in FAMILIES if f in present]


def _median_note(cell: dict, fmt=lambda v: f"{v:.3f}", c: dict | None = None) -> str:
    """``median of N runs: lo–hi`` for a repeated cell, else ''."""
    if _runs(cell) == 1:
        return ""
    return f"median of {_runs(cell)} runs" + (f": {fmt(c['min'])}–{fmt(c['max'])}" if c else "")


# --- README: the tt̄ table ----------------------------------------------------------------------------------
def _run_date(board: dict, data: str) -> str:
    """The date of the run that measured data set ``data``: the last of ``board["runs"]`` whose command covers it
    (``--datasets`` naming it, or no ``--datasets``: all), as ``--combine`` keeps the last run's cells."""
    date = board["date"]
    for run in board.get("runs", []):
        m = re.search(r"--datasets[ =](\S+)", run.get("command", ""))
        if m is None or data in m[1].split(","):
            date = run.get("date", date)
    return date[:10]


def _run_dates(board: dict, datasets) -> str:
    """The dates of the runs that measured ``datasets``: one date, or the first and the last."""
    dates = sorted({_run_date(board, d) for d in datasets})
    return dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"


def readme_ttbar(board: dict) -> str:
    """The README's tt̄ paragraph and table: ``| quantity (floor) | family … |``, KL to two significant
    digits, AUC to three decimals; a failed cell reads ``failed``."""
    cells = board["results"].get("ttbar", {})
    fams = [f for f in FAMILIES if f in cells]
    repeated = [f for f in fams if _runs(cells[f]) > 1]
    runs = sorted({_runs(cells[f]) for f in repeated})
    if not repeated:
        medians = ""
    elif len(repeated) == len(fams) and len(runs) == 1:
        medians = f"; medians of {runs[0]} runs"
    else:
        medians = "; " + ", ".join(f"{f}: median of {_runs(cells[f])} runs" for f in repeated)
    lines = [f"`physgen train MODEL --data F` (its default steps) and `physgen sample` defaults, one core, "
             f"10,000 Pythia tt̄ events, judged against 10,000 other events (floor in brackets{medians}; "
             f"{_run_date(board, 'ttbar')}): `python benchmarks/defaults.py --datasets ttbar --out OUT`; "
             "Ising, digits and sampling times: [docs/scoreboard.md](docs/scoreboard.md); "
             "speed: [docs/benchmarks.md](docs/benchmarks.md) ([per family](docs/benchmarks.md#throughput-per-family)).", "",
             "| tt̄ (s, t, y) | " + " | ".join(fams) + " |", "|---" * (len(fams) + 1) + "|"]
    for quantity, label, fmt in (("mean KL", "mean per-feature KL", sig2),
                                 ("classifier AUC", "classifier AUC", lambda v: f"{v:.3f}")):
        floor = _floor(cells, quantity)
        floor_text = "—" if floor is None else (sig2(floor) if quantity == "mean KL" else f"{floor:.2f}")
        row = [fmt(c["value"]) if (c := _check(cells[f], quantity)) else "failed" for f in fams]
        lines.append(f"| {label} ({floor_text}) | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


# --- docs/models.md: one row per family ---------------------------------------------------------------------
def _ttbar_cell(cell: dict | None) -> str:
    kl, auc = _check(cell, "mean KL"), _check(cell, "classifier AUC")
    if cell is None:
        return "—"
    if not (kl and auc):
        return "failed"
    note = _median_note(cell)
    return f"{sig2(kl['value'])} / {auc['value']:.3f}" + (f" ({note})" if note else "")


def _ising_cell(cell: dict | None) -> str:
    """The largest relative error of the means ⟨e⟩ and ⟨|m|⟩ over temperatures, where, and the largest of the
    rest (the fluctuations' rows are the scoreboard's)."""
    if cell is None:
        return "—"
    rows = [c for c in cell.get("checks", []) if c.get("value") is not None
            and re.search(r" (⟨e⟩|⟨\|m\|⟩) rel\. err\.$", c["quantity"])]
    if cell.get("status") != "ok" or not rows:
        return "failed"
    rows.sort(key=lambda c: c["value"], reverse=True)
    worst, rest = rows[0], rows[1:]
    where = worst["quantity"].replace(" rel. err.", "").replace("|", r"\|")
    temperature, observable = where.split(" ", 1)
    note = _median_note(cell, pct, worst)
    text = f"{pct(worst['value'])} ({observable} at {temperature.replace('=', ' = ')}"
    text += (f", {note}" if note else "") + (f"; the rest ≤ {pct(rest[0]['value'])}" if rest else "")
    return text + ")"


def _digits_cell(cell: dict | None) -> str:
    if cell is None:
        return "—"
    auc = _check(cell, "classifier AUC")
    if not auc:
        return "failed"
    note = _median_note(cell, c=auc)
    return f"{auc['value']:.3f}" + (f" ({note})" if note else "")


def _temperatures(cells: dict) -> str:
    ts = []
    for cell in cells.values():
        for c in cell.get("checks", []):
            t = c["quantity"].split(" ", 1)[0].removeprefix("T=")
            if c["quantity"].startswith("T=") and t not in ts:
                ts.append(t)
    return ", ".join(ts)


def models_table(board: dict) -> str:
    """docs/models.md's table of what the defaults give: one row per family of the record."""
    res = board["results"]
    ttbar, ising, digits = (res.get(k, {}) for k in ("ttbar", "ising", "digits"))
    kl_floor, auc_floor, digits_floor = (_floor(ttbar, "mean KL"), _floor(ttbar, "classifier AUC"),
                                         _floor(digits, "classifier AUC"))
    floors = f" (floor {sig2(kl_floor)} / {auc_floor:.2f})" if kl_floor and auc_floor else ""
    runs = _run_dates(board, [d for d in ("ttbar", "ising", "digits") if d in res])
    lines = [f"From the recorded acceptance runs of {runs} ({board['machine']}, "
             f"{board['threads']} thread(s) per command); each figure with its error, floor and command in "
             "[scoreboard.md](scoreboard.md):", "",
             f"| family | tt̄ KL / AUC{floors} | Ising L = 16, worst ⟨e⟩, ⟨\\|m\\|⟩ error over T = "
             f"{_temperatures(ising)} | grey digits AUC"
             + (f" (floor {digits_floor:.2f})" if digits_floor else "") + " |", "|---|---|---|---|"]
    for f in _families(board):
        lines.append(f"| `{f}` | {_ttbar_cell(ttbar.get(f))} | {_ising_cell(ising.get(f))} | "
                     f"{_digits_cell(digits.get(f))} |")
    return "\n".join(lines) + "\n"


# --- docs/training.md: how long the default budgets took ---------------------------------------------------
def _time_cell(cell: dict | None) -> str:
    if cell is None:
        return "—"
    if cell.get("status") != "ok":
        return "failed"
    cell = cell.get("per_run", [cell])[0]
    if not cell.get("train_wall_s"):
        return "failed"
    steps = f"{cell['steps']:,}" if cell.get("steps") else "?"
    return f"{cell['train_wall_s']:,.0f} s ({steps} steps)"


def training_times(board: dict) -> str:
    """docs/training.md's table: the wall time of ``physgen train`` with the default steps, per family and data
    set of the record (run 0 of a repeated cell), with the record's thread count and load."""
    res = board["results"]
    data = [d for d in ("ttbar", "ising", "digits") if d in res]
    names = {"ttbar": "tt̄ (10,000 events)", "ising": "Ising L = 16 (3 × 1,000)", "digits": "8×8 grey digits (1,198)"}
    busy = f", {board['busy']} busy loop(s) beside it" if board.get("busy") else ""
    lines = [f"Training wall time of the default steps in the recorded acceptance runs of {_run_dates(board, data)} "
             f"({board['machine']}, {board['threads']} thread(s) per command{busy}; "
             "[scoreboard.md](scoreboard.md) gives each command):", "",
             "| family | " + " | ".join(names[d] for d in data) + " |", "|---" * (len(data) + 1) + "|"]
    for f in _families(board):
        lines.append(f"| `{f}` | " + " | ".join(_time_cell(res[d].get(f)) for d in data) + " |")
    return "\n".join(lines) + "\n"


# --- the documents --------------------------------------------------------------------------------------------
SECTIONS = {("README.md", "ttbar-defaults"): readme_ttbar,
            ("docs/models.md", "acceptance-defaults"): models_table,
            ("docs/training.md", "training-times"): training_times}


def sections(board: dict) -> dict[tuple[str, str], str]:
    """{(document relative to the repository, marker name): generated text} for the record ``board``."""
    return {key: make(board) for key, make in SECTIONS.items()}


def documents(board: dict, root: Path = REPO) -> dict[str, tuple[str, str]]:
    """{document: (its text now, its text with every marked table regenerated)}."""
    out: dict[str, tuple[str, str]] = {}
    for (doc, name), body in sections(board).items():
        old = out[doc][1] if doc in out else (root / doc).read_text(encoding="utf-8")
        out[doc] = (out[doc][0] if doc in out else old, replace_between(old, name, body))
    return out


def stale(board: dict, root: Path = REPO) -> list[str]:
    """The documents whose marked tables differ from those generated from ``board``."""
    return [doc for doc, (now, want) in documents(board, root).items() if now != want]


def main(argv=None) -> int:
    from physgen.atomic import write_text

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=f"Example:\n  python benchmarks/figures.py --results {RECORD.relative_to(REPO)}")
    p.add_argument("--results", type=Path, default=RECORD, help="a results.json of benchmarks/defaults.py "
                                                                "(default: the committed record)")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 when a document differs")
    args = p.parse_args(argv)
    try:
        board = json.loads(args.results.read_text(encoding="utf-8"))
        docs = documents(board)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"figures: error: {args.results}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    changed = [doc for doc, (now, want) in docs.items() if now != want]
    if args.check:
        print("\n".join(f"figures: {doc} differs from {args.results}" for doc in changed) or "figures: up to date")
        return 1 if changed else 0
    for doc in changed:
        write_text(REPO / doc, docs[doc][1])
        print(f"figures: rewrote the marked tables of {doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
