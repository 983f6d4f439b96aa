"""physgen's scoreboard: every model family trained on the same three data sets, judged the same way.

Data sets (held-out real data judge the samples; the training rows are never used for judging):

* ``ising``  — 2D Ising L=16, Wolff Monte Carlo at :data:`TEMPERATURES` across T_c; training and test
  configurations come from independent chains (seeds ``seed`` and ``seed + 1``); every family is
  conditioned on the temperature and sampled at each trained temperature (as in ``physgen demo``).
* ``ttbar``  — the thesis' tt̄ events (s, t, y), ``--ttbar PATH``; a seeded 80/20 split.
* ``digits`` — scikit-learn's 8x8 digits binarized at 0.5 (1797 images); a seeded 2/3 : 1/3 split.

Metrics: :func:`physgen.metrics.evaluate` of the held-out real set against as many generated samples,
each with its bootstrap/DeLong error and its real-vs-real floor (two disjoint halves of the held-out set):
mean per-feature KL (for Ising: of the energy per spin and |m|, Ising's natural features), the Gaussian
MMD, the classifier two-sample AUC (C2ST; Lopez-Paz & Oquab 2017) and, for Ising, the relative error of
⟨e⟩ and ⟨|m|⟩ averaged over the temperatures (its floor: the same between the real halves).

Budgets: ``--quick`` gives every run a fixed number of optimizer STEPS (:data:`QUICK_STEPS`), so quick
results are deterministic for a seed on the CPU and are regression-tested (tests/test_compare.py
against benchmarks/compare_quick_reference.json, written by ``--quick --record``).  The full mode gives
each run ``--max-time`` seconds of wall time and an epoch cap (:data:`EPOCH_CAP`): machine-dependent.

Every run's resolved config is written to ``OUT/configs/<data>-<family>.toml`` and its equivalent
``physgen train`` command to ``OUT/commands.txt``; the per-family/per-data-set overrides are the
dictionaries below.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/compare.py --quick --out /tmp/sb
    OMP_NUM_THREADS=1 python benchmarks/compare.py --out /tmp/sb-full --max-time 60
    python benchmarks/compare.py --quick --record --out /tmp/sb   # refresh the regression reference
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "benchmarks" / "compare_quick_reference.json"
DEFAULT_TTBAR = REPO.parent / "shared" / "data" / "ttbar_sty_10k.txt"

DATASETS = ("ising", "ttbar", "digits")
FAMILIES = {"rbm": "rbm", "vae": "vae", "wgan-gp": "wgan-gp", "ebm": "ebm", "ddpm": "ddpm"}  # column -> model
TEMPERATURES = (1.8, 2.1, 2.27, 2.5, 3.0)
ISING_SIZE = 16
ISING_PER_T = {True: (200, 150), False: (500, 300)}  # quick?: (train, test) configurations per temperature

# --- recorded configs: `--set` overrides per family and data set (quick and full use the same) ----------
COMMON = ("train.progress=false", "train.checkpoint_every=1000000", "train.keep_last=1")  # checkpoint at the end only
SETS: dict[str, dict[str, tuple[str, ...]]] = {
    "rbm": {"ising": ("model.n_hidden=64",),
            "ttbar": ("model.visible=gaussian", "model.n_hidden=64", "data.transform=standardize"),
            "digits": ("model.n_hidden=128",)},
    "vae": {"ising": ("model.latent=8",), "ttbar": ("data.transform=standardize", "model.latent=3"),
            "digits": ("model.latent=8",)},
    "wgan-gp": {"ising": (), "ttbar": (), "digits": ()},
    "ebm": {"ising": ("model.k_steps=20",), "ttbar": ("model.k_steps=20",), "digits": ("model.k_steps=20",)},
    "ddpm": {"ising": ("model.steps=50", "model.channels=[16,32]", "train.batch_size=64"),
             "ttbar": ("data.transform=standardize", "model.steps=100"),
             "digits": ("model.steps=50", "model.channels=[16,32]", "train.batch_size=64")},
}
# sampler options (keyword arguments of the model's sample), when a family needs them
SAMPLE_OPTIONS: dict[str, dict[str, dict]] = {}
# families that cannot model a data set, with the reason printed in the table
NOT_APPLICABLE: dict[tuple[str, str], str] = {}
# --quick: optimizer steps per run (never a time budget: results must not depend on the machine)
QUICK_STEPS = {"rbm": 1000, "vae": 800, "wgan-gp": 500, "ebm": 100, "ddpm": 300}
# full mode: epoch cap per run (the --max-time wall-time budget usually ends training first)
EPOCH_CAP = {"rbm": 200, "vae": 500, "wgan-gp": 2000, "ebm": 200, "ddpm": 1000}
METRICS = {"ising": ("kl", "mmd", "c2st", "observables"), "ttbar": ("kl", "mmd", "c2st"),
           "digits": ("kl", "mmd", "c2st")}
CONDITION = {"ising": "temperature", "ttbar": None, "digits": None}
N_BOOT = {True: 50, False: 200}
REPORTED = ("kl", "mmd", "c2st_auc", "obs_rel_err")  # scoreboard metric keys (lower is better for all)


# --- data -----------------------------------------------------------------------------------------------
def make_ising(quick: bool, seed: int):
    """(train, test) multi-temperature L=16 Ising Datasets from independent Wolff chains."""
    from physgen.data.ising import simulate

    n_train, n_test = ISING_PER_T[quick]
    sim = lambda n, s: simulate(ISING_SIZE, list(TEMPERATURES), n, algorithm="wolff",  # noqa: E731
                                burn_in=300, thin=4, seed=s, device="cpu")
    return sim(n_train, seed), sim(n_test, seed + 1)


def _split(ds, n_test: int, seed: int):
    perm = np.random.default_rng([seed, 7]).permutation(len(ds))
    return ds.subset(np.sort(perm[n_test:])), ds.subset(np.sort(perm[:n_test]))


def make_ttbar(path: Path, seed: int):
    """(train, test) of the tt̄ events (8000 / 2000 rows, seeded split)."""
    from physgen.data.tabular import import_file

    ds = import_file(path, kind="continuous")
    return _split(ds, len(ds) // 5, seed)


def make_digits(seed: int):
    """(train, test) binarized 8x8 digits (labels dropped: the families model p(x))."""
    from physgen.data import Dataset
    from physgen.data.digits import load_digits

    ds = load_digits(binarize=0.5)
    ds = Dataset(ds.samples, ds.kind, attrs=dict(ds.attrs))
    return _split(ds, len(ds) // 3, seed)


def prepare_data(names, quick: bool, seed: int, ttbar: Path, out: Path) -> tuple[dict, dict]:
    """Write each data set's train/test files under ``out/data``; returns (paths, skipped reasons)."""
    from physgen.data import save

    makers = {"ising": lambda: make_ising(quick, seed), "ttbar": lambda: make_ttbar(ttbar, seed),
              "digits": lambda: make_digits(seed)}
    paths, skipped = {}, {}
    for name in names:
        if name == "ttbar" and not ttbar.is_file():
            skipped[name] = f"--ttbar {ttbar}: no such file; tt̄ data set skipped"
            print(f"compare: {skipped[name]}", file=sys.stderr)
            continue
        train, test = makers[name]()
        paths[name] = tuple(save(d, out / "data" / f"{name}-{part}.h5", overwrite=True)
                            for d, part in ((train, "train"), (test, "test")))
    return paths, skipped


# --- one run ----------------------------------------------------------------------------------------------
def budget_flags(family: str, quick: bool, max_time: float) -> dict:
    return {"steps": QUICK_STEPS[family]} if quick else {"epochs": EPOCH_CAP[family], "max_time": max_time}


def command_line(family: str, data: str, train_path, run_dir, flags: dict, seed: int) -> str:
    """The ``physgen train`` command equivalent to one scoreboard run."""
    args = ["physgen", "train", FAMILIES[family], "--data", str(train_path), "--out", str(run_dir),
            "--seed", str(seed)]
    if CONDITION[data]:
        args += ["--condition", CONDITION[data]]
    args += [f"--{k.replace('_', '-')}={v}" for k, v in flags.items()]
    for s in (*SETS[family][data], *COMMON):
        args += ["--set", s]
    return shlex.join(args)


def train_one(family: str, data: str, train_path, run_dir: Path, *, quick: bool, max_time: float, seed: int):
    """Train one run; returns (loaded Run, {cpu_s, wall_s, status})."""
    from physgen.training import load_run, train

    flags = budget_flags(family, quick, max_time)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    summary = train(FAMILIES[family], data=train_path, out=run_dir, sets=(*SETS[family][data], *COMMON),
                    overwrite=True, condition=CONDITION[data], seed=seed, **flags)
    timing = {"cpu_s": time.process_time() - cpu0, "wall_s": time.perf_counter() - wall0,
              "train_status": summary["status"]}
    return load_run(run_dir), timing


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


def judge(run, test_path, data: str, family: str, seed: int, quick: bool) -> dict:
    """Sample like the held-out set and evaluate; returns {metric: {value, error, floor}}."""
    from physgen.data import load
    from physgen.demo.model_stage import sample_like
    from physgen.metrics import evaluate

    real = load(test_path)
    fake = sample_like(run, real, seed + 1000, SAMPLE_OPTIONS.get(family, {}).get(data))
    res = evaluate(real, fake, list(METRICS[data]), seed=seed, n_boot=N_BOOT[quick], warn=lambda m: None)
    out = {k: {f: res[k].get(f) for f in ("value", "error", "floor")} for k in ("kl", "mmd", "c2st_auc")}
    if "observables" in res:
        out["obs_rel_err"] = relative_errors(res["observables"])
        out["obs_chi2"] = {f: res["observables"].get(f) for f in ("value", "error", "floor")}
    return out


def run_cell(family: str, data: str, paths, out: Path, args) -> dict:
    """Train, sample and judge one (family, data set) cell; failures become the cell's message."""
    from physgen.atomic import write_text

    if (family, data) in NOT_APPLICABLE:
        return {"status": "n/a", "reason": NOT_APPLICABLE[(family, data)]}
    run_dir = out / "runs" / f"{data}-{family}"
    flags = budget_flags(family, args.quick, args.max_time)
    cmd = command_line(family, data, paths[0], run_dir, flags, args.seed)
    print(f"compare: {cmd}", file=sys.stderr, flush=True)
    try:
        run, timing = train_one(family, data, paths[0], run_dir, quick=args.quick, max_time=args.max_time,
                                seed=args.seed)
        metrics = judge(run, paths[1], data, family, args.seed, args.quick)
    except Exception as exc:  # one failing cell must not hide the others
        return {"status": "failed", "reason": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
                "command": cmd}
    write_text(out / "configs" / f"{data}-{family}.toml", (run_dir / "config.toml").read_text())
    return {"status": "ok", "command": cmd, "model": FAMILIES[family], "steps": run.step,
            "parameters": sum(p.numel() for p in run.model.parameters()), **timing, "metrics": metrics}


# --- tables -----------------------------------------------------------------------------------------------
def _fmt(entry: dict | None) -> str:
    if not entry or entry.get("value") is None:
        return "—"
    err = f" ± {entry['error']:.2g}" if entry.get("error") is not None else ""
    floor = f" ({entry['floor']:.2g})" if entry.get("floor") is not None else ""
    return f"{entry['value']:.3g}{err}{floor}"


def markdown(board: dict) -> str:
    """The scoreboard as one markdown table (value ± error (real-vs-real floor))."""
    head = ["data", "family", "KL", "MMD", "C2ST AUC", r"⟨e⟩,⟨\|m\|⟩ rel. err.", "params", "steps", "CPU s", "wall s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for data in DATASETS:
        for family in FAMILIES:
            cell = board["results"].get(data, {}).get(family)
            if cell is None:
                continue
            if cell["status"] != "ok":
                lines.append(f"| {data} | {family} | {cell['status']}: {cell['reason']} |" + " |" * 7)
                continue
            m = cell["metrics"]
            lines.append(f"| {data} | {family} | " + " | ".join(
                [_fmt(m.get(k)) for k in REPORTED] + [f"{cell['parameters']:,}", str(cell["steps"]),
                                                      f"{cell['cpu_s']:.1f}", f"{cell['wall_s']:.1f}"]) + " |")
    for data, reason in board.get("skipped", {}).items():
        lines.append(f"| {data} | all | skipped: {reason} |" + " |" * 7)
    return "\n".join(lines) + "\n"


# --- regression reference -------------------------------------------------------------------------------
def reference_from(board: dict) -> dict:
    """The quick-mode numbers the regression test compares with: {data: {family: {metric: entry}}}."""
    ref = {data: {fam: {k: cell["metrics"][k] for k in REPORTED if k in cell["metrics"]}
                  for fam, cell in cells.items() if cell["status"] == "ok"}
           for data, cells in board["results"].items()}
    return {"seed": board["seed"], "quick_steps": QUICK_STEPS, "sets": SETS, "torch": board["versions"]["torch"],
            "results": ref}


def regressions(ref: dict, new: dict, *, auc_tol: float = 0.05, rel_tol: float = 0.5, n_sigma: float = 3.0):
    """Messages for metrics clearly worse than the reference (lower is better for every metric).

    AUC: worse when ``new > ref + auc_tol + n_sigma·σ``; KL, MMD, relative errors: worse when
    ``new > ref·(1 + rel_tol) + n_sigma·σ``, with σ the two errors in quadrature.
    """
    bad = []
    for key, r in ref.items():
        n = new.get(key)
        if not n or n.get("value") is None or r.get("value") is None:
            bad.append(f"{key}: missing in the new results")
            continue
        sigma = math.hypot(r.get("error") or 0.0, n.get("error") or 0.0)
        limit = (r["value"] + auc_tol if key == "c2st_auc" else r["value"] * (1 + rel_tol)) + n_sigma * sigma
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
    p.add_argument("--max-time", type=float, default=60.0, help="full mode: wall seconds per run (default 60)")
    p.add_argument("--ttbar", type=Path, default=DEFAULT_TTBAR, help="tt̄ events file (s t y per line)")
    p.add_argument("--data", default=",".join(DATASETS), help="comma list of data sets (default: all)")
    p.add_argument("--families", default=",".join(FAMILIES), help="comma list of families (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of data splits, training and evaluation (default 0)")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    p.add_argument("--record", action="store_true", help=f"with --quick: write {REFERENCE.relative_to(REPO)}")
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

    if args.record and not args.quick:
        raise UserError("--record: only with --quick (the reference holds deterministic quick-mode numbers)")
    if not args.max_time > 0 or args.threads < 1:
        raise UserError("--max-time must be > 0 and --threads >= 1")
    if args.out.exists() and not args.out.is_dir():
        raise UserError(f"--out {args.out}: is a file, expected a directory")
    return _choices(args.data, DATASETS, "--data"), _choices(args.families, FAMILIES, "--families")


def run_board(args) -> dict:
    """Run every requested cell; returns the scoreboard dict (also written to ``args.out``)."""
    import platform

    import torch

    from physgen.atomic import write_json, write_text
    from physgen.training.rundir import versions

    datasets, families = check_args(args)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    paths, skipped = prepare_data(datasets, args.quick, args.seed, args.ttbar, args.out)
    board = {"mode": "quick" if args.quick else f"full (--max-time {args.max_time:g})", "seed": args.seed,
             "threads": args.threads, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
             "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs", "versions": versions(),
             "command": shlex.join(["python", "benchmarks/compare.py", *sys.argv[1:]]), "skipped": skipped,
             "results": {}}
    for data in paths:
        for family in families:
            board["results"].setdefault(data, {})[family] = run_cell(family, data, paths[data], args.out, args)
    write_json(args.out / "scoreboard.json", board)
    write_text(args.out / "scoreboard.md", markdown(board))
    write_text(args.out / "commands.txt", "".join(c.get("command", "") + "\n" for cells in board["results"].values()
                                                  for c in cells.values() if c.get("command")))
    return board


def main(argv=None) -> int:
    from physgen.atomic import write_json
    from physgen.errors import UserError

    args = parse_args(argv)
    try:
        board = run_board(args)
    except UserError as exc:
        print(f"compare: error: {exc}", file=sys.stderr)
        return 2
    print(markdown(board))
    if args.record:
        write_json(REFERENCE, reference_from(board))
        print(f"compare: wrote {REFERENCE}", file=sys.stderr)
    failed = [f"{d}/{f}" for d, cells in board["results"].items() for f, c in cells.items() if c["status"] == "failed"]
    if failed:
        print(f"compare: failed cells: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
