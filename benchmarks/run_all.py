"""``make bench``: run every speed benchmark at short sizes and write one current table into docs/benchmarks.md.

Each benchmark runs as its own process (its command is recorded in the table); its output is echoed and
the figures below are taken from it.  The table — date, machine, load average, and for every figure its
reference and conditions — replaces whatever stands between the two marker comments of
docs/benchmarks.md, so re-running regenerates it.  A benchmark that fails leaves a row saying so (and
the script exits non-zero after writing the table).  ``benchmarks/throughput.py`` writes its own table (every
family's training and generated samples per second) between the ``throughput`` markers of the same document
and leaves one row here; ``--no-write`` is passed on to it, and ``--from-log`` re-renders only its row.
About 25–30 minutes on 2 cores, 15 of them for the throughput table.

    python benchmarks/run_all.py                    # all, then rewrite the table
    python benchmarks/run_all.py --only ising rbm   # a subset (the other rows are dropped)
    python benchmarks/run_all.py --no-write         # print the table only
    python benchmarks/run_all.py > log; python benchmarks/run_all.py --from-log log   # re-render a run's table
"""
from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench:start (written by benchmarks/run_all.py) -->", "<!-- bench:end -->"
sys.path.insert(0, str(HERE))
import conditions  # noqa: E402

ONE = {"OMP_NUM_THREADS": "1"}
ALL = {"OMP_NUM_THREADS": str(conditions.cores())}


def ising(out: str) -> list[list[str]]:
    rates = {m.group(1): float(m.group(2)) for m in
             re.finditer(r"^  (engine [\w ]+?|numpy \(1 thread\)|numba \(\d+ threads?\))\s+([\d.]+) M flips/s"
                         r"   runs", out, re.M)}
    head = re.search(r"^L=(\d+), (\d+) chains, T=([\d.]+), h=0, device (\w+), median of (\d+) interleaved runs, "
                     r"load ([\d.]+)-([\d.]+)/", out, re.M)
    checks = ", ".join(f"{n} {z}σ" for n, z in re.findall(r"exactness (.+?)\s+<e> = .*?\(([+-][\d.]+) sigma\)", out))
    n = conditions.cores()
    where = f"L={head.group(1)}, {head.group(2)} chains, T={head.group(3)}, h=0, median of {head.group(5)} runs"
    load = f"{head.group(6)}–{head.group(7)}"
    pairs = [("engine default", "numpy (1 thread)", "engine 1, NumPy 1"),
             ("engine default", "numba (1 thread)", "engine 1, numba 1"),
             ("engine default", f"numba ({n} threads)", f"engine 1, numba {n}"),
             ("engine default", "engine torch 1 thread", "engine 1, torch 1"),
             (f"engine torch {n} threads", "numpy (1 thread)", f"torch {n}, NumPy 1")]
    cpu = {m.group(1): float(m.group(2)) for m in
           re.finditer(r"^  (engine [\w ]+?|numpy \(1 thread\)|numba \(\d+ threads?\))\s+[\d.]+ M flips/s   runs .*"
                       r"\(per CPU second of the process: ([\d.]+) M\)", out, re.M)}
    default = re.search(r"^engine default: (.*)$", out, re.M)
    rows = []
    for eng, ref, threads in pairs:
        if eng in rates and ref in rates:
            per_cpu = (f" ({cpu[eng]:.0f} vs {cpu[ref]:.0f} per CPU second of the process, "
                       f"{cpu[eng] / cpu[ref]:.2f}×)") if eng in cpu and ref in cpu else ""
            rows.append([f"Ising sweeps: {eng} / {ref}", f"{rates[eng] / rates[ref]:.2f}×",
                         f"{rates[eng]:.0f} vs {rates[ref]:.0f} M flips/s{per_cpu}; {where}", threads, load])
    if rows and default:
        rows[0][2] += f"; engine default = {default.group(1)}"
    if rows and checks:
        rows[0][2] += f"; every implementation exact at L=16 (vs Kaufman: {checks})"
    base = re.search(r"fraction of the idle default engine \(([\d.]+) M flips/s\)", out)
    uload = re.search(r"^under load: .*?load ([\d.]+)-([\d.]+);", out, re.M)
    for m in re.finditer(r"^  (engine [\w ]+?|numpy \(1 thread\))\s+([\d.]+) M flips/s\s+([\d.]+) of idle "
                         r"default engine, ([\d.]+) of its own idle figure", out, re.M):
        rows.append([f"Ising under load: {m.group(1)}", f"{m.group(4)} of its idle",
                     f"{m.group(2)} M flips/s with one extra busy-loop process per core; {m.group(3)} of the idle "
                     f"default engine ({base.group(1)} M flips/s); target ≥ 0.5 of its idle for the default",
                     "as named", f"{uload.group(1)}–{uload.group(2)}"])
    return rows


def rbm(out: str) -> list[list[str]]:
    rows = []
    pat = {"equal precision": r"^equal precision: (.*?) = ([\d.]+)x\s+\[(.*)\]",
           "as users run them": r"^as users run them: (.*?) = ([\d.]+)x\s+\[(.*)\]"}
    load = _find(r"load average ([\d.]+-[\d.]+)", out)
    for name, p in pat.items():
        m = re.search(p, out, re.M)
        if m:
            cond = re.sub(r"; \d+ thread\(s\); load average .*$", "", m.group(3))
            rows.append([f"RBM training speed, {name}", f"{m.group(2)}×", f"{m.group(1)}; {cond}", "1", load])
    return rows


def overhead(title: str):
    def parse(out: str) -> list[list[str]]:
        model = re.search(r"^model (\S+) .*?, data (\(.*?\)), (\d+) steps of ([\d.]+) ms.*?(\d+) pairs; "
                          r"final parameters identical: (\w+)", out, re.M)
        load = _find(r"load ([\d.]+-[\d.]+)/", out)
        rows = []
        for label in ("training loop", "whole fit()"):
            m = re.search(rf"trainer overhead, {re.escape(label)}\s*: median ([+-][\d.]+%), spread (.*?), 90% "
                          rf"interval of the median (.*?)\s+\(", out)
            if m and model:
                rows.append([f"{title}: {label}", m.group(1),
                             f"vs a hand-written loop of the same {model.group(1)} step (same batches and step seeds; "
                             f"parameters identical: {model.group(6)}); {model.group(3)} steps of {model.group(4)} ms, "
                             f"median of {model.group(5)} pairs, spread {m.group(2)}", "1", load])
        return rows
    return parse


def langevin(out: str) -> list[list[str]]:
    rows = []
    for m in re.finditer(r"^(\S+ x\d+)\s+([\d.]+)\s+([\d.]+)\s+([+-][\d.]+%) \((.*?)\)\s+[\d.]+\s+([+-][\d.]+%) "
                         r"\((.*?)\)\s+([\d.]+-[\d.]+)", out, re.M):
        rows.append([f"Langevin `ula` overhead, {m.group(1)}", m.group(4),
                     f"vs a plain PyTorch loop of the same update ({m.group(2)} vs {m.group(3)} steps/s); spread "
                     f"{m.group(5)}; with diagnostics {m.group(6)} ({m.group(7)})", "1",
                     m.group(8).replace("-", "–")])
    return rows


def diffusion(out: str) -> list[list[str]]:
    m = re.search(r"^equal quality \(mean KL <= ([\d.]+) x DDPM's ([\d.]+), over (\d+) seeds\): ([\w+-]+) with "
                  r"(\d+) steps, ([\d.]+)x faster per sample than DDPM with (\d+) steps; its worst seed (is|is NOT) "
                  r"within", out, re.M)
    load = _find(r"load ([\d.]+) at the start, ([\d.]+)", out)
    kls = "; ".join(f"{a.upper()} {b} steps {c}" for a, b, c in
                    re.findall(r"^(ddpm|ddim)\s+(\d+)\s+[\d.]+\s+([\d.]+ ± [\d.]+)", out, re.M))
    what = "fastest sampler within 1.2× the KL of full DDPM, per-sample speed-up"
    if not m:
        return [[f"Diffusion sampling: {what}", "none", f"mean KL ± sd over seeds: {kls}", "1", load]]
    worst = "also" if m.group(8) == "is" else "but NOT"
    return [[f"Diffusion sampling: {what}", f"{m.group(6)}× ({m.group(4).upper()}, {m.group(5)} steps)",
             f"vs DDPM with {m.group(7)} steps on a 2-D mixture trained in the benchmark; mean over {m.group(3)} "
             f"sampling seeds, {worst} for the worst seed; mean KL ± sd: {kls}", "1", load]]


def metrics(out: str) -> list[list[str]]:
    rows = []
    for m in re.finditer(r"^MMD\s+(\d+x\d+) d=(\d+)\s+numpy float64 ([\d.]+) s, float32 ([\d.]+) s;\s+physgen "
                         r"(\w+) ([\d.]+) s;\s+speedup ([\d.]+)x vs float64, ([\d.]+)x vs float32 .*?rel diff "
                         r"(\S+); load ([\d.]+-[\d.]+)", out, re.M):
        rows.append([f"MMD {m.group(1)}, d={m.group(2)}: physgen blockwise / dense NumPy",
                     f"{m.group(8)}× (float32), {m.group(7)}× (float64)",
                     f"{m.group(6)} s vs {m.group(4)} s (NumPy float32) and {m.group(3)} s "
                     f"(NumPy float64); physgen {m.group(5)} blocks, float64 sums; values agree to {m.group(9)}",
                     "1", m.group(10).replace("-", "–")])
    return rows


def throughput(out: str) -> list[list[str]]:
    m = re.search(r"^throughput: (\d+) rows measured, (\d+) failed, (\d+) without defaults; load ([\d.]+-[\d.]+)$",
                  out, re.M)
    if not m:
        return []
    failed = f"; {m.group(2)} failed (their errors are in the table)" if int(m.group(2)) else ""
    return [["Throughput of every family: training and generated samples/s", f"{m.group(1)} rows",
             f"the table under “Throughput per family” below, written by the same command; {m.group(3)} "
             f"family/data pairs without defaults{failed}", f"1 and {os.cpu_count()}",
             m.group(4).replace("-", "–")]]


def _find(pattern: str, text: str) -> str:
    m = re.search(pattern, text)
    return "–".join(m.groups()).replace("-", "–") if m else "?"


def _log_sections(log: str) -> dict[str, str]:
    """The echoed output of a previous run (``--from-log``), by benchmark name."""
    out = {}
    for chunk in log.split("\n$ ")[1:]:
        for name, (args, *_rest) in BENCHES.items():
            if f"python {' '.join(args)}" in chunk.splitlines()[0]:
                out[name] = chunk
    return out


# name: (command after `python`, environment, parser of its output -> rows [figure, value, conditions, threads, load])
BENCHES = {
    "ising": (["benchmarks/ising.py", "--under-load", "--repeat", "3", "--seconds", "1", "--load-seconds", "120"],
              {}, ising),
    "rbm": (["benchmarks/rbm.py", "speed", "--epochs", "20", "--repeats", "2", "--overhead-repeats", "0",
             "--threads", "1"], ONE, rbm),
    "trainer": (["benchmarks/trainer_overhead.py", "--model", "ddpm", "--lattice", "16", "--steps", "100",
                 "--pairs", "5"], ONE, overhead("Trainer overhead, DDPM L=16 spin step")),
    "gan": (["benchmarks/gan.py", "overhead", "--steps", "200", "--repeats", "5", "--n", "20000"], ONE,
            overhead("Trainer overhead, vanilla GAN step")),
    "langevin": (["benchmarks/langevin.py", "--steps", "100", "--repeats", "5"], ONE, langevin),
    "diffusion": (["benchmarks/diffusion.py", "--n", "2000", "--seeds", "3", "--train-steps", "2000"], ONE,
                  diffusion),
    "metrics": (["benchmarks/metrics.py", "--skip-100k", "--n", "5000", "--repeat", "3"], ONE, metrics),
    "throughput": (["benchmarks/throughput.py"], {}, throughput),   # sets its threads per command
}
#: benchmarks that write their own table into docs/benchmarks.md (given --no-write when run_all.py is)
OWN_TABLE = {"throughput"}


def run(name: str, logged: str | None = None, no_write: bool = False) -> tuple[list[list[str]], bool, float]:
    """Run benchmark ``name`` (or take its output from ``logged``): (table rows, success, seconds)."""
    args, env_extra, parse = BENCHES[name]
    args = [*args, "--no-write"] if no_write and name in OWN_TABLE else args
    env_words = " ".join(f"{k}={v}" for k, v in env_extra.items())
    command = f"`{(env_words + ' ') if env_words else ''}python {' '.join(args)}`"
    t0 = time.monotonic()
    if logged is None:
        env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                                         os.environ.get("PYTHONPATH")]))} | env_extra
        print(f"\n$ {(env_words + ' ') if env_words else ''}python {' '.join(args)}", flush=True)
        proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True)
        print(proc.stdout + proc.stderr[-3000:], flush=True)
        out, ok, code = proc.stdout, proc.returncode == 0, proc.returncode
    else:
        out, ok, code = logged, True, 0
    try:
        rows = parse(out)
    except Exception as e:                                          # a parse failure must not lose the others
        rows, ok = [[name, "unparsed", f"{type(e).__name__}: {e}", "?", "?"]], False
    if not rows:
        rows, ok = [[name, "FAILED", f"exit code {code}; see the output of the command", "?", "?"]], False
    return [[*r, command] for r in rows], ok, time.monotonic() - t0


def table(results, started: str, finished: str, loads: tuple[float, float]) -> str:
    head = (f"Measured {started} – {finished} UTC on {conditions.machine()}; load average (1 min) "
            f"{loads[0]:.2f} at the start, {loads[1]:.2f} at the end, on {conditions.cores()} cores (the `load` "
            f"column: during each benchmark). Regenerate with `make bench` (`python benchmarks/run_all.py`).\n\n"
            "| figure | value | reference and conditions | threads | load | command |\n|---|---|---|---|---|---|\n")
    body = "".join("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |\n" for rows in results for row in rows)
    return head + body


def write(text: str) -> None:
    doc = DOC.read_text()
    if START not in doc or END not in doc:
        raise SystemExit(f"{DOC}: the marker comments {START} … {END} are missing")
    a, b = doc.index(START) + len(START), doc.index(END)
    tmp = DOC.with_suffix(".md.tmp")
    tmp.write_text(doc[:a] + "\n" + text + doc[b:])
    tmp.replace(DOC)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", choices=list(BENCHES), help="run only these")
    p.add_argument("--no-write", action="store_true", help="print the table, leave docs/benchmarks.md alone")
    p.add_argument("--from-log", type=Path, help="rebuild the table from the saved output of a previous run")
    args = p.parse_args()
    stamp = lambda: datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    if args.from_log:
        log = args.from_log.read_text()
        m = re.search(r"^# started (\S+ \S+) UTC, load ([\d.]+)$", log, re.M)
        e = re.search(r"^# finished (\S+ \S+) UTC, load ([\d.]+)$", log, re.M)
        if not (m and e):
            raise SystemExit(f"{args.from_log}: not the output of a complete run_all.py run")
        started, load0, finished, load1 = m.group(1), float(m.group(2)), e.group(1)[-5:], float(e.group(2))
        logged = _log_sections(log)
    else:
        started, load0, logged = stamp(), os.getloadavg()[0], None
        print(f"# started {started} UTC, load {load0:.2f}", flush=True)
    results, failed = [], []
    for name in args.only or (list(logged) if logged is not None else BENCHES):
        rows, ok, secs = run(name, None if logged is None else logged[name], args.no_write)
        results.append(rows)
        if logged is None:
            print(f"[{name}: {'ok' if ok else 'FAILED'}, {secs:.0f} s]", flush=True)
        if not ok:
            failed.append(name)
    if logged is None:
        finished, load1 = stamp(), os.getloadavg()[0]
        print(f"# finished {finished} UTC, load {load1:.2f}", flush=True)
        finished = finished[-5:]
    text = table(results, started, finished, (load0, load1))
    print("\n" + text)
    if not args.no_write:
        write(text)
        print(f"written to {DOC.relative_to(ROOT)}")
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
