"""Training on a file larger than memory: peak RSS and throughput of the streamed path against the in-memory one.

Writes two continuous datasets of ``--features`` float32 columns into ``--dir`` (block by block, so the writer
never holds a file in memory): a large one (``--rows``, default 10⁶ x 1,024 = 4.1 GB) and one that fits
(``--fit-rows``).  Each is trained with ``physgen train`` in a child process for the same ``--steps`` and
batch: the large file with ``data.max_memory=--max-memory`` (streamed in shuffled chunks), the small one with
the default limit (in memory), both with the model's default ``data.transform`` unless ``--transform`` names
one.  The streamed path transforms each row every time it reads it, the in-memory path once before training,
so an expensive transform (e.g. ``--transform quantile`` on wide rows; ``auto`` standardises rows of more
than 64 features) weighs on the streamed throughput only.  Reported per run: the child's peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``), the training throughput (the samples of the steps between the
first and the last row of ``metrics.csv`` over the time between them, so the steps that read a new buffer
count; the median of the logged intervals beside it) and its ratio to the in-memory run.  The targets: peak
RSS <= 1.5 GB for the large file, and a throughput within 20% of the in-memory path.

    python benchmarks/large_data.py --dir /scratch/physgen-bench            # full size (4.1 GB file)
    python benchmarks/large_data.py --dir /tmp/bench --small                # 80 MB, a minute on one core
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np

CHILD = ("import json, resource, sys\n"
         "from physgen.cli import main\n"
         "code = main(sys.argv[1:])\n"
         "print('RESULT ' + json.dumps({'code': code, 'maxrss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))\n")


def write(path: Path, rows: int, features: int, *, seed: int, compression: str | None) -> float:
    """A continuous physgen dataset of ``rows`` x ``features`` standard-normal float32 values, written in blocks
    of whole-row chunks; returns the seconds it took."""
    from physgen.data.io import chunk_shape

    t = time.perf_counter()
    chunks = chunk_shape((rows, features), 4)
    block = chunks[0] * 16
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".partial")
    with h5py.File(tmp, "w") as f:
        d = f.create_dataset("samples", shape=(rows, features), dtype=np.float32, chunks=chunks,
                             compression=compression)
        for start in range(0, rows, block):
            stop = min(rows, start + block)
            d[start:stop] = rng.standard_normal((stop - start, features), dtype=np.float32)
        f.create_group("conditions")
        f.attrs["kind"], f.attrs["source"] = "continuous", "benchmark"
    os.replace(tmp, path)
    return time.perf_counter() - t


def train(data: Path, out: Path, args, *, max_memory: str | None) -> dict:
    """One ``physgen train`` child: its exit code, peak RSS, throughput and whether it streamed."""
    sets = [f"train.batch_size={args.batch}", "data.val_fraction=0", "train.checkpoint_interval=1e9",
            f"model.hidden={args.hidden}"]
    if max_memory is not None:
        sets.append(f"data.max_memory={max_memory}")
    if args.transform != "family":
        sets.append(f"data.transform={args.transform}")
    cmd = [sys.executable, "-c", CHILD, "train", args.model, "--data", str(data), "--out", str(out), "--overwrite",
           "--steps", str(args.steps), "--device", "cpu", "--no-progress", "--seed", "0"]
    for s in sets:
        cmd += ["--set", s]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not line:
        raise SystemExit(f"physgen train failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    result = json.loads(line[-1][len("RESULT "):])
    with open(out / "metrics.csv") as f:
        logged = [r for r in csv.DictReader(f) if r.get("samples_per_s")]
    rates = [float(r["samples_per_s"]) for r in logged]
    first, last = logged[0], logged[-1]
    steps, seconds = int(last["step"]) - int(first["step"]), float(last["time_s"]) - float(first["time_s"])
    summary = json.loads((out / "summary.json").read_text())
    return {"peak_rss_gb": result["maxrss_kb"] * 1024 / 1e9,
            "samples_per_s": steps * args.batch / seconds if steps > 0 and seconds > 0 else rates[-1],
            "median_samples_per_s": statistics.median(rates[1:] or rates),
            "wall_s": wall, "streamed": "streamed" in summary, "stream": summary.get("streamed")}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", required=True, type=Path, help="where the data files and runs are written")
    p.add_argument("--small", action="store_true", help="20,000 rows (80 MB) streamed with 16 MiB, 150 steps")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--fit-rows", type=int, default=100_000, help="rows of the file trained in memory")
    p.add_argument("--features", type=int, default=1024)
    p.add_argument("--max-memory", default="512MiB", help="data.max_memory of the streamed run")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--model", default="vae")
    p.add_argument("--hidden", default="256,256", help="model.hidden of the vae")
    p.add_argument("--transform", default="family",
                   help="'family' (default): the model's own data.transform (auto: quantile up to 64 features, "
                        "standardize on wider rows), or a data.transform for both runs, e.g. quantile")
    p.add_argument("--gzip", action="store_true", help="write the files gzip-compressed (default: uncompressed)")
    p.add_argument("--keep", action="store_true", help="keep the data files (default: delete them at the end)")
    args = p.parse_args(argv)
    if args.small:
        args.rows, args.fit_rows, args.max_memory, args.steps, args.batch = 20_000, 5_000, "16MiB", 150, 128
    args.dir.mkdir(parents=True, exist_ok=True)
    big, small = args.dir / "large.h5", args.dir / "fits.h5"
    compression = "gzip" if args.gzip else None
    rows = []
    try:
        secs = write(big, args.rows, args.features, seed=1, compression=compression)
        print(f"wrote {big} ({big.stat().st_size / 1e9:.2f} GB) in {secs:.0f} s", flush=True)
        secs = write(small, args.fit_rows, args.features, seed=2, compression=compression)
        print(f"wrote {small} ({small.stat().st_size / 1e9:.2f} GB) in {secs:.0f} s", flush=True)
        mem = train(small, args.dir / "run-memory", args, max_memory=None)
        stream = train(big, args.dir / "run-stream", args, max_memory=args.max_memory)
        if mem["streamed"] or not stream["streamed"]:
            raise SystemExit("the runs did not take the intended paths; adjust --fit-rows or --max-memory")
        for name, path, r in (("in memory", small, mem), ("streamed", big, stream)):
            rows.append((name, path.stat().st_size / 1e9, r))
    finally:
        if not args.keep:
            for f in (big, small):
                f.unlink(missing_ok=True)
    print(f"\n{args.model} (hidden {args.hidden}), batch {args.batch}, {args.steps} steps, {args.features} features, "
          f"data.transform={'the family default' if args.transform == 'family' else args.transform}, "
          f"streamed with data.max_memory={args.max_memory}; {os.cpu_count()} CPUs, "
          f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'} usable\n")
    print("| path | file (GB) | peak RSS (GB) | samples/s | vs in memory | median of logged intervals | wall (s) |")
    print("|---|---|---|---|---|---|---|")
    base = rows[0][2]["samples_per_s"]
    for name, size, r in rows:
        print(f"| {name} | {size:.2f} | {r['peak_rss_gb']:.2f} | {r['samples_per_s']:,.0f} | "
              f"{r['samples_per_s'] / base:.2f} | {r['median_samples_per_s']:,.0f} | {r['wall_s']:.0f} |")
    print(f"\nstreamed run: {json.dumps(rows[1][2]['stream'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
