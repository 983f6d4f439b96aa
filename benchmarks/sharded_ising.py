"""Sharded Ising generation: configurations per second of ``physgen data ising --workers W``.

Each measurement is the documented command run as a subprocess (``cli_runs.run_physgen``: one thread per
process, the command line recorded as run), so the figure is what a user gets, start-up of the worker
processes included: configurations written / wall seconds of the whole command.  The runs are interleaved
``--repeat`` times over the worker counts (median wall time), the 1-minute load average printed beside
each, and every run's ``/samples`` is checked to be identical to the first run's of the same ``W``
(same ``(seed, W)``: same bytes).

    python benchmarks/sharded_ising.py                          # W = 1, 2; L = 32, 4 temperatures
    python benchmarks/sharded_ising.py --workers 1,2,4 --samples 4000 --json sharded.json
    python benchmarks/sharded_ising.py --size 8 --samples 64 --burn-in 10 --repeat 1   # a quick check
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import h5py

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_runs import check, run_physgen  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    p.add_argument("--size", type=int, default=32, help="lattice size L (default 32)")
    p.add_argument("--temperatures", default="1.8,2.1,2.4,3.0", help="temperatures (default 4 around T_c)")
    p.add_argument("--samples", type=int, default=2000, help="configurations per temperature (default 2000)")
    p.add_argument("--chains", type=int, default=32, help="chains per temperature (default 32)")
    p.add_argument("--burn-in", type=int, default=500, help="burn-in sweeps (default 500)")
    p.add_argument("--thin", type=int, default=10, help="sweeps between samples (default 10)")
    p.add_argument("--algorithm", default="metropolis", choices=("metropolis", "wolff"))
    p.add_argument("--repeat", type=int, default=3, help="interleaved repetitions (default 3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the results to this JSON file")
    return p.parse_args(argv)


def _digest(path: Path) -> str:
    with h5py.File(path, "r") as f:
        return hashlib.sha256(f["samples"][()].tobytes()).hexdigest()


def main(argv=None) -> int:
    args = parse_args(argv)
    workers = [int(w) for w in args.workers.split(",")]
    n_configs = args.samples * len(args.temperatures.split(","))
    base = ["data", "ising", "--size", args.size, "--temperatures", args.temperatures, "--samples", args.samples,
            "--chains", args.chains, "--burn-in", args.burn_in, "--thin", args.thin, "--algorithm", args.algorithm,
            "--seed", args.seed, "--device", "cpu", "--overwrite"]
    times: dict[int, list[float]] = {w: [] for w in workers}
    digests: dict[int, str] = {}
    commands: dict[int, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for w in workers:
                out = Path(tmp) / f"w{w}.h5"
                result = check(run_physgen([*base, "--workers", w, "--out", out.name], cwd=Path(tmp), threads=1))
                digest = _digest(out)
                if digests.setdefault(w, digest) != digest:
                    raise SystemExit(f"--workers {w}: /samples differ between two runs with the same seed")
                times[w].append(result["wall_s"])
                commands[w] = result["command"]
                print(f"W={w}: {result['wall_s']:.2f} s, {n_configs / result['wall_s']:.1f} configurations/s "
                      f"(load {os.getloadavg()[0]:.2f})", flush=True)
    rows = []
    for w in workers:
        wall = statistics.median(times[w])
        rows.append({"workers": w, "median_wall_s": wall, "configurations_per_s": n_configs / wall,
                     "walls_s": times[w], "command": commands[w], "samples_sha256": digests[w]})
    one = next((r for r in rows if r["workers"] == 1), None)
    print(f"\n{n_configs} configurations {args.size}x{args.size} ({args.algorithm}), median of {args.repeat}, "
          f"{os.cpu_count()} CPU cores:")
    for r in rows:
        speedup = f", x{r['configurations_per_s'] / one['configurations_per_s']:.2f} of W=1" if one else ""
        print(f"  W={r['workers']}: {r['configurations_per_s']:.1f} configurations/s "
              f"({r['median_wall_s']:.2f} s{speedup})")
    if args.json:
        Path(args.json).write_text(json.dumps({"configurations": n_configs, "size": args.size, "rows": rows},
                                              indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
