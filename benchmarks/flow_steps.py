"""CPU time per training step of ``flow`` and ``flow-matching`` with their defaults, the basis of their step budgets.

For each family and data kind (tt̄ (s, t, y); L = 16 Ising lattices conditioned on temperature) the model is
built with its default model options, and ``--steps`` optimizer steps (Adam) on a fixed batch of the default
batch size are timed with ``time.process_time`` after three warm-up steps; the budget that one core trains
in 300 s follows.  Run with one thread::

    OMP_NUM_THREADS=1 python benchmarks/flow_steps.py [--steps 30]
"""
from __future__ import annotations

import argparse
import time

import torch

from physgen.config import from_dict
from physgen.models import registry
from physgen.models.base import DataSpec

SPECS = {"ttbar": DataSpec("continuous", (3,), ("s", "t", "y")),
         "ising": DataSpec("spins", (16, 16), None, ("temperature",), {"temperature": (1.8, 2.27, 3.0)})}


def per_step(name: str, spec: DataSpec, steps: int) -> tuple[float, int, int]:
    """(CPU seconds per step, the default batch size, the default step budget) of ``name`` on ``spec``."""
    cls = registry.get(name)
    defaults = cls.defaults(spec)
    model = cls(from_dict(cls.config_class, defaults.get("model", {}), "model"), spec)
    batch_size = int(defaults["train"]["batch_size"])
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch_size, *spec.shape, generator=g)
    batch = {"x": x.sign() if spec.kind == "spins" else x}
    if spec.condition_names:
        batch["cond"] = torch.tensor(spec.condition_values["temperature"]).repeat(batch_size)[:batch_size, None]
    opt = torch.optim.Adam(model.parameters(), 1e-3)

    def step():
        loss, _ = model.loss(batch, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    t0 = time.process_time()
    for _ in range(steps):
        step()
    return (time.process_time() - t0) / steps, batch_size, int(defaults["train"]["steps"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=30, help="timed steps per case (default 30)")
    args = p.parse_args()
    torch.set_num_threads(1)
    print("| family | data | batch | CPU ms/step | steps in 300 s | default steps |")
    print("|---|---|---|---|---|---|")
    for name in ("flow", "flow-matching"):
        for data, spec in SPECS.items():
            dt, b, default = per_step(name, spec, args.steps if data == "ttbar" else max(1, args.steps // 3))
            print(f"| {name} | {data} | {b} | {1000 * dt:.1f} | {300 / dt:,.0f} | {default:,} |")


if __name__ == "__main__":
    main()
