"""`physgen data jets` against Pythia's own ceiling: jets per second of the whole command beside events per
second of a bare ``Pythia::next()`` loop with the same settings (no particle extraction, no clustering).

For each jet type, in one process and one after the other on the same core:

1. **Pythia alone** — the jet type's settings (:meth:`physgen.data.hep.jets.JetSpec.lines`), one seed, ``--n``
   calls of ``next()``; the clock starts after ``init()`` (the command's own start-up is in its time);
2. **the command** — ``physgen data jets --type T --n N --workers 1 --seed S --out F`` as a user runs it,
   timed from launch to exit (Python start-up, Pythia's ``init()``, writing the file included);
3. **the command with its default workers** (this machine's cores), when there is more than one.

The ratio (command jets/s) / (Pythia events/s) is the fraction of the ceiling that physgen reaches; an
accepted event gives one jet (96–100 % of events are accepted, so the ceiling in jets is slightly lower).

    python benchmarks/jets_rate.py [--types gluon,top] [--n 3000] [--out results.json]

Run it pinned to an idle core for the one-worker figures (``taskset -c 1``); the load is printed beside them.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conditions import cores, load, machine  # noqa: E402


def pythia_alone(jet_type: str, n: int, seed: int) -> float:
    """Events per second of ``next()`` with the jet type's settings (after ``init()``)."""
    from physgen.data.hep.jets import JetSpec, _start
    from physgen.data.hep.pythia import quiet_stdout

    with quiet_stdout():
        pythia = _start(JetSpec(jet_type), seed)
        start = time.perf_counter()
        for _ in range(n):
            pythia.next()
        return n / (time.perf_counter() - start)


def command(jet_type: str, n: int, seed: int, workers: int | None, out: Path) -> tuple[float, int]:
    """Jets per second of the whole ``physgen data jets`` command (launch to exit) and the events it read."""
    args = [sys.executable, "-m", "physgen", "data", "jets", "--type", jet_type, "--n", str(n), "--seed", str(seed),
            "--out", str(out), "--overwrite"]
    if workers is not None:
        args += ["--workers", str(workers)]
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    import h5py

    with h5py.File(out, "r") as f:
        events = int(f.attrs["events"])
    return n / seconds, events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--types", default="gluon,top")
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = ap.parse_args()
    print(f"# {machine()}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for jet_type in args.types.split(","):
            before = load()
            ceiling = pythia_alone(jet_type, args.n, args.seed)
            rate, events = command(jet_type, args.n, args.seed, 1, Path(tmp) / "one.h5")
            row = {"type": jet_type, "n": args.n, "pythia_events_per_s": ceiling, "command_jets_per_s": rate,
                   "ratio": rate / ceiling, "events_per_jet": events / args.n, "load_before": before,
                   "load_after": load()}
            if cores() > 1:
                row["command_default_workers_jets_per_s"] = command(jet_type, args.n, args.seed, None,
                                                                    Path(tmp) / "all.h5")[0]
                row["workers"] = cores()
            rows.append(row)
            print(f"{jet_type}: Pythia alone {ceiling:.1f} events/s; data jets --workers 1 {rate:.1f} jets/s "
                  f"({rate / ceiling:.2f} of the ceiling, {events / args.n:.3f} events a jet)"
                  + (f"; default --workers ({cores()}) {row['command_default_workers_jets_per_s']:.1f} jets/s"
                     if "workers" in row else "") + f" [{before} → {row['load_after']}]")
    if args.out:
        args.out.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
