"""Trainer overhead: physgen's Trainer versus a hand-written PyTorch loop on the same model and data.

Model: a 784-512-784 MLP autoencoder (MSE loss), Adam, batch 64, binary data, CPU by default.
Both loops do the same optimizer steps in the same data order; the Trainer additionally checks the loss
for NaN every step, keeps the progress/metrics bookkeeping, seeds a generator per step and writes the
initial and final checkpoints.  Reported: steady-state loop time (first batch to last batch, from the
trainer's callbacks) and end-to-end ``fit()`` time, each as a ratio to the hand-written loop (best of
``--repeats`` interleaved runs).  Target: loop ratio <= 1.05.

    python benchmarks/trainer_overhead.py [--steps 300] [--repeats 5] [--device cpu]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass

import torch
from torch import nn

from physgen.config import TrainConfig
from physgen.models.base import DataSpec, GenerativeModel
from physgen.training import Trainer
from physgen.training.data import BatchOrder, TensorData


@dataclass
class MLPConfig:
    hidden: int = 512


class MLPAutoencoder(GenerativeModel):
    name = "bench-mlp"
    config_class = MLPConfig

    def __init__(self, config, spec):
        super().__init__(config, spec)
        d = spec.n_features
        self.net = nn.Sequential(nn.Linear(d, config.hidden), nn.ReLU(), nn.Linear(config.hidden, d))

    def loss(self, batch, *, generator):
        x = batch["x"]
        return ((self.net(x) - x) ** 2).mean(), {}

    def preview(self, *, generator):
        return None


def _model(d, device):
    torch.manual_seed(0)
    return MLPAutoencoder(MLPConfig(), DataSpec("binary", (d,))).to(device)


def hand_loop(x, steps, device) -> float:
    model = _model(x.shape[1], device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = BatchOrder(len(x), 64, seed=0)
    x = x.to(device)
    _sync(device)
    t0 = time.perf_counter()
    for b in range(steps):
        xb = x[order.indices(0, b).to(device)]
        opt.zero_grad(set_to_none=True)
        loss, _ = model.loss({"x": xb}, generator=None)
        loss.backward()
        opt.step()
    _sync(device)
    return time.perf_counter() - t0


def trainer_loop(x, steps, device) -> tuple[float, float]:
    model = _model(x.shape[1], device)
    cfg = TrainConfig(steps=steps, batch_size=64, progress=False, log_every=100, device=str(device))
    marks = {}
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(model, cfg, TensorData(x), run_dir=tmp)
        trainer.add_callback("on_train_start", lambda t: marks.setdefault("start", time.perf_counter()))
        trainer.add_callback("on_batch_end", lambda t: marks.__setitem__("end", time.perf_counter()))
        t0 = time.perf_counter()
        trainer.fit()
        total = time.perf_counter() - t0
    # the first batch is inside [start, end]; the hand loop times the same `steps` batches
    return marks["end"] - marks["start"], total


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand((64 * args.steps + 64, 784), generator=gen) < 0.3).float()
    hand, loop, total = [], [], []
    for _ in range(args.repeats):  # interleaved, best of each
        hand.append(hand_loop(x, args.steps, args.device))
        lo, to = trainer_loop(x, args.steps, args.device)
        loop.append(lo)
        total.append(to)
    h = min(hand)
    print(f"device {args.device}, {args.steps} steps of batch 64, 784-512-784 MLP, Adam, best of {args.repeats}")
    print(f"hand-written loop      {h:8.3f} s   {64 * args.steps / h:10.0f} samples/s   ratio 1.000")
    print(f"Trainer (loop only)    {min(loop):8.3f} s   {64 * args.steps / min(loop):10.0f} samples/s   "
          f"ratio {min(loop) / h:.3f}")
    print(f"Trainer (whole fit)    {min(total):8.3f} s   {64 * args.steps / min(total):10.0f} samples/s   "
          f"ratio {min(total) / h:.3f}   (incl. 2 checkpoints)")


if __name__ == "__main__":
    main()
