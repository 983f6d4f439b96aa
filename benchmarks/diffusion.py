"""DDPM, DDIM and DPM-Solver++ sampling: time per sample and quality, on one trained ``ddpm`` run.

For each reverse process — DDPM ancestral over all T steps, respaced DDPM (fewer steps, η = 1), DDIM
(η = 0) with 100/50/20/10 steps, DPM-Solver++(2M) with 50/20/10 steps and its SDE variant with 50/20 — draw
``--n`` samples with each of ``--seeds`` sampling seeds, time
them (median over the seeds), and measure the mean per-feature histogram KL(real‖fake)
(:func:`physgen.metrics.divergences.kl_divergence`, 50 bins) and the mean per-feature W1 against the
real data, as mean ± standard deviation over the seeds, next to the real-vs-real floor (two disjoint
halves).  "Equal quality" = mean KL within ``--tolerance`` × the full DDPM's mean KL; the script prints
the fastest setting that reaches it, its speed-up per sample over full DDPM, and whether the KL of
every seed of that setting stays within the tolerance of the DDPM's worst seed.

Without ``--run`` it first trains a small DDPM (T = 500) on a 2-D Gaussian mixture for ``--train-steps``.

    python benchmarks/diffusion.py [--run RUN --data REAL.h5] [--n 5000] [--seeds 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch

from physgen.metrics.divergences import kl_divergence
from physgen.metrics.wasserstein import wasserstein
from physgen.models.base import DataSpec
from physgen.models.registry import build

SETTINGS = [("ddpm", None), ("ddpm", 100), ("ddim", 100), ("ddim", 50), ("ddim", 20), ("ddim", 10),
            ("dpm-solver++", 50), ("dpm-solver++", 20), ("dpm-solver++", 10), ("sde-dpm-solver++", 50),
            ("sde-dpm-solver++", 20)]


def toy_model(train_steps: int):
    """A DDPM trained here on a 2-D mixture; returns (sample_fn(n, seed, sampler, steps), real data)."""
    rng = np.random.default_rng(0)
    k = rng.integers(0, 3, 20000)
    real = (np.array([[-1.5, 0.0], [1.5, 0.0], [0.0, 2.0]])[k] + 0.4 * rng.standard_normal((20000, 2))).astype(np.float32)
    torch.manual_seed(0)
    model = build("ddpm", {"timesteps": 500, "width": 128, "blocks": 3, "emb_dim": 64}, DataSpec("continuous", (2,)))
    x = torch.as_tensor(real)
    model.on_fit_start({"x": x}, resumed=False, generator=None)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(train_steps):
        g = torch.Generator().manual_seed(step)
        loss, _ = model.loss({"x": x[torch.randint(len(x), (256,), generator=g)]}, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()

    def sample(n, seed, sampler, steps):
        return model.sample(n, generator=torch.Generator().manual_seed(seed), sampler=sampler, steps=steps).numpy()
    return sample, real, 500


def run_model(run_dir: str, data: str):
    from physgen.data import load
    from physgen.training import load_run

    run = load_run(run_dir, device="cpu")
    real = load(data).samples.reshape(len(load(data)), -1)

    def sample(n, seed, sampler, steps):
        kw = {"sampler": sampler} | ({"steps": steps} if steps else {})
        return run.sample(n, seed=seed, **kw).samples.reshape(n, -1)
    return sample, real, run.model.config.timesteps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run")
    ap.add_argument("--data")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--seeds", type=int, default=5, help="sampling seeds per setting (1, 2, ...)")
    ap.add_argument("--train-steps", type=int, default=2000)
    ap.add_argument("--tolerance", type=float, default=1.2)
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    sample, real, T = run_model(args.run, args.data) if args.run else toy_model(args.train_steps)
    half = len(real) // 2
    floor = kl_divergence(real[:half], real[half:]).mean()
    ref = real[:half]
    print(f"T = {T}, n = {args.n}, {args.seeds} seeds, threads {torch.get_num_threads()}; "
          f"KL floor (real vs real) {floor:.4f}")
    print(f"{'sampler':16s} {'steps':>6s} {'ms/sample':>10s} {'KL mean ± sd':>18s} {'W1 mean ± sd':>18s}")
    rows = []
    for sampler, steps in SETTINGS:
        times, kls, w1s = [], [], []
        for seed in range(1, args.seeds + 1):
            t0 = time.perf_counter()
            fake = sample(args.n, seed, sampler, steps)
            times.append(time.perf_counter() - t0)
            kls.append(float(kl_divergence(ref, fake).mean()))
            w1s.append(float(wasserstein(ref, fake).mean()))
        ms = 1e3 * statistics.median(times) / args.n
        sd = (lambda v: statistics.stdev(v) if len(v) > 1 else float("nan"))
        rows.append((sampler, steps or T, ms, statistics.mean(kls), kls))
        print(f"{sampler:16s} {steps or T:6d} {ms:10.4f} {statistics.mean(kls):9.4f} ± {sd(kls):.4f} "
              f"{statistics.mean(w1s):9.4f} ± {sd(w1s):.4f}")
    print(f"load {load0:.2f} at the start, {os.getloadavg()[0]:.2f} at the end")
    base = rows[0]
    ok = [r for r in rows[1:] if r[3] <= args.tolerance * base[3]]
    if ok:
        best = min(ok, key=lambda r: r[2])
        every = max(best[4]) <= args.tolerance * max(base[4])
        print(f"equal quality (mean KL <= {args.tolerance} x DDPM's {base[3]:.4f}, over {args.seeds} seeds): "
              f"{best[0]} with {best[1]} steps, {base[2] / best[2]:.1f}x faster per sample than DDPM with {T} "
              f"steps; its worst seed {'is' if every else 'is NOT'} within {args.tolerance} x the DDPM's worst "
              f"({max(best[4]):.4f} vs {max(base[4]):.4f})")
    else:
        print("no faster setting reached the DDPM's quality")


if __name__ == "__main__":
    main()
