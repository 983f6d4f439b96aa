"""The exact KL of tests/test_rbm_ising.py::test_exact_kl_of_a_dense_rbm_with_the_default_training over training
seeds and over torch's CPU kernels: the test's command (20,000 exact 4×4 samples at T = 2.5, a dense spin RBM
with 16 hidden units, physgen's training defaults, 10,000 steps) with ``--seed`` 0 … N−1, each run once per
kernel set that this CPU can run (``ATEN_CPU_CAPABILITY=avx2``, and ``avx512`` where the CPU has it: bfloat16
products follow ``train.matmul_precision="medium"`` only there).  Prints one JSON line per run and a summary
per capability: KL of the ``best`` checkpoint (what ``physgen sample`` loads) and of the latest one.

    OMP_NUM_THREADS=1 python benchmarks/rbm_kl_seeds.py --seeds 20          # ≈ 10 s a run on one core
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

ONE_RUN = """
import json, sys
sys.path.insert(0, {tests!r})
from test_rbm_ising import exact_ising_file, kl_exact
import numpy as np, torch
from physgen.cli import main
from physgen.models.rbm.partition import exact_log_prob_all
from physgen.physics.exact import ExactIsing
from physgen.training import load_run
data, out, seed = {data!r}, {out!r}, {seed}
code = main(["train", "rbm", "--data", data, "--out", out, "--set", "model.filters=0", "--set", "model.n_hidden=16",
             "--steps", "10000", "--seed", str(seed), "--no-progress"])
p = ExactIsing(4, 2.5).probabilities
q = exact_log_prob_all(load_run(out, which="latest").model.energy(0).detach()).numpy()
summary = json.load(open(out + "/summary.json"))
print(json.dumps({{"capability": torch.backends.cpu.get_cpu_capability(), "seed": seed, "kl_best": kl_exact(out),
                  "kl_latest": float(np.sum(p * (np.log(p) - q))),
                  "best_step": summary["validation"]["best_step"]}}))
"""


def capabilities() -> list[str]:
    flags = set(Path("/proc/cpuinfo").read_text().split()) if Path("/proc/cpuinfo").exists() else set()
    return ["avx2"] + (["avx512"] if "avx512f" in flags else [])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--json", type=Path, help="write the rows here")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from test_rbm_ising import exact_ising_file

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = str(exact_ising_file(Path(tmp) / "ising.h5"))
        for cap in capabilities():
            for seed in range(args.seeds):
                out = str(Path(tmp) / f"{cap}-{seed}")
                code = ONE_RUN.format(tests=str(ROOT / "tests"), data=data, out=out, seed=seed)
                env = {**os.environ, "ATEN_CPU_CAPABILITY": cap}
                done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
                row = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(json.dumps(row), flush=True)
    for cap in sorted({r["capability"] for r in rows}):
        for key in ("kl_best", "kl_latest"):
            v = np.array([r[key] for r in rows if r["capability"] == cap])
            print(f"{cap} {key}: mean {v.mean():.4f} sd {v.std(ddof=1):.4f} max {v.max():.4f} "
                  f"({(0.05 - v.mean()) / v.std(ddof=1):.1f} sd below the bound 0.05)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
