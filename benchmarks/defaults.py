"""physgen's acceptance benchmark: what the families' defaults reach, as users type the commands.

Every model is trained with exactly ``physgen train MODEL --data F [--condition temperature]`` — no budget
flag, so each family trains its default number of steps; no ``--set``, no ``--config``; only the bookkeeping
flags ``--no-progress --overwrite`` are added and printed — and sampled with ``physgen sample RUN --n N`` at
its defaults.  The wall time of every command is recorded beside its result.  ``--busy K`` runs K busy loops
beside every command (K = 2 holds both cores of a 2-core machine): the same step budgets then give the same
models, only later.  ``--max-time S`` adds a wall-time cap to every training (a run it cuts short is reported
with its status ``max-time``).  The samples are judged with
``physgen evaluate`` against real data the model never saw (tt̄: see below), each measure next to its
real-vs-real floor (two disjoint halves of the real set; docs/metrics.md) and its target:

* ``ttbar`` — pp → tt̄ at √s = 13 TeV, features (s, t, y), made by ``physgen data pythia`` (hard level,
  Pythia's defaults): 10,000 training events (seed S) and 10,000 independent events (seed S + 1) to judge
  against, 5,000 a side for the floor; mean per-feature KL (50-bin histograms) and classifier two-sample
  AUC (Lopez-Paz & Oquab 2017).  ``--ttbar PATH`` reads an events file (s t y per line, e.g. a MadGraph
  sample) instead: protocol ``10k`` trains on all of it and judges against the same events; ``holdout``
  judges against 2,000 held-out events (1,000 a side, where the KL floor, ≈ 0.045, is above the targets).
* ``ising`` — 2D Ising L=16 at T = 1.8, 2.27, 3.0, 1,000 configurations per T from ``physgen data ising
  --algorithm wolff`` (other options at their defaults), conditioned on T; 3,000 samples per T judged against
  an independent Monte Carlo run (the next seed) of 10,000 configurations per T: relative errors of ⟨e⟩ and
  ⟨|m|⟩ per T, of C and χ per T (targets by the nearest of 1.8, 2.27, 3.0: 25%, 10%, 10%, or twice their
  real-vs-real floor where that is larger) and of U₄ at T_c.  At T = 3, where ⟨|m|⟩ is small (|m| has a
  relative spread of 0.73 there), one standard error of the ⟨|m|⟩ comparison is 1.5% (1.3% from the samples,
  0.73% from the reference); with 1,000 a side it was 3.3%, as large as the 3% target.
* ``ising-off`` — the same at a second set of temperatures, T = 2.0, 2.4, 3.5 (ordered, just above T_c, deep in
  the paramagnet): defaults must hold away from the temperatures above.
* ``ising-random`` — the same at three temperatures drawn uniformly from [1.6, 3.6] for each benchmark run
  (:func:`random_temperatures`, seeded by ``--seed``; the set is recorded in the results as
  ``ising_random_temperatures`` and in the data commands): defaults cannot be tuned to fixed points.
* ``digits`` — ``physgen data digits`` (8x8 grey images, labels dropped), a seeded 2/3 : 1/3 split;
  classifier AUC on the held-out third (KL reported).
* ``sampling`` — wall time of ``physgen sample RUN --n 1000`` on each family's Ising run (the whole command,
  interpreter start included).

The ``van`` family models spin lattices only: it runs on the Ising sets (and ``sampling``) alone.

A row passes when every measured value is ≤ its target (the error bars are shown, not used).  A family that
fails (a non-zero exit, a time-out) is reported with its one-line error and the others continue.

``--runs N`` repeats every training, sampling and evaluation N times on the same data and splits, run r with
``physgen train --seed S+r`` (S: ``--seed``) and ``physgen sample --seed r`` (run 0: the single run's commands
and paths; run r ≥ 1 adds ``-rR`` to its paths).  A row then shows the median [min–max] over the runs and
passes when the median is ≤ its target; a cell with a failed run fails with that run's error.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/defaults.py --out /tmp/acc               # ≈ 110 min on one core
    OMP_NUM_THREADS=1 python benchmarks/defaults.py --out /tmp/acc --record      # also docs/scoreboard.md
    OMP_NUM_THREADS=1 python benchmarks/defaults.py --out /tmp/acc --runs 3      # medians of 3 runs, ≈ 4 h
    OMP_NUM_THREADS=1 python benchmarks/defaults.py --out /tmp/load --busy 2     # both cores busy: same models
    python benchmarks/defaults.py --out /tmp/smoke --max-time 5 --families rbm --datasets digits
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_runs import CommandFailed, check, run_physgen  # noqa: E402
import conditions  # noqa: E402
from compare import _choices, split, unlabeled  # noqa: E402
import pythia_ttbar  # noqa: E402
from record import record  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "scoreboard.md"
DOC_SECTION = "defaults-results"

FAMILIES = ("wgan-gp", "ddpm", "vae", "rbm", "ebm", "van", "flow-matching", "flow")
DATASETS = ("ttbar", "ising", "ising-off", "ising-random", "digits", "sampling")
#: the data sets a family can model (every one where it is not listed)
FAMILY_DATASETS = {"van": ("ising", "ising-off", "ising-random", "sampling"), "flow": ("ttbar",)}
# ``physgen score --method`` of the held-out log-likelihood on tt̄, for every family that has one: the flow's is
# exact, the VAE's an importance-weighted bound (IWAE), the RBM's from AIS's log Z, the diffusion and flow-matching
# models' through the probability-flow ODE
LOGLIK_METHODS = {"flow": "exact", "vae": "iwae", "rbm": "ais", "ddpm": "ode", "flow-matching": "ode"}
BOOKKEEPING = ("--no-progress", "--overwrite")  # added to every `physgen train`; no effect on the model
ISING_SIZE, ISING_TEMPERATURES, ISING_PER_T = 16, (1.8, 2.27, 3.0), 1000
#: the Ising data sets: the acceptance temperatures and a second set away from them (ordered, just above T_c,
#: deep in the paramagnet), judged alike
ISING_SETS = {"ising": ISING_TEMPERATURES, "ising-off": (2.0, 2.4, 3.5)}
#: every Ising data set, the fixed ones and the one drawn per run
ISING_DATA = (*ISING_SETS, "ising-random")
ISING_RANDOM_RANGE = (1.6, 3.6)   # the third set: three temperatures drawn from this range per benchmark run
ISING_REFERENCE_PER_T, ISING_SAMPLES_PER_T = 10_000, 3000   # the judge: Monte Carlo reference, samples drawn
TTBAR_N, TTBAR_HOLDOUT, DIGITS_TEST_FRACTION = 10_000, 2000, 1 / 3
SAMPLING_N = 1000

# targets: (KL, AUC) on tt̄; relative error of ⟨e⟩ and ⟨|m|⟩ per T on Ising; AUC on digits; seconds to sample
TTBAR_TARGETS = {"wgan-gp": (0.03, 0.65), "ddpm": (0.02, 0.60), "vae": (0.05, 0.70), "rbm": (0.10, 0.80),
                 "ebm": (0.10, 0.80), "flow-matching": (0.02, 0.60), "flow": (0.02, 0.60)}
ISING_TARGETS = {"rbm": 0.03, "ddpm": 0.03, "vae": 0.05, "wgan-gp": 0.05, "ebm": 0.05, "van": 0.03,
                 "flow-matching": 0.03}
# relative errors of C and χ by temperature (or twice their floor where that is larger), and of U₄ at T_c
FLUCTUATION_TARGETS = {1.8: 0.25, 2.27: 0.10, 3.0: 0.10}
BINDER_TARGET, TC = 0.10, 2.27
DIGITS_AUC_TARGET = 0.60
SAMPLING_TARGET_S = 60.0
N_BOOT = 100


# --- data -----------------------------------------------------------------------------------------------
def random_temperatures(seed: int) -> tuple[float, ...]:
    """The ``ising-random`` set of a benchmark run with ``--seed seed``: three temperatures drawn uniformly from
    :data:`ISING_RANDOM_RANGE`, rounded to 0.001 and sorted."""
    import numpy as np

    draws = np.random.default_rng([seed, 3]).uniform(*ISING_RANDOM_RANGE, size=3)
    return tuple(sorted(round(float(t), 3) for t in draws))


def ising_sets(seed: int) -> dict[str, tuple[float, ...]]:
    """The Ising data sets of a benchmark run: :data:`ISING_SETS` and ``ising-random``."""
    return {**ISING_SETS, "ising-random": random_temperatures(seed)}


def ising_args(seed: int, out: str, per_t: int = ISING_PER_T, temperatures=ISING_TEMPERATURES) -> list[str]:
    return ["data", "ising", "--size", str(ISING_SIZE), "--temperatures", ",".join(f"{t:g}" for t in temperatures),
            "--samples", str(per_t), "--algorithm", "wolff", "--seed", str(seed), "--out", out, "--overwrite"]


def prepare(datasets, args, commands: list[str]) -> tuple[dict, dict]:
    """Write the (train, judge) files of each data set under ``OUT/data``; returns (paths, skipped reasons)."""
    from physgen.data import load, save

    out = args.out

    def cli(argv):
        commands.append(check(run_physgen(argv, cwd=out, threads=args.threads))["command"])

    paths, skipped = {}, {}
    if "ttbar" in datasets:
        if args.ttbar is None:
            for seed, p in ((args.seed, "data/ttbar-train.h5"), (args.seed + 1, "data/ttbar-test.h5")):
                cli([*pythia_ttbar.pythia_args(p, TTBAR_N, seed), "--overwrite"])
            paths["ttbar"] = ("data/ttbar-train.h5", "data/ttbar-test.h5")
        elif not args.ttbar.is_file():
            skipped["ttbar"] = f"--ttbar {args.ttbar}: no such file; tt̄ data set skipped"
            print(f"defaults: {skipped['ttbar']}", file=sys.stderr)
        else:
            cli(["data", "import", str(args.ttbar.resolve()), "--out", "data/ttbar.h5", "--overwrite"])
            if args.ttbar_protocol == "10k":
                paths["ttbar"] = ("data/ttbar.h5", "data/ttbar.h5")
            else:
                parts = split(load(out / "data" / "ttbar.h5"), TTBAR_HOLDOUT, args.seed)
                for d, p in zip(parts, ("data/ttbar-train.h5", "data/ttbar-test.h5")):
                    save(d, out / p, overwrite=True)
                paths["ttbar"] = ("data/ttbar-train.h5", "data/ttbar-test.h5")
    for data, temperatures in ising_sets(args.seed).items():
        if data in datasets or (data == "ising" and "sampling" in datasets and not args.ising_runs):
            cli(ising_args(args.seed, f"data/{data}-train.h5", temperatures=temperatures))
            cli(ising_args(args.seed + 1, f"data/{data}-test.h5", ISING_REFERENCE_PER_T, temperatures))
            paths[data] = (f"data/{data}-train.h5", f"data/{data}-test.h5")
    if "digits" in datasets:
        cli(["data", "digits", "--out", "data/digits-all.h5", "--overwrite"])
        ds = unlabeled(load(out / "data" / "digits-all.h5"))
        parts = split(ds, round(len(ds) * DIGITS_TEST_FRACTION), args.seed)
        for d, p in zip(parts, ("data/digits-train.h5", "data/digits-test.h5")):
            save(d, out / p, overwrite=True)
        paths["digits"] = ("data/digits-train.h5", "data/digits-test.h5")
    return paths, skipped


# --- checks: {"quantity", "value", "error", "floor", "target", "pass"} ------------------------------------
def _check(quantity: str, entry: dict, target: float | None) -> dict:
    value = entry.get("value")
    return {"quantity": quantity, "value": value, "error": entry.get("error"), "floor": entry.get("floor"),
            "target": target, "pass": None if target is None else (value is not None and value <= target)}


def ttbar_checks(family: str, res: dict) -> list[dict]:
    kl, auc = TTBAR_TARGETS[family]
    return [_check("mean KL", res["kl"], kl), _check("classifier AUC", res["c2st_auc"], auc)]


def loglik_check(family: str, scores: Path) -> dict:
    """The held-out log-likelihood in nats per event (reported, no target): the mean of ``physgen score``'s
    ``/log_prob`` with its standard error over the events (for an estimated log p, e.g. AIS's log Z or the ODE's
    Hutchinson probes, the estimator's error is added in quadrature where the file records it)."""
    import h5py
    import numpy as np

    with h5py.File(scores, "r") as f:
        lp = np.asarray(f["log_prob"], dtype=np.float64)
        per_event = np.asarray(f["log_prob_error"], dtype=np.float64) if "log_prob_error" in f else None
        log_z_error = float(f.attrs.get("log_z_error", float("nan")))
    err = float(lp.std(ddof=1) / np.sqrt(len(lp)))
    extra = [float(np.sqrt(np.sum(per_event ** 2)) / len(lp))] if per_event is not None else []
    extra += [log_z_error] if np.isfinite(log_z_error) else []
    err = float(np.sqrt(err ** 2 + sum(e ** 2 for e in extra)))
    return _check(f"held-out log-likelihood (nats/event, {LOGLIK_METHODS[family]})",
                  {"value": float(lp.mean()), "error": err}, None)


def ising_checks(family: str, res: dict) -> list[dict]:
    """Per T: the relative errors of ⟨e⟩ and ⟨|m|⟩ (target :data:`ISING_TARGETS`), of C and χ (target
    :data:`FLUCTUATION_TARGETS`) and, at T_c, of the Binder cumulant U₄, each with its floor (the same between the
    real halves); a fluctuation's target is twice its floor where that is larger."""
    rows = []
    for t, per_t in sorted(res["observables"]["by_temperature"].items(), key=lambda kv: float(kv[0])):
        obs = per_t["observables"]
        judged = [("energy", "⟨e⟩", ISING_TARGETS[family]), ("abs_magnetization", "⟨|m|⟩", ISING_TARGETS[family]),
                  ("specific_heat", "C", fluctuation_target(t)), ("susceptibility", "χ", fluctuation_target(t))]
        if abs(float(t) - TC) < 0.01:
            judged.append(("binder", "U₄", BINDER_TARGET))
        for name, label, target in judged:
            o = obs.get(name)
            if not o:
                continue
            scale = abs(o["real"]["value"]) or 1.0
            floor = abs(o["floor"]["value"]) / scale if o.get("floor") and o["floor"].get("value") is not None else None
            entry = {"value": abs(o["difference"]["value"]) / scale,
                     "error": (o["difference"].get("error") or 0.0) / scale, "floor": floor}
            if name not in ("energy", "abs_magnetization") and floor is not None:
                target = max(target, 2 * floor)
            rows.append(_check(f"T={float(t):g} {label} rel. err.", entry, target))
    return rows


def fluctuation_target(t: float | str) -> float:
    """The target of C and χ at temperature ``t``: :data:`FLUCTUATION_TARGETS` of the nearest listed T."""
    return FLUCTUATION_TARGETS[min(FLUCTUATION_TARGETS, key=lambda k: abs(k - float(t)))]


MONTE_CARLO_NOTE = re.compile(r"^Monte Carlo (\S+) ± (\S+)$")
REPORTED = re.compile(r"^T=(\S+) (C|χ)$")


def judge_reported_fluctuations(checks: list[dict]) -> list[dict]:
    """Checks recorded before C and χ had targets ("T=1.8 C" with the Monte Carlo value in its note) as judged
    rows: |model − Monte Carlo| / Monte Carlo against :func:`fluctuation_target` (no floor was recorded)."""
    out = []
    for c in checks:
        head, note = REPORTED.match(c["quantity"]), MONTE_CARLO_NOTE.match(c.get("note") or "")
        if head is None or note is None or c.get("target") is not None:
            out.append(c)
            continue
        ref = float(note.group(1))
        values = [abs(v - ref) / abs(ref) for v in c.get("values", [c["value"]])]
        entry = {"value": statistics.median(values), "error": (c.get("error") or 0.0) / abs(ref), "floor": None}
        row = _check(f"T={head.group(1)} {head.group(2)} rel. err.", entry, fluctuation_target(head.group(1)))
        if "values" in c:
            row = {**row, "values": values, "min": min(values), "max": max(values), "error": None}
        out.append(row)
    return out


def digits_checks(family: str, res: dict) -> list[dict]:
    return [_check("classifier AUC", res["c2st_auc"], DIGITS_AUC_TARGET), _check("mean KL", res["kl"], None)]


JUDGES = {"ttbar": ("kl,c2st", ttbar_checks), "ising": ("kl,c2st,observables", ising_checks),
          "ising-off": ("kl,c2st,observables", ising_checks), "ising-random": ("kl,c2st,observables", ising_checks),
          "digits": ("kl,c2st", digits_checks)}


def models(family: str, data: str) -> bool:
    """Whether ``family`` can model data set ``data`` (:data:`FAMILY_DATASETS`)."""
    return data in FAMILY_DATASETS.get(family, (data,))


# --- one cell -----------------------------------------------------------------------------------------------
def _fail(cell: dict, exc: Exception) -> dict:
    reason = str(exc) if isinstance(exc, CommandFailed) else f"{type(exc).__name__}: {exc}"
    return {**cell, "status": "failed", "reason": (reason.splitlines() or ["failed"])[0][:200]}


def _seed(seed: int) -> list[str]:
    """``--seed SEED``, or nothing for 0 (the default of ``physgen train`` and ``physgen sample``)."""
    return ["--seed", str(seed)] if seed else []


def _name(data: str, family: str, run: int) -> str:
    """The stem of one run's directory, samples, evaluation and logs: ``DATA-FAMILY``, ``-rR`` added for R >= 1."""
    return f"{data}-{family}" + (f"-r{run}" if run else "")


def train_cell(family: str, data: str, paths, args, run: int = 0) -> dict:
    """Train, sample and judge one (family, data set); a failure becomes the cell's one-line reason.
    Run ``run`` trains with seed ``--seed`` + ``run`` and samples with seed ``run`` (run 0: the single-run commands)."""
    from physgen.data import load

    out, name = args.out, _name(data, family, run)
    run_dir, fake, judge_dir, log = f"runs/{name}", f"samples/{name}.h5", f"eval/{name}", args.out / "logs" / name
    argv = ["train", family, "--data", paths[0], "--out", run_dir]
    argv += (["--condition", "temperature"] if data in ISING_DATA else [])
    argv += ["--max-time", f"{args.max_time:g}"] if args.max_time is not None else []
    argv += _seed(args.seed + run) + list(BOOKKEEPING)
    cell: dict = {"commands": []}
    try:
        timeout = 2 * args.max_time + 300 if args.max_time is not None else args.train_timeout
        t = run_physgen(argv, cwd=out, threads=args.threads, log=log.with_suffix(".train.log"), timeout=timeout)
        cell["commands"].append(t["command"])
        cell["train_wall_s"] = t["wall_s"]
        check(t)
        summary = json.loads((out / run_dir / "summary.json").read_text())
        cell.update(steps=summary.get("steps"), train_status=summary.get("status"),
                    planned_steps=summary.get("planned_steps"), stopped_by=summary.get("stopped_by"))
        n = ISING_SAMPLES_PER_T * len(ising_sets(args.seed)[data]) if data in ISING_DATA else len(load(out / paths[1]))
        s = check(run_physgen(["sample", run_dir, "--n", str(n), *_seed(run), "--out", fake, "--overwrite"], cwd=out,
                              threads=args.threads, log=log.with_suffix(".sample.log"), timeout=args.sample_timeout))
        cell["commands"].append(s["command"])
        metrics, judge = JUDGES[data]
        e = check(run_physgen(["evaluate", "--real", paths[1], "--fake", fake, "--out", judge_dir, "--metrics", metrics,
                               "--seed", str(args.seed), "--n-boot", str(N_BOOT), "--no-plots", "--overwrite"],
                              cwd=out, threads=args.threads, log=log.with_suffix(".evaluate.log")))
        cell["commands"].append(e["command"])
        checks = judge(family, json.loads((out / judge_dir / "metrics.json").read_text()))
        if data == "ttbar" and family in LOGLIK_METHODS:
            scores = f"scores/{name}.h5"
            c = check(run_physgen(["score", run_dir, "--data", paths[1], "--method", LOGLIK_METHODS[family],
                                   *_seed(run), "--out", scores, "--overwrite"], cwd=out, threads=args.threads,
                                  log=log.with_suffix(".score.log"), timeout=args.sample_timeout))
            cell["commands"].append(c["command"])
            checks.append(loglik_check(family, out / scores))
    except (CommandFailed, OSError, ValueError, KeyError, TypeError) as exc:  # the other cells still run
        return _fail(cell, exc)
    return {**cell, "status": "ok", "checks": checks, "pass": all(c["pass"] for c in checks if c["pass"] is not None)}


def _run_of(cell: dict | None, run: int) -> dict | None:
    """Run ``run`` of a repeated cell (its ``per_run``), or the cell itself (one run, or none)."""
    return cell["per_run"][run] if cell and "per_run" in cell else cell


def sampling_cell(family: str, ising_cell: dict | None, args, run: int = 0) -> dict:
    """Wall time of ``physgen sample RUN --n 1000`` on the family's Ising run (run ``run`` of a repeated cell)."""
    ising_cell = _run_of(ising_cell, run)
    if not ising_cell or ising_cell.get("status") != "ok":
        return {"status": "failed", "reason": "needs the family's Ising run, which did not finish", "commands": []}
    name = _name("sampling", family, run)
    argv = ["sample", f"runs/{_name('ising', family, run)}", "--n", str(SAMPLING_N), *_seed(run),
            "--out", f"samples/{name}.h5", "--overwrite"]
    cell: dict = {"commands": []}
    try:
        s = run_physgen(argv, cwd=args.out, threads=args.threads, timeout=args.sample_timeout,
                        log=args.out / "logs" / f"{name}.log")
        cell["commands"].append(s["command"])
        check(s)
    except (CommandFailed, OSError) as exc:
        return _fail(cell, exc)
    row = _check(f"`physgen sample --n {SAMPLING_N}` s", {"value": s["wall_s"]}, SAMPLING_TARGET_S)
    return {**cell, "status": "ok", "checks": [row], "pass": row["pass"]}


def reused_ising_run(family: str, args) -> dict:
    """``--ising-runs DIR``: link the family's trained run of DIR as ``runs/ising-FAMILY`` (and ``-rR`` for every
    repetition) of this output, as if trained here; a failed cell where DIR has none."""
    for stem in ("ising", "ising-off"):
        source = (args.ising_runs / "runs" / f"{stem}-{family}").resolve()
        if (source / "config.toml").is_file():
            break
    else:
        return {"status": "failed", "reason": f"--ising-runs: no runs/ising-{family} or runs/ising-off-{family}"}
    (args.out / "runs").mkdir(parents=True, exist_ok=True)
    for r in range(args.runs):
        link = args.out / "runs" / _name("ising", family, r)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(source, target_is_directory=True)
    return {"status": "ok"}


# --- several runs of one cell: {"per_run": [cells], "checks": medians} ------------------------------------------
def repeated(cell_of_run, runs: int) -> dict:
    """``cell_of_run(0)`` for one run (the single-run cell, unchanged); else the runs 0 .. runs-1 as one cell."""
    return cell_of_run(0) if runs == 1 else combine_runs([cell_of_run(r) for r in range(runs)])


def combine_runs(cells: list[dict]) -> dict:
    """One cell from the cells of its runs: each quantity's median (which the verdict is taken on), min, max and
    per-run values; failed when one run failed, with that run's reason.  The runs are kept under ``per_run``."""
    cell = {"commands": [c for one in cells for c in one.get("commands", [])], "per_run": cells}
    failed = [(r, one["reason"]) for r, one in enumerate(cells) if one["status"] != "ok"]
    if failed:
        return {**cell, "status": "failed", "reason": f"run {failed[0][0]}: {failed[0][1]}"[:200]}
    by_quantity: dict[str, list[dict]] = {}
    for one in cells:
        for c in one["checks"]:
            by_quantity.setdefault(c["quantity"], []).append(c)
    checks = [_median_check(rows) for rows in by_quantity.values()]
    return {**cell, "status": "ok", "checks": checks, "pass": all(c["pass"] for c in checks if c["pass"] is not None)}


def _median_check(rows: list[dict]) -> dict:
    """One quantity over the runs: ``value`` = ``median`` (None if a run has none), ``min``, ``max``, the runs'
    ``values`` and ``errors``; the floor and note of the first run (the real data are the same for every run)."""
    values = [c["value"] for c in rows]
    known = [v for v in values if v is not None]
    median = statistics.median(values) if None not in values else None
    first = rows[0]
    return {**first, **_check(first["quantity"], {"value": median, "floor": first.get("floor")}, first["target"]),
            "median": median, "min": min(known, default=None), "max": max(known, default=None),
            "values": values, "errors": [c.get("error") for c in rows]}


# --- table ------------------------------------------------------------------------------------------------------
def _num(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "—"
    if pct:
        return f"{100 * x:.2g}%" if abs(x) < 1 else f"{100 * x:.0f}%"
    return f"{x:.3g}"


def _value(c: dict, pct: bool) -> str:
    """The defaults column: ``value ± error`` of one run, ``median [min–max]`` of several."""
    if "values" in c:
        return f"{_num(c['value'], pct)} [{_num(c['min'], pct)}–{_num(c['max'], pct)}]"
    return _num(c["value"], pct) + (f" ± {_num(c['error'], pct)}" if c.get("error") is not None else "")


def _row(data: str, family: str, c: dict) -> str:
    pct = "rel. err." in c["quantity"]
    target = "—" if c["target"] is None else f"≤ {_num(c['target'], pct)}"
    verdict = {True: "pass", False: "**fail**", None: c.get("note", "reported")}[c["pass"]]
    quantity = c["quantity"].replace("|", r"\|")  # ⟨|m|⟩ inside a table cell
    return f"| {data} | {family} | {quantity} | {_value(c, pct)} | {_num(c.get('floor'), pct)} | {target} | {verdict} |"


def _run_rows(data: str, family: str, cell: dict) -> list[str]:
    """The commands table's rows of one cell: one per run (``FAMILY run R`` where the cell has several)."""
    runs = cell.get("per_run")
    named = [(family, cell)] if runs is None else [(f"{family} run {r}", c) for r, c in enumerate(runs)]
    rows = []
    for name, c in named:
        cmds = "<br>".join(f"`{cmd}`" for cmd in c.get("commands", [])) or "—"
        wall = f"{c['train_wall_s']:.0f}" if c.get("train_wall_s") is not None else "—"
        status = c.get("train_status") or c["status"]
        rows.append(f"| {data} | {name} | {status} | {c.get('steps', '—')} | {wall} | {cmds} |")
    return rows


def _header(board: dict) -> list[str]:
    """The lines above the first table: settings, the runs per cell and their seeds, the combined invocations."""
    budget = ("each family's default step budget (no budget flag)" if board.get("max_time") is None else
              f"each family's default step budget capped by `--max-time {board['max_time']:g}`")
    busy = f", {board['busy']} busy loop(s) beside every command" if board.get("busy") else ""
    lines = [f"Budget: {budget}; {board['threads']} thread(s){busy}, seed "
             f"{board['seed']}, tt̄ protocol `{board['ttbar_protocol']}`; {board['machine']}; torch "
             f"{board['versions'].get('torch')}; {board['date']}.", ""]
    n = board.get("runs_per_cell", 1)
    mixed = n == 1 and any("per_run" in c for cells in board["results"].values() for c in cells.values())
    if n > 1:
        seeds = ", ".join(str(board["seed"] + r) for r in range(n))
        lines += [f"{n} runs per cell: `physgen train` with seeds {seeds} and `physgen sample` with seeds "
                  f"{', '.join(map(str, range(n)))} (seed 0, the default, is not written); defaults: the median "
                  "[min–max] over the runs, the verdict is the median's.", ""]
    elif mixed:
        lines += ["A cell with several runs (`FAMILY run R` in the commands table) ran `physgen train` with seeds "
                  f"{board['seed']} + R and `physgen sample` with seed R; it shows the median [min–max] over its "
                  "runs, and its verdict is the median's.", ""]
    lines += [f"Combined run: `{r['command']}` ({r['date']}" + (f"; {r['machine']}" if r.get("machine") else "")
              + (f"; load {r['load']}" if r.get("load") else "") + ")." for r in board.get("runs", [])]
    lines += [""] if board.get("runs") else []
    defaults, verdict = (("defaults: median [min–max]", "verdict (median)") if n > 1 else
                         ("defaults (several runs: median [min–max])", "verdict") if mixed else ("defaults", "verdict"))
    return [*lines, f"| data | family | quantity | {defaults} | floor | target | {verdict} |",
            "|---|---|---|---|---|---|---|"]


def _is_fluctuation(quantity: str) -> bool:
    """C, χ and U₄ (the fluctuations) against every other check (the means: ⟨e⟩, ⟨|m|⟩, KL, AUC, time)."""
    return any(f" {q} " in f" {quantity} " for q in ("C", "χ", "U₄"))


def _summary(checks: list[tuple[str, str, dict]]) -> list[str]:
    """The judged checks counted by kind, means and fluctuations, and every failed mean named."""
    lines = []
    for kind, fluct in (("means (⟨e⟩, ⟨|m|⟩, KL, AUC, sampling time)", False), ("fluctuations (C, χ, U₄)", True)):
        judged = [(d, f, c) for d, f, c in checks if c["pass"] is not None and _is_fluctuation(c["quantity"]) == fluct]
        failed = [f"{d}/{f} {c['quantity']}" for d, f, c in judged if not c["pass"]]
        named = f"; failed: {', '.join(failed)}" if failed and not fluct else ""
        lines.append(f"Of the {kind}: {len(judged) - len(failed)} of {len(judged)} pass{named}".rstrip(".") + ".")
    return lines


def markdown(board: dict) -> str:
    """Two tables: every measured quantity (defaults vs floor vs target) and every run's exact command."""
    lines = _header(board)
    runs = ["| data | family | status | steps | train s | commands |", "|---|---|---|---|---|---|"]
    n_pass = n_checks = 0
    judged: list[tuple[str, str, dict]] = []
    for data in DATASETS:
        for family, cell in board["results"].get(data, {}).items():
            if cell["status"] != "ok":
                reason = cell["reason"].replace("|", r"\|")
                lines.append(f"| {data} | {family} | — | failed: {reason} | — | — | **fail** |")
                n_checks += 1
            else:
                for c in cell["checks"]:
                    lines.append(_row(data, family, c))
                    judged.append((data, family, c))
                    n_checks += c["pass"] is not None
                    n_pass += bool(c["pass"])
            runs += _run_rows(data, family, cell)
    for data, reason in board.get("skipped", {}).items():
        lines.append(f"| {data} | all | — | skipped: {reason} | — | — | — |")
    data_cmds = "\n".join(board.get("data_commands", []))
    return "\n".join([*lines, "", f"{n_pass} of {n_checks} checks pass.", "", *_summary(judged), "", *runs, "",
                      "Data (run in `--out`; the splits are seeded, done by the script):", "", "```bash",
                      data_cmds, "```", ""])


# --- main ---------------------------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Example:\n  OMP_NUM_THREADS=1 python benchmarks/defaults.py --out /tmp/acc")
    p.add_argument("--out", required=True, type=Path, help="output directory (results.json, results.md, runs)")
    p.add_argument("--families", default=",".join(FAMILIES), help="comma list of families (default: all)")
    p.add_argument("--datasets", default=",".join(DATASETS),
                   help="comma list of ttbar,ising,ising-off,ising-random,digits,sampling (default: all; sampling uses the "
                        "Ising runs)")
    p.add_argument("--max-time", type=float, default=None,
                   help="a wall-time cap of every training run (default: none, the defaults' step budgets)")
    p.add_argument("--train-timeout", type=float, default=7200.0,
                   help="seconds before a training run without --max-time is failed (default 7200)")
    p.add_argument("--busy", type=int, default=0, metavar="K",
                   help="K busy loops run beside every command (a loaded machine; default 0)")
    p.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of every run (default 1)")
    p.add_argument("--ttbar", type=Path, default=None,
                   help="tt̄ events file (s t y per line) instead of Pythia events (default: physgen data pythia)")
    p.add_argument("--ttbar-protocol", choices=("10k", "holdout"), default="10k",
                   help="with --ttbar: judge against the training events (10k, default) or 2,000 held-out ones")
    p.add_argument("--seed", type=int, default=0, help="seed of the data and splits (default 0)")
    p.add_argument("--runs", type=int, default=1,
                   help="runs per (data set, family), run r with `physgen train --seed SEED+r` and `physgen sample "
                        "--seed r`; each quantity's median [min–max], verdict on the median (default 1)")
    p.add_argument("--sample-timeout", type=float, default=900.0, help="seconds before a sampling run is failed")
    p.add_argument("--ising-runs", type=Path, default=None, metavar="DIR",
                   help="sampling without ising: time the trained Ising runs of an earlier --out DIR "
                        "(DIR/runs/ising-FAMILY, else DIR/runs/ising-off-FAMILY: the same family and defaults) "
                        "instead of training new ones; every --runs repetition times the same run")
    p.add_argument("--record", action="store_true", help=f"write the table into {DOC.relative_to(REPO)}")
    p.add_argument("--combine", nargs="+", type=Path, metavar="RESULTS_JSON",
                   help="no runs: one table from the results.json of earlier runs (e.g. one per data set, run on "
                        "separate cores), written to OUT/results.md (and recorded with --record)")
    return p.parse_args(argv)


def _names(text: str, allowed, option: str) -> list[str]:
    """The comma list ``text`` checked against ``allowed`` (compare.py's rule), in ``allowed``'s order."""
    names = _choices(text, allowed, option)
    return [n for n in allowed if n in names]


def check_args(args) -> tuple[list[str], list[str]]:
    from physgen.errors import UserError

    if (args.max_time is not None and not args.max_time > 0) or args.threads < 1 or args.seed < 0 \
            or not args.sample_timeout > 0 or args.runs < 1 or not args.train_timeout > 0 or args.busy < 0:
        raise UserError("--max-time, --train-timeout and --sample-timeout must be > 0, --threads >= 1, --seed >= 0, "
                        "--runs >= 1, --busy >= 0")
    if args.out.exists() and not args.out.is_dir():
        raise UserError(f"--out {args.out}: is a file, expected a directory")
    return _names(args.datasets, DATASETS, "--datasets"), _names(args.families, FAMILIES, "--families")


def _generic_out(argv: list[str]) -> list[str]:
    """``argv`` with the values of ``--out`` and ``--ising-runs`` replaced by ``OUT`` and ``DIR`` (the recorded
    command names no machine path)."""
    generic = {"--out": "OUT", "--ising-runs": "DIR"}
    return [(generic.get(argv[i - 1], a) if i else a) for i, a in enumerate(argv)]


def run(args) -> dict:
    import platform

    from physgen.training.rundir import versions

    datasets, families = check_args(args)
    args.out.mkdir(parents=True, exist_ok=True)
    args.out = args.out.resolve()
    board = {"max_time": args.max_time, "threads": args.threads, "seed": args.seed, "busy": args.busy,
             "ttbar_protocol": "pythia" if args.ttbar is None else args.ttbar_protocol,
             "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
             "machine": f"{conditions.cpu_model()}, {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
             "versions": versions(), "load": f"{os.getloadavg()[0]:.2f}",
             "command": shlex.join(["python", "benchmarks/defaults.py", *_generic_out(sys.argv[1:])]),
             "bookkeeping_flags": list(BOOKKEEPING), "data_commands": [], "results": {}, "skipped": {},
             "ising_random_temperatures": list(random_temperatures(args.seed)),
             **({"runs_per_cell": args.runs} if args.runs > 1 else {})}
    loops = busy_loops(args.busy)
    try:
        return _run_cells(args, board, datasets, families)
    finally:
        for p in loops:
            p.kill()
            p.wait()


def busy_loops(k: int) -> list:
    """``k`` processes spinning on the CPU beside the benchmark's commands (a loaded machine)."""
    import subprocess

    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(k)]


def _run_cells(args, board: dict, datasets: list[str], families: list[str]) -> dict:
    from physgen.atomic import write_json, write_text

    paths, board["skipped"] = prepare(datasets, args, board["data_commands"])
    results = board["results"]
    for data in ("ttbar", "ising", "ising-off", "ising-random", "digits"):
        if data in paths and (data in datasets or (data == "ising" and "sampling" in datasets)):
            results[data] = {f: repeated(partial(train_cell, f, data, paths[data], args), args.runs)
                             for f in families if models(f, data)}
    if "sampling" in datasets:
        trained = results.get("ising", {})
        if args.ising_runs and "ising" not in datasets:
            trained = {f: reused_ising_run(f, args) for f in families}
        results["sampling"] = {f: repeated(partial(sampling_cell, f, trained.get(f), args), args.runs)
                               for f in families}
    board["load"] = f"{board.get('load', '?')} → {os.getloadavg()[0]:.2f}"   # 1-minute load at start and end
    write_json(args.out / "results.json", board)
    write_text(args.out / "results.md", markdown(board))
    return board


def combine(paths: list[Path]) -> dict:
    """One board from several runs' ``results.json``: their results, skipped data sets and data commands;
    settings, date and command of each run are listed under ``runs``.  Files of different ``--runs`` combine
    into a board whose repeated cells carry their runs (``per_run``) and whose header says so."""
    boards = [json.loads(Path(p).read_text()) for p in paths]
    runs = sorted({b.get("runs_per_cell", 1) for b in boards})
    out = {**{k: v for k, v in boards[0].items() if k != "runs_per_cell"}, "results": {}, "skipped": {},
           "data_commands": [], **({"runs_per_cell": runs[0]} if len(runs) == 1 and runs[0] > 1 else {}),
           "runs": [run for b in boards for run in (b.get("runs") or [
               {**{k: b.get(k) for k in ("command", "date", "max_time", "threads", "seed", "busy", "machine", "load")
                   if k in b or k not in ("machine", "load")},
                "runs_per_cell": b.get("runs_per_cell", 1)}])]}
    for b in boards:
        for data, cells in b["results"].items():   # one data set's families may come from several runs
            if data in ISING_DATA:
                cells = {f: _rejudged(c) for f, c in cells.items()}
            out["results"].setdefault(data, {}).update(cells)
        out["skipped"].update(b.get("skipped", {}))
        out["data_commands"] += [c for c in b.get("data_commands", []) if c not in out["data_commands"]]
    return out


def _rejudged(cell: dict) -> dict:
    """An Ising cell with :func:`judge_reported_fluctuations` applied to its checks and its runs' checks, and its
    verdict recomputed."""
    if cell.get("status") != "ok":
        return cell
    out = {**cell, "checks": judge_reported_fluctuations(cell["checks"])}
    if "per_run" in cell:
        out["per_run"] = [_rejudged(c) for c in cell["per_run"]]
    out["pass"] = all(c["pass"] is not False for c in out["checks"])
    return out


def main(argv=None) -> int:
    from physgen.atomic import write_json, write_text
    from physgen.errors import UserError

    args = parse_args(argv)
    try:
        if args.combine:
            board = combine(args.combine)
            args.out.mkdir(parents=True, exist_ok=True)
            write_json(args.out / "results.json", board)
            write_text(args.out / "results.md", markdown(board))
        else:
            board = run(args)
    except (UserError, CommandFailed, OSError, ValueError, KeyError) as exc:
        print(f"defaults: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    table = markdown(board)
    print(table)
    if args.record:
        record(DOC, DOC_SECTION, table)
        print(f"defaults: wrote the table into {DOC}", file=sys.stderr)
    failed = [f"{d}/{f}" for d, cells in board["results"].items() for f, c in cells.items() if c["status"] != "ok"]
    if failed:
        print(f"defaults: failed runs: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
