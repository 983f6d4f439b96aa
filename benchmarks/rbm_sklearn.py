"""The whole ``physgen train rbm`` command against scikit-learn's ``BernoulliRBM.fit`` on a large binary problem.

The data: 19,000 × 576 binary rows, made deterministically from the binarized 8×8 digits upsampled to 24×24
(``rbm.upsampled_digits``), cycled to 19,000 rows with 2% of the pixels flipped (seed 0); the last 1,900 rows
are held out for the quality measure.  physgen: ``physgen train rbm --data D --set model.n_hidden=500 --set
train.batch_size=64 --epochs E`` in a child process (its defaults otherwise: PCD-1, SGD with momentum, float32
parameters with bfloat16 products where oneDNN has bfloat16 kernels, ``train.matmul_precision=medium``, its own
10% held-out split), and again with ``train.matmul_precision=highest`` (float32 products), each timed whole
(process start to exit) beside its ``summary.json`` ``loop_s`` and ``checks_s``.  The CPU seconds of each
(the child's user + system time; the fit's process time) are printed beside the wall times: on a core
shared with other jobs the wall time measures the load as much as the program.  scikit-learn:
``BernoulliRBM(n_components=500, batch_size=64, n_iter=E, random_state=0).fit`` on the same training rows,
float64 (its default) and float32.  Both get ``--threads`` threads (torch and BLAS).  Quality of both: the mean
pseudo-log-likelihood of the held-out rows (scikit-learn's ``score_samples`` estimator, one flipped unit
per row, float64) and their reconstruction error (squared error of ``E[v | h = p(h|v)]``).

    OMP_NUM_THREADS=1 taskset -c 1 python benchmarks/rbm_sklearn.py --threads 1
    python benchmarks/rbm_sklearn.py --threads 2 --epochs 12
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rbm import upsampled_digits  # noqa: E402

ROWS, HELD_OUT = 19_000, 1_900


def dataset() -> np.ndarray:
    """``(19000, 576)`` uint8 rows in {0, 1}, the same on every machine."""
    x = upsampled_digits(3)
    rows = x[np.arange(ROWS) % len(x)]
    flip = np.random.default_rng(0).random(rows.shape) < 0.02
    return np.where(flip, 1 - rows, rows).astype(np.uint8)


def quality(W: np.ndarray, a: np.ndarray, b: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """(mean pseudo-log-likelihood, mean reconstruction error) of rows ``x`` under weights ``W (n, m)``, visible
    bias ``a (n,)``, hidden bias ``b (m,)`` in float64 (Besag 1975; the estimator of scikit-learn)."""
    W, a, b, x = (np.asarray(t, np.float64) for t in (W, a, b, x))

    def free(v):
        return -v @ a - np.logaddexp(0, v @ W + b).sum(1)
    i = np.random.default_rng(1).integers(x.shape[1], size=len(x))
    flipped = x.copy()
    flipped[np.arange(len(x)), i] = 1 - flipped[np.arange(len(x)), i]
    pl = x.shape[1] * -np.logaddexp(0, -(free(flipped) - free(x)))
    h = 1 / (1 + np.exp(-(x @ W + b)))
    recon = 1 / (1 + np.exp(-(h @ W.T + a)))
    return float(pl.mean()), float(((x - recon) ** 2).sum(1).mean())


def run_physgen(data: Path, out: Path, args, precision: str | None = None) -> dict:
    """The whole command with its defaults, or with ``train.matmul_precision=precision`` set."""
    cmd = [sys.executable, "-m", "physgen", "train", "rbm", "--data", str(data), "--out", str(out), "--overwrite",
           "--set", "model.n_hidden=500", "--set", "train.batch_size=64", "--epochs", str(args.epochs),
           "--no-progress", "--device", "cpu", "--seed", "0"]
    cmd += ["--set", f"train.matmul_precision={precision}"] if precision else []
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    t, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall, after = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode:
        raise SystemExit(f"physgen train failed: {proc.stderr.strip()[-2000:]}")
    summary = json.loads((out / "summary.json").read_text())
    from safetensors.numpy import load_file
    latest = sorted((out / "checkpoints").glob("step-*.safetensors"))[-1]
    t_ = load_file(str(latest))
    W, a, b = t_["model.W"][0], t_["model.a"][0], t_["model.b"][0]
    return {"wall": wall, "cpu": cpu, "summary": summary, "weights": (W, a, b), "stdout": proc.stdout.strip()}


def run_sklearn(x: np.ndarray, dtype, args) -> dict:
    from sklearn.neural_network import BernoulliRBM
    from threadpoolctl import threadpool_limits
    rbm = BernoulliRBM(n_components=500, batch_size=64, n_iter=args.epochs, random_state=0)
    with threadpool_limits(args.threads):
        t, c = time.perf_counter(), time.process_time()
        rbm.fit(x.astype(dtype))
        wall, cpu = time.perf_counter() - t, time.process_time() - c
    return {"wall": wall, "cpu": cpu, "weights": (rbm.components_.T, rbm.intercept_visible_, rbm.intercept_hidden_)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=12)
    args = p.parse_args()
    x = dataset()
    train_rows, held = x[:ROWS - HELD_OUT], x[ROWS - HELD_OUT:]
    from physgen.data import Dataset, save
    from physgen.models.nets import cpu_has_bf16_kernels
    default_products = "bfloat16" if cpu_has_bf16_kernels() else "float32"
    pg = {}
    with tempfile.TemporaryDirectory() as tmp:
        save(Dataset(train_rows, "binary", attrs={"source": "benchmark"}), f"{tmp}/d.h5")
        for label, precision in ((f"defaults: {default_products} products", None),
                                 ("train.matmul_precision=highest: float32 products", "highest")):
            pg[label] = run_physgen(Path(f"{tmp}/d.h5"), Path(f"{tmp}/run"), args, precision)
    sk = {"float64": run_sklearn(train_rows, np.float64, args), "float32": run_sklearn(train_rows, np.float32, args)}
    print(f"data {x.shape} binary ({len(train_rows)} training rows, {len(held)} held out), {args.epochs} epochs, "
          f"{args.threads} thread(s), load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("| implementation | precision | wall s | CPU s | held-out pseudo-likelihood | held-out reconstruction error |")
    print("|---|---|---|---|---|---|")
    for label, r in pg.items():
        s = r["summary"]
        pl, rec = quality(*r["weights"], held)
        print(f"| physgen train rbm (whole command; loop {s.get('loop_s', float('nan')):.1f} s, checks "
              f"{s.get('checks_s', float('nan')):.1f} s, summary wall {s['wall_time_s']:.1f} s) | float32 parameters, "
              f"{label} | {r['wall']:.1f} | {r['cpu']:.1f} | {pl:.2f} | {rec:.2f} |")
    for name, r in sk.items():
        pl, rec = quality(*r["weights"], held)
        print(f"| scikit-learn BernoulliRBM.fit | {name} | {r['wall']:.1f} | {r['cpu']:.1f} | {pl:.2f} | {rec:.2f} |")
    print()
    for label, r in pg.items():
        print(f"physgen whole command ({label}) / scikit-learn fit: {r['wall'] / sk['float64']['wall']:.2f}x "
              f"(float64), {r['wall'] / sk['float32']['wall']:.2f}x (float32); CPU time: "
              f"{r['cpu'] / sk['float64']['cpu']:.2f}x (float64), {r['cpu'] / sk['float32']['cpu']:.2f}x (float32)")
    print(next(iter(pg.values()))["stdout"])


if __name__ == "__main__":
    main()
