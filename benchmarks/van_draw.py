"""What one training step of the data-free ``van`` costs: the ancestral draw and the scored pass, one MADE over the
lattice (``model.arch=made``) against the hierarchical network (``model.arch=han``, the default for the Ising
free energy), both with the family's other defaults (one hidden layer of 128 units, the direct weights, Z₂).

For each L of ``--sizes`` (default 16, 32, 64) and each network: the median over ``--repeat`` (default 5) of
the time of ``VAN.draw`` of ``--n`` (default 256, a step's draws) lattices, and of one scored pass with its
backward (log q of those lattices and the gradient of its mean), in this process with ``--threads`` (default 1)
torch threads.  Weights are the untrained ones: a draw's cost does not depend on their values.  Prints one
Markdown table with the load average before and after.

Usage::

    python benchmarks/van_draw.py
    python benchmarks/van_draw.py --sizes 32 --n 1024
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from exact_sampling import _cpu_model  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="16,32,64", help="comma list of L (default 16,32,64)")
    p.add_argument("--n", type=int, default=256, help="lattices per draw (default 256)")
    p.add_argument("--repeat", type=int, default=5, help="timed repetitions, the median reported (default 5)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    return p.parse_args(argv)


def timings(L: int, arch: str, n: int, repeat: int) -> dict:
    from physgen.models.base import DataSpec
    from physgen.models.van import VAN, VANConfig

    spec = DataSpec("spins", (L, L), None, ("temperature",), {"temperature": (2.269185,)})
    torch.manual_seed(0)
    model = VAN(VAN.resolve(VANConfig(objective="free-energy", arch=arch), spec), spec)
    c = model.cond(torch.full((n, 1), 2.269185))
    gen = torch.Generator().manual_seed(0)
    model.draw(8, c[:8], gen)                                   # warm-up
    draw, score = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        s = model.draw(n, c, gen)
        t1 = time.perf_counter()
        model.zero_grad()
        model.log_q(s, c).mean().backward()
        t2 = time.perf_counter()
        draw.append(t1 - t0)
        score.append(t2 - t1)
    return {"L": L, "arch": arch, "draw_s": statistics.median(draw), "score_s": statistics.median(score),
            "parameters": sum(p.numel() for p in model.parameters())}


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = [timings(int(L), arch, args.n, args.repeat) for L in args.sizes.split(",") for arch in ("made", "han")]
    print(f"{_cpu_model()}; {args.threads} thread(s); {args.n} lattices a draw; median of {args.repeat}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load {load} -> "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| L | network | parameters | draw s | draws per s | log q + backward s | step s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['L']} | {r['arch']} | {r['parameters']:,} | {r['draw_s']:.4f} | {args.n / r['draw_s']:,.0f} | "
              f"{r['score_s']:.4f} | {r['draw_s'] + r['score_s']:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
