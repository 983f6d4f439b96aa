"""``make bench``: run every speed benchmark at short sizes and write one current table into docs/benchmarks.md.

Each benchmark runs as its own process (its command is recorded in the table); its output is echoed and
the figures below are taken from it.  The table — date, machine, load average, and for every figure its
reference and conditions — replaces whatever stands between the two marker comments of
docs/benchmarks.md, so re-running regenerates it.  A benchmark that fails leaves a row saying so (and
the script exits non-zero after writing the table).  About 10–15 minutes on 2 cores.

    python benchmarks/run_all.py                    # all, then rewrite the table
    python benchmarks/run_all.py --only ising rbm   # a subset (the other rows are dropped)
    python benchmarks/run_all.py --no-write         # print the table only
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
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


def ising(out: str, js: Path) -> list[list[str]]:
    d = json.loads(js.read_text())
    r, rows = d["rates"], []
    lo, hi = d["load_idle"]
    where = f"L={d['size']}, {d['chains']} chains, T={d['T']}, h=0, median of 3 interleaved runs"
    check = "; exact at L=16 (Kaufman): " + ", ".join(f"{c['name']} {c['z']:+.1f}σ" for c in d["checks"])
    for eng in [k for k in r if k.startswith("engine")]:
        for ref in [k for k in r if k.startswith(("numpy", "numba"))]:
            rows.append([f"Ising engine: {eng} / {ref}", f"{r[eng] / r[ref]:.2f}×",
                         f"{r[eng] / 1e6:.0f} vs {r[ref] / 1e6:.0f} M flips/s; {where}", f"{lo:.1f}–{hi:.1f}"])
    rows[0][2] += check
    u = d.get("under_load")
    if u:
        for k in ("engine default", "numpy (1 thread)", f"engine {conditions.cores()} threads"):
            if k in u:
                rows.append([f"Ising under load: {k}", f"{u[k]['of_idle_engine_1_thread']:.2f} of idle",
                             f"{u[k]['flips_per_s'] / 1e6:.0f} M flips/s with one busy loop per core, as a fraction "
                             f"of the idle 1-thread engine ({r['engine 1 thread'] / 1e6:.0f} M flips/s); target "
                             f"≥ 0.5 for the default", f"{u['load'][0]:.1f}–{u['load'][1]:.1f}"])
    return rows


def rbm(out: str, _js) -> list[list[str]]:
    rows = []
    pat = {"equal precision": r"^equal precision: (.*?) = ([\d.]+)x\s+\[(.*)\]",
           "as users run them": r"^as users run them: (.*?) = ([\d.]+)x\s+\[(.*)\]"}
    load = _find(r"load average ([\d.]+-[\d.]+)", out)
    for name, p in pat.items():
        m = re.search(p, out, re.M)
        if m:
            rows.append([f"RBM training speed, {name}", f"{m.group(2)}×", f"{m.group(1)}; {m.group(3)}", load])
    return rows


def overhead(title: str):
    def parse(out: str, _js) -> list[list[str]]:
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
                             f"{model.group(5)} pairs, spread {m.group(2)}, 90% CI {m.group(3)}", load])
        return rows
    return parse


def langevin(out: str, _js) -> list[list[str]]:
    rows = []
    for m in re.finditer(r"^(\S+ x\d+)\s+([\d.]+)\s+([\d.]+)\s+([+-][\d.]+%) \((.*?)\)\s+[\d.]+\s+([+-][\d.]+%) "
                         r"\((.*?)\)\s+([\d.]+-[\d.]+)", out, re.M):
        rows.append([f"Langevin `ula` overhead, {m.group(1)}", m.group(4),
                     f"vs a plain PyTorch loop of the same update ({m.group(2)} vs {m.group(3)} steps/s); spread "
                     f"{m.group(5)}; with diagnostics {m.group(6)} ({m.group(7)})", m.group(8)])
    return rows


def diffusion(out: str, _js) -> list[list[str]]:
    m = re.search(r"^equal quality (.*)$", out, re.M)
    load = _find(r"load ([\d.]+) at the start, ([\d.]+)", out)
    table = " ".join(f"{a} {b}: KL {c}" for a, b, c in
                     re.findall(r"^(ddpm|ddim)\s+(\d+)\s+[\d.]+\s+([\d.]+ ± [\d.]+)", out, re.M))
    if m:
        return [["DDIM vs DDPM at equal quality", "", f"{m.group(1)}; {table}", load]]
    return [["DDIM vs DDPM at equal quality", "none reached it", table, load]]


def metrics(out: str, _js) -> list[list[str]]:
    rows = []
    for m in re.finditer(r"^MMD\s+(\d+x\d+) d=(\d+)\s+numpy float64 ([\d.]+) s, float32 ([\d.]+) s;\s+physgen "
                         r"(\w+) ([\d.]+) s;\s+speedup ([\d.]+)x vs float64, ([\d.]+)x vs float32 .*?rel diff "
                         r"(\S+); load ([\d.]+-[\d.]+)", out, re.M):
        rows.append([f"MMD {m.group(1)}, d={m.group(2)}: physgen blockwise / dense NumPy", f"{m.group(8)}× (float32), "
                     f"{m.group(7)}× (float64)", f"{m.group(6)} s vs {m.group(4)} s (NumPy float32) and {m.group(3)} s "
                     f"(NumPy float64); physgen {m.group(5)} blocks, float64 sums; values agree to {m.group(9)}",
                     m.group(10)])
    return rows


def _find(pattern: str, text: str) -> str:
    m = re.search(pattern, text)
    return "–".join(m.groups()).replace("-", "–") if m else "?"


# name: (command after `python`, environment, parser, threads in words)
BENCHES = {
    "ising": (["benchmarks/ising.py", "--under-load", "--repeat", "3", "--seconds", "1", "--load-seconds", "120"],
              {}, ising, "torch threads as named; NumPy 1 thread; numba as named"),
    "rbm": (["benchmarks/rbm.py", "speed", "--epochs", "20", "--repeats", "2", "--overhead-repeats", "0",
             "--threads", "1"], ONE, rbm, "1 thread"),
    "trainer": (["benchmarks/trainer_overhead.py", "--steps", "150", "--pairs", "5"], ONE,
                overhead("Trainer overhead, WGAN-GP tt̄ step"), "1 thread"),
    "gan": (["benchmarks/gan.py", "overhead", "--steps", "200", "--repeats", "5", "--n", "20000"], ONE,
            overhead("Trainer overhead, vanilla GAN step"), "1 thread"),
    "langevin": (["benchmarks/langevin.py", "--steps", "100", "--repeats", "5"], ONE, langevin, "1 thread"),
    "diffusion": (["benchmarks/diffusion.py", "--n", "2000", "--seeds", "3", "--train-steps", "2000"], ONE,
                  diffusion, "1 thread"),
    "metrics": (["benchmarks/metrics.py", "--skip-100k", "--n", "5000", "--repeat", "3"], ONE, metrics, "1 thread"),
}


def run(name: str) -> tuple[list[list[str]], str, bool, float]:
    args, env_extra, parse, threads = BENCHES[name]
    with tempfile.TemporaryDirectory() as tmp:
        js = Path(tmp) / "out.json"
        cmd = [sys.executable, *args] + (["--json", str(js)] if name == "ising" else [])
        env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                                         os.environ.get("PYTHONPATH")]))} | env_extra
        t0 = time.monotonic()
        print(f"\n$ {' '.join(f'{k}={v}' for k, v in env_extra.items())} python {' '.join(args)}", flush=True)
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        secs = time.monotonic() - t0
        print(proc.stdout + proc.stderr[-3000:], flush=True)
        ok = proc.returncode == 0
        try:
            rows = parse(proc.stdout, js if js.exists() else None)
        except Exception as e:                                      # a parse failure must not lose the others
            rows, ok = [[name, "unparsed", f"{type(e).__name__}: {e}", "?"]], False
    command = f"`{' '.join(f'{k}={v}' for k, v in env_extra.items())} python {' '.join(args)}`".replace("` ", "`")
    if not ok and not rows:
        rows = [[name, "FAILED", f"exit code {proc.returncode}; see the output of the command", "?"]]
    return [[*r[:3], threads, r[3], command] for r in rows], name, ok, secs


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
    args = p.parse_args()
    load0 = os.getloadavg()[0]
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    results, failed = [], []
    for name in args.only or BENCHES:
        rows, _, ok, secs = run(name)
        results.append(rows)
        print(f"[{name}: {'ok' if ok else 'FAILED'}, {secs:.0f} s]", flush=True)
        if not ok:
            failed.append(name)
    finished = datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M")
    text = table(results, started, finished, (load0, os.getloadavg()[0]))
    print("\n" + text)
    if not args.no_write:
        write(text)
        print(f"written to {DOC.relative_to(ROOT)}")
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
