"""Throughput of every family with its defaults: training and generated samples per second, per data kind.

For each family that ``physgen models`` lists and each data kind — tt̄ events (s, t, y; Pythia 8, hard level),
16 × 16 Ising lattices (Wolff, T = 2.27), 8 × 8 digits, jets as 30-particle clouds (Pythia 8 + fastjet) —
the commands a user types, each in its own process with ``OMP_NUM_THREADS = k`` for k = 1 and all cores
(``os.cpu_count()``), on the CPU and, when ``torch.cuda.is_available()``, on CUDA:

* **training** — ``physgen train FAMILY --data F --steps N --set data.val_fraction=0 --device D
  --no-progress --overwrite``: the family's defaults for the data with the step count set (N = its default
  budget / 150, at least 50: the default budgets are about 300 s of one core, so about 2 s of training) and
  no held-out split, so no quality probes (a figure of the training loop leaves them out anyway, and they
  can cost more than the training: a probe samples the model; ``--probes`` keeps the split, as users run
  it).  The figure is read from the run's ``metrics.csv``: its training rows (one per ``train.log_every``
  steps) give each logged interval's seconds (``time_s`` differences) and samples (``samples_per_s`` ×
  seconds: the data rows the steps consumed, ``train.batch_size`` a step).  Training samples per second =
  the samples of the counted intervals / their seconds, where the first interval (the first step's
  one-time costs) and every interval that holds a quality probe or a validation pass (a ``metrics.csv``
  row without ``samples_per_s`` between two training rows) are left out.  Start-up (interpreter, imports,
  data loading and transform, model construction, the first checkpoint) and the end (checkpoint, preview)
  fall outside the training rows, so they are not counted either; the whole command's wall time is
  reported beside.  A run without a clean interval is counted with its probes (marked).
* **generation** — in a child process the run is loaded with the public API
  (``physgen.training.load_run(RUN, device=D)``), a warm-up draw of 16 is made, a draw of 64 sets n (about
  ``SAMPLE_SECONDS`` of sampling on the first thread count, 64 to ``MAX_N``), and ``Run.sample(n)`` (the
  family's default sampler, as ``physgen sample`` calls it) is timed at each thread count
  (``torch.set_num_threads``): *sampling alone*, no interpreter start, no model loading, no file written.
  Then the whole ``physgen sample RUN --n n --device D --out F`` command is timed once, at the first thread
  count (one core): interpreter start, imports, loading the run, sampling and writing the file.

Every row carries its thread count and the 1-minute load average at its start and end; the header carries
the machine, the torch version, the date and each data file's command with its own rate (the generator a
network would replace, whole command).  A family without defaults for a kind gets "—" with the reason; a
command that fails gets its one-line error.  The table goes between the ``throughput`` markers of
docs/benchmarks.md (``--no-write``: printed only; ``--quick`` never writes).  About 15 minutes on 2 idle cores.

    python benchmarks/throughput.py                                    # all families, kinds, threads 1 and all
    python benchmarks/throughput.py --families vae,ddpm --kinds digits --no-write
    taskset -c 1 python benchmarks/throughput.py --quick --families gan --kinds digits --threads 1  # smoke test
"""
from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import sys
import tempfile
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import conditions  # noqa: E402
import pythia_ttbar  # noqa: E402
from cli_runs import CommandFailed, check, command_text, run_physgen  # noqa: E402
from record import record  # noqa: E402

DOC = HERE.parent / "docs" / "benchmarks.md"
DOC_SECTION = "throughput"
KINDS = ("ttbar", "ising", "digits", "jets")
#: data kind -> (the physgen kind the families' defaults are chosen by, its label in the table)
KIND_OF = {"ttbar": ("continuous", "tt̄ (s, t, y)"), "ising": ("spins", "Ising 16 × 16"),
           "digits": ("image", "digits 8 × 8"), "jets": ("pointcloud", "jets, 30 particles")}
#: data kind -> (samples made by the default run, by --quick)
DATA_N = {"ttbar": (10_000, 2000), "ising": (2000, 500), "digits": (1797, 1797), "jets": (1000, 100)}
#: training steps: the family's default budget for the data / BUDGET_SHARE (the default budgets are about 300 s
#: of one core, docs/training.md), at least MIN_STEPS (metrics rows every 10 steps, the first left out; with
#: --probes, at least 100 so that rows without a probe remain: probes run at 1/5, 2/5, ... of the steps);
#: --quick trains QUICK_STEPS
BUDGET_SHARE, MIN_STEPS, QUICK_STEPS = 150, 50, 30
NO_PROBES = ["--set", "data.val_fraction=0"]
#: sampling alone lasts about SAMPLE_SECONDS on the first thread count (n from a timed draw of 64, at most MAX_N);
#: --quick draws QUICK_N
SAMPLE_SECONDS, MAX_N, QUICK_N = 1.0, 20_000, 50


# --- data ---------------------------------------------------------------------------------------------
def data_args(kind: str, n: int, path: str | Path) -> list[str]:
    """``physgen data ...`` arguments that make ``n`` samples of ``kind`` into ``path``."""
    if kind == "ttbar":
        return pythia_ttbar.pythia_args(path, n, pythia_ttbar.SEED)
    if kind == "ising":
        return ["data", "ising", "--size", "16", "--temperatures", "2.27", "--samples", n, "--algorithm", "wolff",
                "--seed", "0", "--out", path]
    if kind == "digits":
        return ["data", "digits", "--out", path]
    return ["data", "jets", "--type", "gluon", "--n", n, "--particles", "30", "--seed", "1", "--out", path]


def make_data(kind: str, n: int, out: Path) -> dict:
    """Make ``kind``'s file in ``out`` (once: an existing file is reused); {path, command, seconds, rate}."""
    path = out / "data" / f"{kind}-n{n}.h5"
    args = data_args(kind, n, path.name)
    entry = {"path": str(path), "command": command_text(args, 1), "n": n, "seconds": None, "rate": None}
    if not path.is_file():
        if kind in ("ttbar", "jets") and not pythia_ttbar.have_pythia():
            raise CommandFailed("needs Pythia 8: pip install 'physgen[hep]'")
        path.parent.mkdir(parents=True, exist_ok=True)
        res = check(run_physgen(args, cwd=path.parent, threads=1, log=out / "logs" / f"data-{kind}.txt"))
        if kind != "digits":      # real data are read, not generated: no rate to compare with
            entry.update(seconds=res["wall_s"], rate=n / res["wall_s"])
    return entry


# --- training -----------------------------------------------------------------------------------------
def training_rate(metrics_csv: Path) -> dict:
    """Training samples per second from a run's ``metrics.csv`` (module docstring): {samples, seconds,
    steps, rate, probes_included}."""
    with open(metrics_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    clean, every = [0.0, 0.0, 0], [0.0, 0.0, 0]          # samples, seconds, steps
    prev_t, prev_step, dirty, first = 0.0, 0, False, True
    for row in rows:
        if not row.get("samples_per_s"):
            dirty = True                                  # a probe or a validation pass since the last row
            continue
        t, step = float(row["time_s"]), int(row["step"])
        dt = t - prev_t
        if not first:
            for acc in ([every] if dirty else [every, clean]):
                acc[0] += float(row["samples_per_s"]) * dt
                acc[1] += dt
                acc[2] += step - prev_step
        prev_t, prev_step, dirty, first = t, step, False, False
    probes = clean[1] == 0
    samples, seconds, steps = every if probes else clean
    return {"samples": samples, "seconds": seconds, "steps": steps,
            "rate": samples / seconds if seconds > 0 else None, "probes_included": probes}


def steps_for(family: str, data: Path, probes: bool) -> int:
    """Steps of ``family``'s training on ``data``: its default budget / BUDGET_SHARE, at least MIN_STEPS (100
    with ``probes``)."""
    from physgen.data import load
    from physgen.models import registry
    from physgen.models.base import DataSpec

    budget = registry.get(family).defaults(DataSpec.from_dataset(load(data))).get("train", {}).get("steps")
    return int(max(100 if probes else MIN_STEPS, round((budget or 0) / BUDGET_SHARE, -1)))


def train(family: str, data: Path, run: Path, steps: int, threads: int, device: str, logs: Path,
          probes: bool = False) -> dict:
    """``physgen train`` with the family's defaults; its rate (:func:`training_rate`), batch size, wall time."""
    args = ["train", family, "--data", os.path.relpath(data, run.parent), "--out", run.name, "--steps", steps,
            *([] if probes else NO_PROBES), "--device", device, "--no-progress", "--overwrite"]
    res = check(run_physgen(args, cwd=run.parent, threads=threads, log=logs / f"train-{run.name}.txt"))
    batch = tomllib.loads((run / "config.toml").read_text())["train"]["batch_size"]
    return {**training_rate(run / "metrics.csv"), "batch_size": batch, "planned_steps": steps,
            "wall_s": res["wall_s"], "command": res["command"]}


# --- generation ---------------------------------------------------------------------------------------
def sampling_alone(run: str, n: int | None, threads: list[int], device: str) -> dict:
    """In this process: seconds of ``load_run`` and of ``Run.sample(n)`` at each thread count, after a warm-up
    draw; ``n=None``: about SAMPLE_SECONDS of sampling at ``threads[0]`` (the child process of :func:`sample`)."""
    import torch

    from physgen.training import load_run

    torch.set_num_threads(threads[0])
    t0 = time.perf_counter()
    r = load_run(run, device=device)
    out = {"load_s": time.perf_counter() - t0, "sample_s": {}}
    r.sample(16, seed=1)
    if n is None:
        t0 = time.perf_counter()
        r.sample(64, seed=2)
        n = int(float(f"{min(MAX_N, max(64, 64 * SAMPLE_SECONDS / (time.perf_counter() - t0))):.2g}"))
    out["n"] = n
    for k in threads:
        torch.set_num_threads(k)
        t0 = time.perf_counter()
        r.sample(n, seed=0)
        out["sample_s"][str(k)] = time.perf_counter() - t0
    return out


def sample(run: Path, n: int | None, threads: list[int], device: str, logs: Path) -> dict:
    """Sampling alone at each thread count (a child running :func:`sampling_alone`), then the whole ``physgen
    sample`` command at ``threads[0]``: {n, load_s, k: {alone_s, alone_rate}, command: {s, rate, text}}."""
    import subprocess

    code = (f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import throughput; "
            f"print(json.dumps(throughput.sampling_alone({str(run)!r}, {n}, {threads!r}, {device!r})))")
    env = {**os.environ, "OMP_NUM_THREADS": str(max(threads)), "MKL_NUM_THREADS": str(max(threads)),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parent / "src"), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CommandFailed(f"Run.sample: {(proc.stderr.strip().splitlines() or ['no output'])[-1][:200]}")
    alone = json.loads(proc.stdout.strip().splitlines()[-1])
    n = alone["n"]
    out = {"n": n, "load_s": alone["load_s"]}
    for k in threads:
        out[k] = {"alone_s": alone["sample_s"][str(k)], "alone_rate": n / alone["sample_s"][str(k)]}
    args = ["sample", run.name, "--n", n, "--device", device, "--out", f"{run.name}-samples.h5", "--overwrite"]
    res = check(run_physgen(args, cwd=run.parent, threads=threads[0], log=logs / f"sample-{run.name}.txt"))
    out["command"] = {"s": res["wall_s"], "rate": n / res["wall_s"], "text": res["command"]}
    return out


# --- one family on one kind -----------------------------------------------------------------------------
def unsupported(family: str, kind: str, data: Path | None = None) -> str | None:
    """Why ``family`` cannot train with its defaults on ``kind`` (its data file ``data``); None when it can."""
    from physgen.models import registry

    cls = registry.get(family)
    physgen_kind = KIND_OF[kind][0]
    if physgen_kind not in cls.kinds:
        return f"no defaults for {physgen_kind} data (`physgen models`)"
    if data is not None:
        from physgen.data import load
        from physgen.models.base import DataSpec

        ds = load(data)
        if cls.defaults(DataSpec.from_dataset(ds)).get("data", {}).get("condition") == "labels" and ds.labels is None:
            return "its defaults condition on /labels, which these data lack"
    return None


def measure(family: str, kind: str, data: Path, a) -> list[dict]:
    """Rows (one per device and thread count) of ``family`` on ``kind``: training and generation figures."""
    steps = QUICK_STEPS if a.quick else steps_for(family, data, a.probes)
    n = QUICK_N if a.quick else None
    rows = []
    for device in a.devices:
        load0, trained = os.getloadavg()[0], {}
        try:
            for k in a.threads:
                run = a.out / "runs" / f"{family}-{kind}-{device}-t{k}"
                run.parent.mkdir(parents=True, exist_ok=True)
                trained[k] = train(family, data, run, steps, k, device, a.out / "logs", a.probes)
            gen = sample(a.out / "runs" / f"{family}-{kind}-{device}-t{a.threads[0]}", n, a.threads, device,
                         a.out / "logs")
        except CommandFailed as exc:
            rows.append({"family": family, "kind": kind, "device": device, "error": str(exc)})
            continue
        load = (load0, os.getloadavg()[0])
        rows += [{"family": family, "kind": kind, "device": device, "threads": k, "train": trained[k], "n": gen["n"],
                  "load_s": gen["load_s"], "sample": gen[k], "command": gen["command"] if k == a.threads[0] else None,
                  "load": load} for k in a.threads]
    return rows


# --- the table ------------------------------------------------------------------------------------------
def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def table_rows(rows: list[dict]) -> list[str]:
    """One markdown row per measurement (or reason)."""
    out = []
    for r in rows:
        head = f"| {r['family']} | {KIND_OF[r['kind']][1]} | {r.get('device', '—')} |"
        if "reason" in r or "error" in r:
            what = r.get("reason") or f"failed: {r['error']}"
            out.append(f"{head} — | — | {what} | — | — | — | — |")
            continue
        t, s = r["train"], r["sample"]
        counted = (f"{t['steps']:.0f} of {t['planned_steps']} steps × batch {t['batch_size']} in {t['seconds']:.2f} s"
                   f"{' (probes included)' if t['probes_included'] else ''}; whole command {t['wall_s']:.1f} s")
        c = r["command"]
        whole = "—" if c is None else f"{_num(c['rate'])} ({c['s']:.1f} s; loading the run {r['load_s']:.2f} s)"
        out.append(f"{head} {r['threads']} | {_num(t['rate'])} | {counted} | {_num(s['alone_rate'])} | "
                   f"{r['n']:,} | {whole} | {r['load'][0]:.2f}–{r['load'][1]:.2f} |")
    return out


def markdown(res: dict) -> str:
    """The table with its conditions, references and commands."""
    lines = [f"Measured {res['started']} – {res['finished']} UTC on {res['machine']}; load average (1 min) "
             f"{res['load'][0]:.2f} at the start, {res['load'][1]:.2f} at the end. Regenerate with "
             f"`{res['command']}` (part of `make bench`).", "",
             "| family | data | device | threads | training samples/s | counted | generated samples/s, sampling "
             "alone | n | whole `physgen sample --n n` command, samples/s (one thread) | load |",
             "|---|---|---|---|---:|---|---:|---:|---|---|"]
    lines += table_rows(res["rows"])
    lines += ["", "Data (each made once; the rate is the whole command's, the generator a network replaces):", ""]
    for kind, d in res["data"].items():
        rate = "" if d.get("rate") is None else f" — {d['rate']:,.1f} samples/s ({d['seconds']:.1f} s)"
        lines.append(f"- {KIND_OF[kind][1]}: " + (f"`{d['command']}`{rate}" if "command" in d else d["reason"]))
    lines += ["", "Commands of every row (k threads, device D, N steps and n samples as in the row):", "", "```",
              "OMP_NUM_THREADS=k physgen train FAMILY --data DATA.h5 --out RUN --steps N"
              + ("" if res["probes"] else " --set data.val_fraction=0") + " --device D --no-progress --overwrite",
              "OMP_NUM_THREADS=1 physgen sample RUN --n n --device D --out RUN-samples.h5 --overwrite",
              "# sampling alone: physgen.training.load_run(RUN, device=D).sample(n) after a warm-up draw, "
              "torch.set_num_threads(k)", "```"]
    return "\n".join(lines) + "\n"


# --- main -----------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--families", help="comma-separated families (default: all of `physgen models`)")
    p.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated data kinds ({', '.join(KINDS)})")
    p.add_argument("--threads", default="1,all", help="comma-separated thread counts; all = os.cpu_count()")
    p.add_argument("--devices", help="comma-separated devices (default: cpu, and cuda when available)")
    p.add_argument("--out", type=Path, help="directory for data, runs, logs and results.json (default: temporary)")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke test: {QUICK_STEPS} steps, {QUICK_N} samples, small data files; never writes the docs")
    p.add_argument("--probes", action="store_true",
                   help="keep the held-out split and its quality probes in training (as users run it; slower)")
    p.add_argument("--no-write", action="store_true", help="print the table, leave docs/benchmarks.md alone")
    a = p.parse_args(argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    a.shown = [w for i, w in enumerate(argv) if "--out" not in (w, argv[i - 1] if i else "")]   # no local paths
    from physgen.models import registry

    a.families = a.families.split(",") if a.families else sorted(registry.entry_points())
    a.kinds = a.kinds.split(",")
    a.threads = [os.cpu_count() or 1 if t == "all" else int(t) for t in a.threads.split(",")]
    if a.devices is None:
        import torch

        a.devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    else:
        a.devices = a.devices.split(",")
    for name, given, known in (("--families", a.families, registry.entry_points()), ("--kinds", a.kinds, KINDS)):
        if set(given) - set(known):
            p.error(f"{name}: unknown {', '.join(sorted(set(given) - set(known)))}")
    if any(t < 1 for t in a.threads):
        p.error("--threads: counts must be >= 1")
    return a


def run(a) -> dict:
    """Every family on every kind; the results (``markdown`` renders them)."""
    stamp = lambda: datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    res = {"started": stamp(), "machine": conditions.machine(), "load": [os.getloadavg()[0]], "data": {}, "rows": [],
           "probes": a.probes,
           "command": " ".join(["python benchmarks/throughput.py", *a.shown])}
    for kind in a.kinds:
        try:
            d = res["data"][kind] = make_data(kind, DATA_N[kind][1 if a.quick else 0], a.out)
        except CommandFailed as exc:
            res["data"][kind] = {"reason": f"not measured: {exc}"}
        for family in a.families:
            reason = res["data"][kind].get("reason") or unsupported(family, kind, Path(d["path"]))
            if reason:
                res["rows"].append({"family": family, "kind": kind, "reason": reason})
                continue
            print(f"[{family} on {kind}]", file=sys.stderr, flush=True)
            res["rows"] += measure(family, kind, Path(d["path"]), a)
    res["finished"] = stamp()[-5:]
    res["load"].append(os.getloadavg()[0])
    return res


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    keep = a.out is not None
    with tempfile.TemporaryDirectory(prefix="throughput-") as tmp:
        a.out = (a.out or Path(tmp)).resolve()
        res = run(a)
        if keep:
            from physgen.atomic import write_json

            write_json(a.out / "results.json", res)
    text = markdown(res)
    print(text)
    measured = sum("train" in r for r in res["rows"])
    failed = sum("error" in r for r in res["rows"])
    print(f"throughput: {measured} rows measured, {failed} failed, "
          f"{sum('reason' in r for r in res['rows'])} without defaults; load "
          f"{min(res['load']):.2f}-{max(res['load']):.2f}")
    if not (a.quick or a.no_write):
        record(DOC, DOC_SECTION, text)
        print(f"written to {DOC.relative_to(HERE.parent)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
