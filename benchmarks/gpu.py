"""GPU speed of physgen's CUDA paths, each against the CPU in the same run.

One command measures, on ``cuda`` and on the CPU:

* **Ising** — checkerboard Metropolis flips per nanosecond (L = ``--ising-size``; ``--ising-chains`` chains on
  the GPU, ``--ising-cpu-chains`` on the CPU; h = 0, the 40-bit fast path); the target on an H100 is
  >= 100 flips/ns;
* **RBM** — PCD-1 training samples/s (500 hidden units, batch 64, 64 persistent chains, SGD lr 0.1 on
  binarised digits upsampled to 24 x 24), with scikit-learn's ``BernoulliRBM`` (same settings, CPU) as the
  reference;
* **DDPM** — training steps/s (MLP, batch ``--ddpm-batch``) and sampling events/s (``--ddpm-samples`` events,
  T = ``--ddpm-timesteps`` ancestral steps) on 2-D data;
* **MMD** — seconds for one ``--mmd-n`` x ``--mmd-n`` MMD (the course's Gaussian MMD, blocks of float32
  with float64 accumulation) in ``--mmd-d`` dimensions.

Without CUDA it prints one line saying so and exits 0; ``--cpu-only`` measures the CPU column alone.  GPU
times are taken after ``torch.cuda.synchronize()``.  Prints a Markdown table with the device names, the
torch version and the CPU thread count.

    python benchmarks/gpu.py                   # on a GPU machine (a few minutes)
    python benchmarks/gpu.py --cpu-only --quick
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from physgen.data.ising import CheckerboardMetropolis  # noqa: E402
from physgen.metrics.mmd import mmd  # noqa: E402
from physgen.models.base import DataSpec  # noqa: E402
from physgen.models.registry import build  # noqa: E402


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _rate(fn, device: str, seconds: float) -> tuple[float, int]:
    """Calls of ``fn()`` (each doing one unit of work) until ``seconds`` pass: (units per second, units)."""
    fn()
    _sync(device)
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        if n % 4 == 0 or n < 4:
            _sync(device)
            dt = time.perf_counter() - t0
            if dt >= seconds:
                return n / dt, n


# --------------------------------------------------------------------------------------------- the four figures
def ising_flips_per_ns(device: str, L: int, chains: int, seconds: float) -> float:
    spins = torch.from_numpy((2 * np.random.default_rng(0).integers(0, 2, (chains, L, L)) - 1).astype(np.int8))
    eng = CheckerboardMetropolis(spins.to(device), np.full(chains, 1 / 2.269), seed=1)
    sweeps, _ = _rate(lambda: eng.sweep(4), device, seconds)
    return sweeps * 4 * chains * L * L / 1e9


def _digits() -> np.ndarray:
    from rbm import upsampled_digits

    return upsampled_digits(3)


def rbm_pcd_samples_per_s(device: str, epochs: int) -> float:
    from physgen.models.rbm import RBM, RBMConfig

    x = torch.tensor(_digits(), dtype=torch.float32, device=device)
    torch.manual_seed(0)
    model = RBM(RBMConfig(n_hidden=500, method="pcd", k=1, n_chains=64, monitor_every=10 ** 9),
                DataSpec("binary", (x.shape[1],))).to(device)
    g = torch.Generator(device=device).manual_seed(0)
    model.on_fit_start({"x": x}, resumed=False, generator=g)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    _sync(device)
    t = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g, device=device)
        for i in range(0, len(x), 64):
            opt.zero_grad(set_to_none=True)
            model.gradients({"x": x.index_select(0, perm[i:i + 64])}, generator=g)
            opt.step()
    _sync(device)
    return len(x) * epochs / (time.perf_counter() - t)


def sklearn_rbm_samples_per_s(epochs: int) -> float:
    from rbm import sklearn_rbm

    return sklearn_rbm(_digits().astype(np.float32), epochs, 0)[0]


def _ddpm(device: str, timesteps: int):
    torch.manual_seed(0)
    model = build("ddpm", {"timesteps": timesteps, "width": 256, "blocks": 3, "emb_dim": 128},
                  DataSpec("continuous", (2,))).to(device)
    rng = np.random.default_rng(0)
    x = torch.as_tensor((rng.standard_normal((20000, 2)) * 0.5 + rng.integers(0, 2, (20000, 1)) * 3 - 1.5)
                        .astype(np.float32), device=device)
    model.on_fit_start({"x": x}, resumed=False, generator=None)
    return model, x


def ddpm_train_steps_per_s(device: str, batch: int, timesteps: int, seconds: float) -> float:
    model, x = _ddpm(device, timesteps)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator(device=device).manual_seed(0)

    def step():
        idx = torch.randint(len(x), (batch,), generator=g, device=device)
        loss, _ = model.loss({"x": x.index_select(0, idx)}, generator=g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return _rate(step, device, seconds)[0]


def ddpm_sample_events_per_s(device: str, n: int, timesteps: int) -> float:
    model, _ = _ddpm(device, timesteps)
    model.eval()
    g = torch.Generator(device=device).manual_seed(1)
    with torch.no_grad():
        model.sample(min(n, 256), generator=g)               # warm-up
        _sync(device)
        t = time.perf_counter()
        model.sample(n, generator=g)
        _sync(device)
    return n / (time.perf_counter() - t)


def mmd_seconds(device: str, n: int, d: int) -> float:
    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.normal(size=(n, d)).astype(np.float32), device=device)
    y = torch.as_tensor(rng.normal(0.01, 1.0, size=(n, d)).astype(np.float32), device=device)
    mmd(x[:512], y[:512])
    _sync(device)
    t = time.perf_counter()
    mmd(x, y)
    _sync(device)
    return time.perf_counter() - t


# --------------------------------------------------------------------------------------------- the table
def measure(device: str, args, *, cpu: bool) -> dict[str, float]:
    chains = args.ising_cpu_chains if cpu else args.ising_chains
    out = {}
    print(f"  {device}: Ising ...", file=sys.stderr, flush=True)
    out["ising"] = ising_flips_per_ns(device, args.ising_size, chains, args.seconds)
    print(f"  {device}: RBM ...", file=sys.stderr, flush=True)
    out["rbm"] = rbm_pcd_samples_per_s(device, args.rbm_epochs)
    print(f"  {device}: DDPM ...", file=sys.stderr, flush=True)
    out["ddpm_train"] = ddpm_train_steps_per_s(device, args.ddpm_batch, args.ddpm_timesteps, args.seconds)
    out["ddpm_sample"] = ddpm_sample_events_per_s(device, args.ddpm_samples, args.ddpm_timesteps)
    print(f"  {device}: MMD ...", file=sys.stderr, flush=True)
    out["mmd"] = mmd_seconds(device, args.mmd_n, args.mmd_d)
    return out


ROWS = [("ising", "Ising Metropolis, flips/ns (L = {ising_size}; chains: GPU {ising_chains}, CPU {ising_cpu_chains})",
         "{:.2f}", True),
        ("rbm", "RBM PCD-1 training, samples/s (500 hidden, batch 64)", "{:,.0f}", True),
        ("ddpm_train", "DDPM training, steps/s (batch {ddpm_batch}, MLP 256 x 3)", "{:,.1f}", True),
        ("ddpm_sample", "DDPM sampling, events/s ({ddpm_samples} events, T = {ddpm_timesteps})", "{:,.0f}", True),
        ("mmd", "MMD {mmd_n:,} x {mmd_n:,} (d = {mmd_d}), seconds", "{:.2f}", False)]


def table(cpu: dict, gpu: dict | None, sklearn: float | None, args) -> str:
    lines = ["| measurement | CPU | GPU | GPU / CPU |", "|---|---|---|---|"]
    for key, label, fmt, higher_better in ROWS:
        c, g = cpu[key], (gpu or {}).get(key)
        ratio = "" if g is None else f"{(g / c if higher_better else c / g):.1f}x"
        lines.append(f"| {label.format(**vars(args))} | {fmt.format(c)} | {'' if g is None else fmt.format(g)} | {ratio} |")
    if sklearn is not None:
        lines.append(f"| scikit-learn BernoulliRBM (CPU), samples/s | {sklearn:,.0f} | | |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cpu-only", action="store_true", help="measure the CPU column alone (no GPU needed)")
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke test of the script)")
    p.add_argument("--device", default="cuda", help="the GPU device (default cuda)")
    p.add_argument("--seconds", type=float, default=5.0, help="seconds per rate measurement")
    p.add_argument("--ising-size", type=int, default=256)
    p.add_argument("--ising-chains", type=int, default=1024)
    p.add_argument("--ising-cpu-chains", type=int, default=16)
    p.add_argument("--rbm-epochs", type=int, default=5)
    p.add_argument("--ddpm-batch", type=int, default=1024)
    p.add_argument("--ddpm-timesteps", type=int, default=500)
    p.add_argument("--ddpm-samples", type=int, default=10000)
    p.add_argument("--mmd-n", type=int, default=100_000)
    p.add_argument("--mmd-d", type=int, default=16)
    args = p.parse_args(argv)
    if not args.cpu_only and not torch.cuda.is_available():
        print("benchmarks/gpu.py: no CUDA device here, nothing measured (--cpu-only measures the CPU column)")
        return 0
    if args.quick:
        args.seconds, args.ising_size, args.ising_chains, args.ising_cpu_chains = 0.5, 64, 64, 4
        args.rbm_epochs, args.ddpm_batch, args.ddpm_timesteps, args.ddpm_samples = 1, 128, 50, 500
        args.mmd_n, args.mmd_d = 4000, 4
    gpu_name = None if args.cpu_only else torch.cuda.get_device_name(torch.device(args.device))
    print(f"physgen GPU benchmark: torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} CPU threads, GPU: {gpu_name or 'not measured'}; load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    gpu = None if args.cpu_only else measure(args.device, args, cpu=False)
    cpu = measure("cpu", args, cpu=True)
    print("  scikit-learn RBM ...", file=sys.stderr, flush=True)
    sklearn = sklearn_rbm_samples_per_s(args.rbm_epochs)
    print(table(cpu, gpu, sklearn, args))
    if gpu is not None:
        verdict = "met" if gpu["ising"] >= 100 else "not met"
        print(f"\nIsing target >= 100 flips/ns on the GPU: {gpu['ising']:.1f} flips/ns ({verdict}); "
              f"RBM: {gpu['rbm'] / sklearn:.1f}x scikit-learn")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
