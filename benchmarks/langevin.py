"""Langevin sampler overhead: physgen's ``ula`` versus a plain PyTorch loop of the same update.

Update (both): θ ← θ + (η/2) ∇log p(θ) + √η w on C parallel chains, gradients by ``torch.autograd.grad``.
Targets: (a) an analytic 2-D Gaussian with 4096 chains (cheap: exposes per-step Python overhead), (b) an
MLP energy 2-128-128-1 (SiLU) with 1024 chains (a neural EBM's inner loop), (c) a 16×16 lattice CNN energy
with 256 chains.  physgen is timed without diagnostics (the EBM-training setting) and with its default
recording (log-density trace + τ_int/ESS per chain at the end).  Reported: median steps/s of each path
over ``--repeats`` rounds (the order within a round rotates) and the overhead ``t_physgen / t_plain − 1``
of each round, as its median and spread (min … max), with the load average.  Target: ≤ 10% without
diagnostics.

    python benchmarks/langevin.py [--steps 200] [--repeats 5] [--device cpu] [--only cnn]

Intrinsic cost of physgen's path: two extra forward passes per run (the start-point check and the final
log-density) and the recording of the (C,) log-density per step.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch import nn

from physgen.samplers.langevin import ula


def plain_loop(log_prob, x0, eta, n_steps, generator):
    x = x0.clone()
    for _ in range(n_steps):
        xg = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(log_prob(xg).sum(), xg)
        x = x + 0.5 * eta * g + eta ** 0.5 * torch.randn(x.shape, generator=generator, device=x.device)
    return x


def targets(device):
    torch.manual_seed(0)
    prec = torch.tensor([[2.0, -1.0], [-1.0, 3.0]], device=device)
    gauss = lambda x: -0.5 * torch.einsum("ci,ij,cj->c", x, prec, x)
    mlp = nn.Sequential(nn.Linear(2, 128), nn.SiLU(), nn.Linear(128, 128), nn.SiLU(), nn.Linear(128, 1)).to(device)
    cnn = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, padding_mode="circular"), nn.SiLU(),
                        nn.Conv2d(16, 32, 3, stride=2, padding=1, padding_mode="circular"), nn.SiLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 1)).to(device)
    for p in list(mlp.parameters()) + list(cnn.parameters()):
        p.requires_grad_(False)
    return {"gaussian-2d x4096": (gauss, torch.randn(4096, 2, device=device)),
            "mlp-energy x1024": (lambda x: -mlp(x).squeeze(1), torch.randn(1024, 2, device=device)),
            "cnn-16x16 x256": (lambda x: -cnn(x[:, None]).squeeze(1), torch.randn(256, 16, 16, device=device))}


def timed(fn, device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--only", help="run only the target whose name starts with this (gaussian, mlp, cnn)")
    args = ap.parse_args()
    device, eta, n = torch.device(args.device), 0.05, args.steps
    print(f"Langevin steps/s, {n} steps, median of {args.repeats} rounds, device {device}, "
          f"threads {torch.get_num_threads()}")
    print(f"{'target':20s} {'plain':>8s} {'physgen':>8s} {'overhead: median (spread)':>28s} {'+diagnostics':>13s} "
          f"{'overhead: median (spread)':>28s}  load")
    for name, (lp, x0) in targets(device).items():
        if args.only and not name.startswith(args.only):
            continue
        runs = {"plain": [], "fast": [], "diag": []}
        loads = [os.getloadavg()[0]]
        for r in range(args.repeats):
            g = lambda: torch.Generator(device=device).manual_seed(r)
            calls = {"plain": lambda: plain_loop(lp, x0, eta, n, g()),
                     "fast": lambda: ula(lp, x0, step_size=eta, n_steps=n, generator=g(), diagnostics=False),
                     "diag": lambda: ula(lp, x0, step_size=eta, n_steps=n, generator=g())}
            keys = list(calls)[r % 3:] + list(calls)[:r % 3]             # rotate the order
            for k in keys:
                runs[k].append(timed(calls[k], device))
            loads.append(os.getloadavg()[0])
        over = {k: [a / b - 1 for a, b in zip(runs[k], runs["plain"])] for k in ("fast", "diag")}
        med = {k: statistics.median(v) for k, v in runs.items()}
        cell = {k: f"{statistics.median(v):+.1%} ({min(v):+.1%} … {max(v):+.1%})" for k, v in over.items()}
        print(f"{name:20s} {n / med['plain']:8.1f} {n / med['fast']:8.1f} {cell['fast']:>28s} "
              f"{n / med['diag']:13.1f} {cell['diag']:>28s}  {min(loads):.2f}-{max(loads):.2f}")


if __name__ == "__main__":
    main()
