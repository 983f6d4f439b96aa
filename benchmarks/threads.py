"""Training steps per second of physgen's families at one and two torch threads, on an idle machine and beside a
busy process, with the thread count physgen.threads chooses: what the rule of :mod:`physgen.threads` rests on.

For each family and lattice size: ``physgen train FAMILY --data ising.h5 --condition temperature --steps N``
in a fresh process, timed by its training loop (``summary.json``'s ``loop_s``, the quality checks excluded),
with ``OMP_NUM_THREADS=1``, ``OMP_NUM_THREADS=2`` and unset (physgen's choice), then the same three beside a
pure-Python loop holding one core ("busy", as the other pytest-xdist worker of ``make test`` does).  Prints a
Markdown table with the machine, the load average before and after, and physgen's estimated multiply-adds per
step.

    python benchmarks/threads.py --families rbm,wgan-gp,ebm --sizes 8,16 --steps 300
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHYSGEN = [sys.executable, "-m", "physgen"]


def busy_loop(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def run(cmd: list[str], threads: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if threads is not None:
        env["OMP_NUM_THREADS"] = threads
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def step_seconds(run_dir: Path) -> float:
    """Seconds per step of the training loop, its quality checks excluded (``summary.json``: ``loop_s``)."""
    summary = json.loads((run_dir / "summary.json").read_text())
    return float(summary["loop_s"]) / int(summary["steps"])


def estimate(family: str, data: Path) -> float:
    """physgen's multiply-adds per step of ``family`` on ``data`` (:func:`physgen.threads.network_work`)."""
    code = (f"import sys; from physgen.cli import main; from physgen import threads\n"
            f"seen = []\norig = threads.for_model\n"
            f"def spy(m, rows):\n    d = m.step_work(rows)\n"
            f"    seen.append(d if d is not None else threads.network_work(m, rows)); return orig(m, rows)\n"
            f"threads.for_model = spy\nimport tempfile\nwith tempfile.TemporaryDirectory() as t:\n"
            f"    main(['train', {family!r}, '--data', {str(data)!r}, '--out', t + '/r', '--steps', '1', "
            f"'--condition', 'temperature', '--no-progress', '--overwrite'])\nprint(seen[0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--families", default="rbm,vae,wgan-gp,ebm,ddpm")
    ap.add_argument("--sizes", default="8,16")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"load before: {os.getloadavg()[0]:.2f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("| family | L | multiply-adds/step | ms/step idle: 1 / 2 / physgen | ms/step busy: 1 / 2 / physgen |")
    print("|---|---:|---:|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            data = Path(tmp) / f"ising{size}.h5"
            run([*PHYSGEN, "data", "ising", "--size", str(size), "--temperatures", "1.8,2.27,3.0", "--samples", "500",
                 "--algorithm", "wolff", "--out", str(data)], None)
            for family in args.families.split(","):
                cells = []
                for busy in (False, True):
                    stop = multiprocessing.Event()
                    worker = multiprocessing.Process(target=busy_loop, args=(stop,)) if busy else None
                    if worker:
                        worker.start()
                    times = []
                    for threads in ("1", "2", None):
                        out = Path(tmp) / f"{family}-{size}-{busy}-{threads}"
                        run([*PHYSGEN, "train", family, "--data", str(data), "--out", str(out), "--steps",
                             str(args.steps), "--condition", "temperature", "--no-progress"], threads)
                        times.append(1e3 * step_seconds(out))
                    if worker:
                        stop.set()
                        worker.join()
                    cells.append(" / ".join(f"{t:.1f}" for t in times))
                print(f"| {family} | {size} | {estimate(family, data):.2g} | {cells[0]} | {cells[1]} |", flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
