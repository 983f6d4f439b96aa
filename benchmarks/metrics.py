"""Metrics speed: blockwise torch MMD vs a direct NumPy MMD with full pairwise matrices; C2ST timing;
peak memory of a 100k × 100k MMD.

Both MMDs compute the same quantity — the course's Gaussian MMD
``sqrt(max(0, mean Kxx + mean Kyy − 2 mean Kxy))`` with ``k = exp(−‖a−b‖²/(2 D̄))`` — on the same
10k vs 10k samples, measured in the same run and interleaved ``--repeat`` times (median times), for
3 and 256 features.  The NumPy reference builds three dense ``N×N`` matrices from
``‖a‖² + ‖b‖² − 2 a·b`` and ``np.exp`` (≈ 800 MB each at 10k in float64), run twice: in float64 (the
textbook version) and in float32 (equal precision with physgen's default).  physgen evaluates blocks
of 1024 rows in float32 with float64 accumulation (``--dtype float64``: float64 blocks).  Both ratios
are printed, with the load average.

The 100k × 100k MMD runs in a fresh subprocess so that its peak resident memory (``VmHWM`` of
/proc/self/status, whole process incl. Python and torch; ``resource.getrusage`` where /proc is missing)
is its own.

    OMP_NUM_THREADS=1 python benchmarks/metrics.py               # CPU, one thread
    python benchmarks/metrics.py --device cuda                    # GPU run of the torch side
    python benchmarks/metrics.py --skip-100k --n 4000             # quick
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

from physgen.metrics.c2st import c2st_auc
from physgen.metrics.mmd import mmd


def numpy_mmd(x: np.ndarray, y: np.ndarray) -> float:
    """The same course MMD with full pairwise matrices, in the dtype of ``x`` and ``y``."""
    dbar = x.dtype.type(2.0 * x.var(axis=0, dtype=np.float64).sum())

    def mean_k(a, b):
        sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
        np.maximum(sq, 0.0, out=sq)
        return float(np.exp(-sq / (2.0 * dbar)).mean())
    return float(np.sqrt(max(0.0, mean_k(x, x) + mean_k(y, y) - 2.0 * mean_k(x, y))))


def _timed(fn) -> tuple[float, float]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def bench_mmd(n: int, d: int, repeat: int, device: str, dtype: torch.dtype) -> dict:
    rng = np.random.default_rng(d)
    x, y = rng.normal(size=(n, d)), rng.normal(0.05, 1.0, size=(n, d))
    tx, ty = torch.as_tensor(x, device=device), torch.as_tensor(y, device=device)
    mmd(tx[:256], ty[:256], dtype=dtype)                                      # warm-up
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    t_ref, t_ref32, t_torch, v_ref, v_torch = [], [], [], 0.0, 0.0
    loads = [os.getloadavg()[0]]
    for _ in range(repeat):
        t, v_ref = _timed(lambda: numpy_mmd(x, y))
        t_ref.append(t)
        t_ref32.append(_timed(lambda: numpy_mmd(x32, y32))[0])
        t, v_torch = _timed(lambda: _sync(mmd(tx, ty, dtype=dtype), device))
        t_torch.append(t)
        loads.append(os.getloadavg()[0])
    ref, ref32, ours = statistics.median(t_ref), statistics.median(t_ref32), statistics.median(t_torch)
    return {"n": n, "d": d, "numpy_s": ref, "numpy32_s": ref32, "physgen_s": ours, "speedup": ref / ours,
            "speedup32": ref32 / ours, "mmd_numpy": v_ref, "mmd_physgen": v_torch,
            "rel_diff": abs(v_ref - v_torch) / v_ref, "load": (min(loads), max(loads))}


def _sync(value, device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
    return value


def bench_c2st(n: int, d: int) -> dict:
    rng = np.random.default_rng(100 + d)
    x, y = rng.normal(size=(n, d)), rng.normal(0.05, 1.0, size=(n, d))
    t, est = _timed(lambda: c2st_auc(x, y, seed=0))
    return {"n": n, "d": d, "seconds": t, "auc": est.value, "auc_error": est.error}


def big_mmd_child(n: int, d: int, device: str) -> None:
    """Run in a subprocess: one n × n MMD, print seconds and peak RSS as JSON."""
    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.normal(size=(n, d)).astype(np.float32), device=device)
    y = torch.as_tensor(rng.normal(0.01, 1.0, size=(n, d)).astype(np.float32), device=device)
    t, v = _timed(lambda: _sync(mmd(x, y), device))
    gpu_mb = torch.cuda.max_memory_allocated() / 2 ** 20 if str(device).startswith("cuda") else None
    print(json.dumps({"n": n, "d": d, "seconds": t, "mmd": v, "peak_rss_mb": peak_rss_mb(), "peak_gpu_mb": gpu_mb}))


def peak_rss_mb() -> float:
    """Peak resident memory of this process image: VmHWM (reset by exec), else ru_maxrss.

    ``ru_maxrss`` alone is not enough in a child: Linux carries the parent's high-water mark across
    fork + exec, so after the dense NumPy reference it would report the parent's gigabytes.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0      # Linux: kilobytes


def bench_big(n: int, d: int, device: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child-big", str(n), "--dims", str(d), "--device", device],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--dims", type=int, nargs="+", default=[3, 256])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--big-n", type=int, default=100_000)
    p.add_argument("--skip-100k", action="store_true")
    p.add_argument("--only-100k", action="store_true", help="run only the large-N memory check")
    p.add_argument("--child-big", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child_big:
        return big_mmd_child(args.child_big, args.dims[0], args.device)
    dtype = getattr(torch, args.dtype)
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {args.device}, dtype {args.dtype}")
    for d in [] if args.only_100k else args.dims:
        r = bench_mmd(args.n, d, args.repeat, args.device, dtype)
        print(f"MMD  {r['n']}x{r['n']} d={d:<4} numpy float64 {r['numpy_s']:.2f} s, float32 {r['numpy32_s']:.2f} s;"
              f"  physgen {args.dtype} {r['physgen_s']:.3f} s;  speedup {r['speedup']:.1f}x vs float64, "
              f"{r['speedup32']:.1f}x vs float32  (values {r['mmd_numpy']:.6g} / {r['mmd_physgen']:.6g}, "
              f"rel diff {r['rel_diff']:.1e}; load {r['load'][0]:.2f}-{r['load'][1]:.2f})")
    for d in [] if args.only_100k else args.dims:
        r = bench_c2st(args.n, d)
        print(f"C2ST {r['n']} vs {r['n']} d={d:<4} {r['seconds']:.2f} s  AUC {r['auc']:.4f} ± {r['auc_error']:.4f}")
    if not args.skip_100k:
        r = bench_big(args.big_n, 3, args.device)
        print(f"MMD  {r['n']}x{r['n']} d=3   {r['seconds']:.1f} s  peak RSS {r['peak_rss_mb']:.0f} MB"
              + (f"  peak GPU {r['peak_gpu_mb']:.0f} MB" if r["peak_gpu_mb"] is not None else "")
              + f"  (MMD {r['mmd']:.6g})")


if __name__ == "__main__":
    main()
