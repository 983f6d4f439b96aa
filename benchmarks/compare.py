"""physgen's scoreboard: every model family, with its defaults, on the same three data sets, judged the same way.

Each run is exactly what a user types — ``physgen train MODEL --data F [--condition temperature] --max-time S``
(full mode) or ``--steps N`` (``--quick``), then ``physgen sample RUN --n N`` — with no config overrides:
the scoreboard measures the families' defaults.  Two bookkeeping flags with no effect on the model are added
to every training command and printed with it: ``--no-progress`` and ``--overwrite``.  Every command runs as a
``physgen`` subprocess with ``--out`` as working directory (paths in the commands are relative to it) and is
printed next to its row of the table and written to ``OUT/commands.txt``.

Data sets (held-out real data judge the samples; the training rows are never used for judging):

* ``ising``  — 2D Ising L=16 at :data:`TEMPERATURES` across T_c from ``physgen data ising --algorithm wolff``
  (other options at their defaults); training and test configurations come from independent runs (seeds
  ``seed`` and ``seed + 1``); every family is conditioned on the temperature and sampled with
  ``physgen sample``'s default, which spreads the samples evenly over the trained temperatures.
* ``ttbar``  — 10,000 pp → tt̄ events at √s = 13 TeV, (s, t, y), from ``physgen data pythia`` (hard level,
  Pythia seed = ``seed``; made once into ``OUT/data`` and reused by later runs with the same ``--out``);
  ``--ttbar PATH`` reads a text table of (s, t, y) instead (e.g. the MadGraph LO file of the thesis; skipped
  with a message when absent); a seeded 80/20 split.
* ``digits`` — ``physgen data digits`` (1797 8x8 grey images in [0, 1], labels dropped); a seeded 2/3 : 1/3 split.

Metrics: ``physgen evaluate`` of the held-out real set against as many generated samples, each with its
bootstrap/DeLong error and its real-vs-real floor (two disjoint halves of the held-out set): mean per-feature
KL (for Ising: of the energy per spin and |m|), the Gaussian MMD, the classifier two-sample AUC (C2ST;
Lopez-Paz & Oquab 2017) and, for Ising, the relative error of ⟨e⟩ and ⟨|m|⟩ averaged over the temperatures
(its floor: the same between the real halves).

Budgets: ``--quick`` gives every run a fixed number of optimizer steps (:data:`QUICK_STEPS`, the only
per-family setting), so quick results are deterministic for a seed on the CPU and are regression-tested
(tests/test_compare.py against benchmarks/compare_quick_reference.json, written by ``--quick --record``).
The full mode gives each run ``--max-time`` seconds: machine-dependent.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/compare.py --quick --out /tmp/sb
    OMP_NUM_THREADS=1 python benchmarks/compare.py --out /tmp/sb-full --max-time 300
    python benchmarks/compare.py --quick --record --out /tmp/sb   # refresh the reference and its table in the docs
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_runs import CommandFailed, check, command_text, run_physgen  # noqa: E402
from pythia_ttbar import file_name, have_pythia, pythia_args  # noqa: E402
from record import record  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "benchmarks" / "compare_quick_reference.json"
DOC = REPO / "docs" / "scoreboard.md"
DOC_SECTIONS = {True: "compare-quick-results", False: "compare-full-results"}  # quick? -> marker name

DATASETS = ("ising", "ttbar", "digits")
FAMILIES = ("rbm", "vae", "wgan-gp", "ebm", "ddpm")
TEMPERATURES = (1.8, 2.1, 2.27, 2.5, 3.0)
ISING_SIZE = 16
ISING_PER_T = {True: (200, 150), False: (500, 300)}  # quick?: (train, test) configurations per temperature
# --quick: optimizer steps per run (a budget, never a time: results must not depend on the machine)
QUICK_STEPS = {"rbm": 1000, "vae": 800, "wgan-gp": 500, "ebm": 100, "ddpm": 300}
BOOKKEEPING = ("--no-progress", "--overwrite")  # added to every `physgen train`; no effect on the model
# families that cannot model a data set, with the reason printed in the table
NOT_APPLICABLE: dict[tuple[str, str], str] = {}
METRICS = {"ising": "kl,mmd,c2st,observables", "ttbar": "kl,mmd,c2st", "digits": "kl,mmd,c2st"}
CONDITION = {"ising": "temperature", "ttbar": None, "digits": None}
N_BOOT = {True: 50, False: 200}
REPORTED = ("kl", "mmd", "c2st_auc", "obs_rel_err")  # scoreboard metric keys (lower is better for all)


# --- data -----------------------------------------------------------------------------------------------
def ising_args(n_per_t: int, seed: int, out: str) -> list[str]:
    """``physgen data ising`` arguments of the scoreboard's L=16 data (Wolff; other options at defaults)."""
    return ["data", "ising", "--size", str(ISING_SIZE), "--temperatures", ",".join(f"{t:g}" for t in TEMPERATURES),
            "--samples", str(n_per_t), "--algorithm", "wolff", "--seed", str(seed), "--out", out, "--overwrite"]


def split(ds, n_test: int, seed: int):
    """(train, test) subsets of ``ds``: a seeded permutation, ``n_test`` rows held out."""
    perm = np.random.default_rng([seed, 7]).permutation(len(ds))
    return ds.subset(np.sort(perm[n_test:])), ds.subset(np.sort(perm[:n_test]))


def unlabeled(ds):
    """``ds`` without its labels (the scoreboard's families model p(x))."""
    from physgen.data import Dataset

    return Dataset(ds.samples, ds.kind, attrs=dict(ds.attrs))


def ttbar_events(ttbar: Path | None, seed: int, out: Path, cli) -> tuple[object | None, str | None]:
    """(the tt̄ dataset, None) or (None, why it is skipped): ``physgen data pythia`` events made once into
    ``out/data`` (``cli(args, made=path)`` records the command and runs it unless ``path`` exists), or with
    ``ttbar`` that text file."""
    from physgen.data import load
    from physgen.data.tabular import import_file

    if ttbar is not None:
        if not ttbar.is_file():
            return None, f"--ttbar {ttbar}: no such file; tt̄ data set skipped"
        return import_file(ttbar, kind="continuous"), None
    path = f"data/{file_name(seed=seed)}"
    if not (out / path).is_file() and not have_pythia():
        return None, "tt̄ events come from Pythia 8 (pip install 'physgen[hep]'); tt̄ data set skipped"
    cli(pythia_args(path, seed=seed), made=out / path)
    return load(out / path), None


def prepare_data(names, quick: bool, seed: int, ttbar: Path | None, out: Path, threads: int,
                 commands: list[str]) -> tuple[dict, dict]:
    """Write each data set's train/test files under ``out/data``; returns ({name: (train, test)}, skipped).

    The ``physgen data`` commands run are appended to ``commands``; the seeded splits are done here."""
    from physgen.data import load, save

    def cli(args, made: Path | None = None):
        """Run and record ``physgen ARGS``; with ``made`` an existing file, record it only (a cached file)."""
        if made is not None and made.is_file():
            commands.append(command_text(args, threads))
            print(f"compare: reusing {made}", file=sys.stderr)
            return
        commands.append(check(run_physgen(args, cwd=out, threads=threads))["command"])

    paths, skipped = {}, {}
    for name in names:
        train, test = f"data/{name}-train.h5", f"data/{name}-test.h5"
        if name == "ising":
            n_train, n_test = ISING_PER_T[quick]
            cli(ising_args(n_train, seed, train))
            cli(ising_args(n_test, seed + 1, test))
        elif name == "ttbar":
            ds, reason = ttbar_events(ttbar, seed, out, cli)
            if ds is None:
                skipped[name] = reason
                print(f"compare: {reason}", file=sys.stderr)
                continue
            for d, p in zip(split(ds, len(ds) // 5, seed), (train, test)):
                save(d, out / p, overwrite=True)
        else:
            cli(["data", "digits", "--out", "data/digits-all.h5", "--overwrite"])
            ds = unlabeled(load(out / "data" / "digits-all.h5"))
            for d, p in zip(split(ds, len(ds) // 3, seed), (train, test)):
                save(d, out / p, overwrite=True)
        paths[name] = (train, test)
    return paths, skipped


# --- one run ----------------------------------------------------------------------------------------------
def budget_args(family: str, quick: bool, max_time: float) -> list[str]:
    return ["--steps", str(QUICK_STEPS[family])] if quick else ["--max-time", f"{max_time:g}"]


def train_args(family: str, data: str, train_path: str, run_dir: str, budget: list[str], seed: int) -> list[str]:
    """``physgen train`` arguments of one scoreboard run: the defaults, a budget, bookkeeping flags."""
    args = ["train", family, "--data", train_path, "--out", run_dir]
    if CONDITION[data]:
        args += ["--condition", CONDITION[data]]
    return args + budget + (["--seed", str(seed)] if seed else []) + list(BOOKKEEPING)


def relative_errors(obs: dict) -> dict:
    """Mean over temperatures of |Δ|/|real| for ⟨e⟩ and ⟨|m|⟩ (error in quadrature), and its floor."""
    vals, errs, floors = [], [], []
    for per_t in obs["by_temperature"].values():
        for name in ("energy", "abs_magnetization"):
            o = per_t["observables"][name]
            scale = abs(o["real"]["value"]) or 1.0
            vals.append(abs(o["difference"]["value"]) / scale)
            errs.append((o["difference"]["error"] or 0.0) / scale)
            floors.append(abs(o["floor"]["value"]) / scale if o.get("floor") else math.nan)
    n = len(vals)
    return {"value": float(np.mean(vals)), "error": float(math.sqrt(sum(e * e for e in errs)) / n),
            "floor": float(np.nanmean(floors)) if np.isfinite(floors).any() else None}


def scoreboard_metrics(res: dict) -> dict:
    """{metric: {value, error, floor}} of a ``metrics.json`` dict."""
    out = {k: {f: res[k].get(f) for f in ("value", "error", "floor")} for k in ("kl", "mmd", "c2st_auc") if k in res}
    if "observables" in res:
        out["obs_rel_err"] = relative_errors(res["observables"])
        out["obs_chi2"] = {f: res["observables"].get(f) for f in ("value", "error", "floor")}
    return out


def n_parameters(run_dir: Path) -> int | None:
    from physgen.training import load_run

    try:
        return sum(p.numel() for p in load_run(run_dir, device="cpu").model.parameters())
    except Exception:  # the count is informative only
        return None


def run_cell(family: str, data: str, paths, out: Path, args) -> dict:
    """Train, sample and judge one (family, data set) cell; a failure becomes the cell's one-line reason."""
    from physgen.data import load

    if (family, data) in NOT_APPLICABLE:
        return {"status": "n/a", "reason": NOT_APPLICABLE[(family, data)]}
    run_dir, fake, judge_dir = f"runs/{data}-{family}", f"samples/{data}-{family}.h5", f"eval/{data}-{family}"
    targs = train_args(family, data, paths[0], run_dir, budget_args(family, args.quick, args.max_time), args.seed)
    log = out / "logs" / f"{data}-{family}"
    cell: dict = {"commands": []}
    try:
        t = run_physgen(targs, cwd=out, threads=args.threads, log=log.with_suffix(".train.log"))
        cell["commands"].append(t["command"])
        check(t)
        summary = json.loads((out / run_dir / "summary.json").read_text())
        sargs = ["sample", run_dir, "--n", str(len(load(out / paths[1]))), "--out", fake, "--overwrite"]
        if args.quick:  # the best checkpoint is chosen by time-scheduled probes; the final one is deterministic
            sargs += ["--checkpoint", "latest"]
        s = check(run_physgen(sargs + (["--seed", str(args.seed)] if args.seed else []), cwd=out,
                              threads=args.threads, log=log.with_suffix(".sample.log")))
        cell["commands"].append(s["command"])
        eargs = ["evaluate", "--real", paths[1], "--fake", fake, "--out", judge_dir, "--metrics", METRICS[data],
                 "--seed", str(args.seed), "--n-boot", str(N_BOOT[args.quick]), "--no-plots", "--overwrite"]
        e = check(run_physgen(eargs, cwd=out, threads=args.threads, log=log.with_suffix(".evaluate.log")))
        cell["commands"].append(e["command"])
        metrics = scoreboard_metrics(json.loads((out / judge_dir / "metrics.json").read_text()))
    except (CommandFailed, OSError, ValueError, KeyError) as exc:  # one failing cell must not hide the others
        reason = str(exc) if isinstance(exc, CommandFailed) else f"{type(exc).__name__}: {exc}"
        return {**cell, "status": "failed", "reason": reason.splitlines()[0][:200] if reason else "failed",
                "command": cell["commands"][0] if cell["commands"] else None}
    return {**cell, "status": "ok", "command": t["command"], "model": family, "steps": summary.get("steps"),
            "train_status": summary.get("status"), "parameters": n_parameters(out / run_dir),
            "cpu_s": t["cpu_s"], "wall_s": t["wall_s"], "sample_s": s["wall_s"], "metrics": metrics}


# --- tables -----------------------------------------------------------------------------------------------
HEAD = ["data", "family", "KL", "MMD", "C2ST AUC", r"⟨e⟩,⟨\|m\|⟩ rel. err.", "params", "steps", "train CPU s",
        "train wall s", "sample s", "command"]


def _fmt(entry: dict | None) -> str:
    if not entry or entry.get("value") is None:
        return "—"
    err = f" ± {entry['error']:.2g}" if entry.get("error") is not None else ""
    floor = f" ({entry['floor']:.2g})" if entry.get("floor") is not None else ""
    return f"{entry['value']:.3g}{err}{floor}"


def _code(text: str | None) -> str:
    return f"`{text}`" if text else "—"


def markdown(board: dict) -> str:
    """The scoreboard as one markdown table (value ± error (real-vs-real floor)) and its commands."""
    lines = []
    if "mode" in board:  # a real board (tests build bare ones)
        lines += [f"Mode {board['mode']}, {board['threads']} thread(s), seed {board['seed']}; {board['machine']}; "
                  f"torch {board['versions'].get('torch')}; {board['date']}; `{board['command']}`.", ""]
    lines += ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    pad = len(HEAD) - 4
    for data in DATASETS:
        for family in FAMILIES:
            cell = board["results"].get(data, {}).get(family)
            if cell is None:
                continue
            if cell["status"] != "ok":
                reason = cell["reason"].replace("|", r"\|")
                lines.append(f"| {data} | {family} | {cell['status']}: {reason} |" + " |" * pad
                             + f" {_code(cell.get('command'))} |")
                continue
            m = cell["metrics"]
            params = f"{cell['parameters']:,}" if cell.get("parameters") is not None else "—"
            lines.append(f"| {data} | {family} | " + " | ".join(
                [_fmt(m.get(k)) for k in REPORTED] + [params, str(cell["steps"]), f"{cell['cpu_s']:.1f}",
                                                      f"{cell['wall_s']:.1f}", f"{cell['sample_s']:.1f}",
                                                      _code(cell["command"])]) + " |")
    for data, reason in board.get("skipped", {}).items():
        lines.append(f"| {data} | all | skipped: {reason} |" + " |" * pad + " — |")
    note = (f"\nEvery `physgen train` also has the bookkeeping flags {', '.join(f'`{b}`' for b in BOOKKEEPING)} "
            "(no effect on the model); paths are relative to `--out`; all commands (data, train, sample, "
            "evaluate) are in `OUT/commands.txt`.\n")
    return "\n".join(lines) + "\n" + note


# --- regression reference -------------------------------------------------------------------------------
def reference_from(board: dict) -> dict:
    """The quick-mode numbers the regression test compares with: {data: {family: {metric: entry}}}."""
    ref = {data: {fam: {k: cell["metrics"][k] for k in REPORTED if k in cell["metrics"]}
                  for fam, cell in cells.items() if cell["status"] == "ok"}
           for data, cells in board["results"].items()}
    return {"seed": board["seed"], "quick_steps": QUICK_STEPS, "torch": board["versions"]["torch"],
            "command": board["command"], "results": ref}


def regressions(ref: dict, new: dict, *, auc_tol: float = 0.005, rel_tol: float = 0.5, n_sigma: float = 3.0):
    """Messages for metrics that moved from the reference beyond its errors (lower is better for every metric).

    AUC: two-sided, ``|new − ref| > n_sigma·σ + auc_tol`` (a cell recorded near 1 can only move down, and a
    better one means the reference is stale); KL, MMD, relative errors: worse when
    ``new > ref·(1 + rel_tol) + n_sigma·σ``.  σ: the two errors (DeLong, bootstrap) in quadrature.
    """
    bad = []
    for key, r in ref.items():
        n = new.get(key)
        if not n or n.get("value") is None or r.get("value") is None:
            bad.append(f"{key}: missing in the new results")
            continue
        sigma = math.hypot(r.get("error") or 0.0, n.get("error") or 0.0)
        if key == "c2st_auc":
            limit = auc_tol + n_sigma * sigma
            if abs(n["value"] - r["value"]) > limit:
                bad.append(f"{key}: {n['value']:.4g} differs from the recorded {r['value']:.4g} by more than "
                           f"{limit:.3g} (worse, or better: re-record with --quick --record)")
            continue
        limit = r["value"] * (1 + rel_tol) + n_sigma * sigma
        if n["value"] > limit:
            bad.append(f"{key}: {n['value']:.4g} > limit {limit:.4g} (recorded {r['value']:.4g})")
    return bad


# --- main ---------------------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Example:\n  OMP_NUM_THREADS=1 python benchmarks/compare.py --quick --out /tmp/sb")
    p.add_argument("--out", required=True, type=Path, help="output directory (scoreboard.json, scoreboard.md)")
    p.add_argument("--quick", action="store_true", help="fixed step budgets (deterministic; regression-tested)")
    p.add_argument("--max-time", type=float, default=300.0, help="full mode: seconds per training run (default 300)")
    p.add_argument("--ttbar", type=Path, default=None,
                   help="tt̄ events as a text table (s t y per line), e.g. the MadGraph LO file (default: 10,000 "
                        "events from physgen data pythia, made once into OUT/data)")
    p.add_argument("--data", default=",".join(DATASETS), help="comma list of data sets (default: all)")
    p.add_argument("--families", default=",".join(FAMILIES), help="comma list of families (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of data, splits, training and evaluation (default 0)")
    p.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of every run (default 1)")
    p.add_argument("--jobs", type=int, default=1,
                   help="cells run this many at a time, each with --threads threads (default 1; quick-mode "
                        "numbers do not depend on it, the wall times do)")
    p.add_argument("--record", action="store_true",
                   help=f"write the table into {DOC.relative_to(REPO)}; with --quick also {REFERENCE.relative_to(REPO)}")
    return p.parse_args(argv)


def _choices(text: str, allowed, option: str) -> list[str]:
    from physgen.errors import UserError

    names = [s.strip() for s in text.split(",") if s.strip()]
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        raise UserError(f"{option}: unknown {', '.join(bad) or '(none)'} (choose from {','.join(allowed)})")
    return names


def check_args(args) -> tuple[list[str], list[str]]:
    from physgen.errors import UserError

    if not args.max_time > 0 or args.threads < 1 or args.jobs < 1 or args.seed < 0:
        raise UserError("--max-time must be > 0, --threads >= 1, --jobs >= 1 and --seed >= 0")
    if args.out.exists() and not args.out.is_dir():
        raise UserError(f"--out {args.out}: is a file, expected a directory")
    return _choices(args.data, DATASETS, "--data"), _choices(args.families, FAMILIES, "--families")


def run_board(args) -> dict:
    """Run every requested cell; returns the scoreboard dict (also written to ``args.out``)."""
    import platform

    from physgen.atomic import write_json, write_text
    from physgen.training.rundir import versions

    datasets, families = check_args(args)
    args.out.mkdir(parents=True, exist_ok=True)
    data_commands: list[str] = []
    paths, skipped = prepare_data(datasets, args.quick, args.seed, args.ttbar, args.out, args.threads, data_commands)
    board = {"mode": "quick" if args.quick else f"full (--max-time {args.max_time:g})", "seed": args.seed,
             "threads": args.threads, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
             "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs", "versions": versions(),
             "command": shlex.join(["python", "benchmarks/compare.py", *sys.argv[1:]]), "skipped": skipped,
             "bookkeeping_flags": list(BOOKKEEPING), "data_commands": data_commands, "results": {}}
    cells = [(data, family) for data in paths for family in families]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:   # each cell runs its own physgen processes
        done = list(pool.map(lambda c: run_cell(c[1], c[0], paths[c[0]], args.out, args), cells))
    for (data, family), cell in zip(cells, done):
        board["results"].setdefault(data, {})[family] = cell
    write_json(args.out / "scoreboard.json", board)
    write_text(args.out / "scoreboard.md", markdown(board))
    run_commands = [c for cells in board["results"].values() for cell in cells.values() for c in cell.get("commands", [])]
    write_text(args.out / "commands.txt", "".join(c + "\n" for c in data_commands + run_commands))
    return board


def main(argv=None) -> int:
    from physgen.atomic import write_json
    from physgen.errors import UserError

    args = parse_args(argv)
    try:
        board = run_board(args)
    except (UserError, CommandFailed) as exc:
        print(f"compare: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    print(markdown(board))
    if args.record:
        if args.quick:
            write_json(REFERENCE, reference_from(board))
            print(f"compare: wrote {REFERENCE}", file=sys.stderr)
        record(DOC, DOC_SECTIONS[args.quick], markdown(board))
        print(f"compare: wrote the table into {DOC}", file=sys.stderr)
    failed = [f"{d}/{f}" for d, cells in board["results"].items() for f, c in cells.items() if c["status"] == "failed"]
    if failed:
        print(f"compare: failed cells: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
