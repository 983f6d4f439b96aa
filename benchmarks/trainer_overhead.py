"""Trainer overhead on a realistic step: ``physgen``'s Trainer against a hand-written loop of the same model.

The model is built exactly as ``physgen train MODEL`` builds it (the family's defaults for the data, then
``--set``); the default case is the tt̄ WGAN-GP (MLP critic and generator, 5 critic updates with gradient
penalty per step, batch 256, Adam, weight EMA), a step of ~5 ms on one CPU thread; ``--model ddpm --lattice
16`` times the default U-Net step on 16 x 16 spin lattices (~25 ms, the case ``make bench`` records).  The
data are 10,000 rows of 3 correlated features in [−1, 1] generated here, or 2,000 random spin lattices with
``--lattice L`` (the timing does not depend on the values), or a physgen dataset given with ``--data``.

Both loops make the same optimizer steps on the same batches with the same random numbers: the
hand-written loop takes its batches from the same seeded :class:`~physgen.training.data.BatchOrder`,
reseeds one generator per step with the trainer's ``step_seed``, sets the run's learning-rate schedule and
clips the gradient as the run's config says, calls the model's own step
(``adversarial_step``, or ``loss`` + ``backward`` + ``step``) and updates the same EMA; after the run
their parameters are compared (bit for bit when the kernels are deterministic).  What the trainer adds:
the loss/NaN checks, learning-rate schedule, metrics rows, divergence guard, epoch-end snapshots and
the start/end checkpoints.

``--pairs`` back-to-back pairs (the order alternates), each pair's overhead ``t_trainer / t_loop − 1``
from its own two runs; the median, the spread (min … max) and a 90% bootstrap interval of the median
are printed with the load average.  Two figures: the training loop alone (first to last step, from the
trainer's callbacks) and the whole ``fit()`` (start-up, checkpoints, preview included).

    python benchmarks/trainer_overhead.py                          # WGAN-GP, 150 steps, 5 pairs
    python benchmarks/trainer_overhead.py --model ddpm --lattice 16 --steps 100  # DDPM U-Net on spins
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import conditions  # noqa: E402

from physgen.config import resolve  # noqa: E402
from physgen.data import Dataset, load  # noqa: E402
from physgen.data.transforms import fit_transform  # noqa: E402
from physgen.models import registry  # noqa: E402
from physgen.models.base import DataSpec  # noqa: E402
from physgen.training import Trainer  # noqa: E402
from physgen.training.data import BatchOrder, to_tensor_data  # noqa: E402
from physgen.training.optim import EMA, build_optimizers, grad_norm_clip, set_learning_rates  # noqa: E402
from physgen.streams import step_seed  # noqa: E402


def lattices(size: int, n: int = 2_000, seed: int = 0) -> Dataset:
    """``n`` random ±1 spin lattices ``size`` x ``size`` (the step's cost does not depend on the values)."""
    rng = np.random.default_rng(seed)
    return Dataset((2 * rng.integers(0, 2, (n, size, size)) - 1).astype(np.int8), "spins", attrs={"source": "benchmark"})


def tabular(n: int = 10_000, seed: int = 0) -> Dataset:
    """``n`` rows of 3 correlated features squashed into [−1, 1] (a stand-in for (s, t, y) of tt̄ events)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 3)) @ np.array([[1.0, 0.6, 0.0], [0.0, 0.8, 0.3], [0.0, 0.0, 0.9]])
    return Dataset(np.tanh(0.7 * z).astype(np.float32), "continuous", attrs={"source": "benchmark"})


def setup(name: str, ds: Dataset, sets: list[str], steps: int, seed: int):
    """(model, train config, tensor data) as ``physgen train`` would build them, ``steps`` steps, no bar."""
    cls = registry.get(name)
    spec = DataSpec.from_dataset(ds)
    run = resolve(name, cls.config_class, base=cls.defaults(spec), sets=sets)
    cfg = dataclasses.replace(run.train, steps=steps, progress=False, device="cpu", seed=seed)
    torch.manual_seed(seed)
    model = cls(run.model, spec)
    data = to_tensor_data(ds, fit_transform(run.data.transform, ds.samples, ds.kind), None)
    return model, cfg, data


def hand_loop(name, ds, sets, steps, seed) -> tuple[float, torch.nn.Module]:
    """The hand-written loop: seconds for ``steps`` steps, and the trained model."""
    model, cfg, data = setup(name, ds, sets, steps, seed)
    opts = build_optimizers(model.parameter_groups(), cfg)
    ema = EMA(model, cfg.ema) if cfg.ema else None
    order = BatchOrder(len(data.x), cfg.batch_size, seed=cfg.seed, drop_last=cfg.drop_last)
    per_epoch = order.batches_per_epoch
    model.on_fit_start(data.all(), resumed=False, generator=torch.Generator().manual_seed(step_seed(seed, 0, 0, "start")))
    model.train()
    g = torch.Generator()
    t0 = time.perf_counter()
    for step in range(steps):
        batch = data.batch(order.indices(step // per_epoch, step % per_epoch))
        g.manual_seed(step_seed(seed, 0, step))
        set_learning_rates(opts, cfg, step, steps, 1.0)   # the run's schedule (cosine on spins), as the trainer
        if "adversarial" in model.capabilities:
            logs = model.adversarial_step(batch, opts, generator=g)
            _ = {k: float(v) for k, v in logs.items()}
        else:
            for o in opts.values():
                o.zero_grad(set_to_none=True)
            loss, logs = model.loss(batch, generator=g)
            _ = float(loss.detach())
            loss.backward()
            if cfg.grad_clip is not None:
                grad_norm_clip(opts, cfg.grad_clip)
            for o in opts.values():
                o.step()
        if ema is not None:
            ema.update(model)
    return time.perf_counter() - t0, model


def trainer_loop(name, ds, sets, steps, seed) -> tuple[float, float, torch.nn.Module]:
    """(seconds of the training loop, seconds of the whole fit, model) through :class:`Trainer`."""
    model, cfg, data = setup(name, ds, sets, steps, seed)
    marks = {}
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(model, cfg, data, run_dir=Path(tmp) / "run")
        trainer.add_callback("on_train_start", lambda t: marks.setdefault("start", time.perf_counter()))
        trainer.add_callback("on_batch_end", lambda t: marks.__setitem__("end", time.perf_counter()))
        t0 = time.perf_counter()
        trainer.fit()
        total = time.perf_counter() - t0
    return marks["end"] - marks["start"], total, model


def median_interval(values, level=0.9) -> tuple[float, float]:
    """Percentile-bootstrap interval of the median."""
    if len(values) < 3:
        return float("nan"), float("nan")
    from scipy.stats import bootstrap
    ci = bootstrap((np.asarray(values),), np.median, confidence_level=level, method="percentile",
                   n_resamples=9999, random_state=0).confidence_interval
    return float(ci.low), float(ci.high)


def measure_pairs(name: str, ds: Dataset, sets: list[str], steps: int, pairs: int, seed: int = 0) -> dict:
    """``pairs`` alternating (hand-written loop, trainer) pairs: per-pair overheads of the loop and of the
    whole fit, the median step time of the hand-written loop, the load range, and whether the final
    parameters matched in every pair."""
    loads, loop_o, fit_o, hand_t, same = [os.getloadavg()[0]], [], [], [], True
    for i in range(pairs):
        got = {}
        for who in (("hand", "trainer") if i % 2 == 0 else ("trainer", "hand")):
            fn = hand_loop if who == "hand" else trainer_loop
            got[who] = fn(name, ds, sets, steps, seed)
        (h, hm), (lo, tot, tm) = got["hand"], got["trainer"]
        same &= all(torch.equal(a, b) for a, b in zip(hm.state_dict().values(), tm.state_dict().values()))
        hand_t.append(h)
        loop_o.append(lo / h - 1)
        fit_o.append(tot / h - 1)
        loads.append(os.getloadavg()[0])
    return {"model": name, "sets": list(sets), "shape": tuple(ds.samples.shape), "steps": steps, "pairs": pairs,
            "step_ms": 1e3 * statistics.median(hand_t) / steps, "loop": loop_o, "fit": fit_o,
            "load": (min(loads), max(loads)), "identical": same}


def report(res: dict, threads: int) -> None:
    lo, hi = res["load"]
    print(f"machine: {conditions.machine()}; {threads} thread(s); load {lo:.2f}-{hi:.2f}/{conditions.cores()} cores")
    print(f"model {res['model']} (physgen train defaults{', --set ' + ' '.join(res['sets']) if res['sets'] else ''}), "
          f"data {res['shape']}, {res['steps']} steps of {res['step_ms']:.1f} ms (hand-written loop, median), "
          f"{res['pairs']} pairs; final parameters identical: {res['identical']}")
    for label in ("loop", "fit"):
        o = res[label]
        a, b = median_interval(o)
        print(f"  trainer overhead, {'training loop' if label == 'loop' else 'whole fit()':<13}: median "
              f"{100 * statistics.median(o):+.1f}%, spread {100 * min(o):+.1f} … {100 * max(o):+.1f}%, "
              f"90% interval of the median {100 * a:+.1f} … {100 * b:+.1f}%  "
              f"(pairs: {', '.join(f'{100 * x:+.1f}' for x in o)})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="wgan-gp")
    p.add_argument("--set", nargs="*", default=None,
                   help="config overrides, as physgen train --set (default for GANs model.diagnostics=false: the "
                        "diagnostics callback is model work the hand-written loop does not do; else none)")
    p.add_argument("--data", help="a physgen dataset file (default: generated tabular data)")
    p.add_argument("--lattice", type=int, default=0,
                   help="L > 0: random L x L spin lattices instead of tabular data (e.g. --model ddpm --lattice 16, "
                        "the default ddpm U-Net step on Ising lattices, ~25 ms)")
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--pairs", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.set is None:
        args.set = ["model.diagnostics=false"] if "adversarial" in registry.get(args.model).capabilities else []
    torch.set_num_threads(args.threads)
    ds = load(args.data) if args.data else (lattices(args.lattice) if args.lattice else tabular())
    print(f"command: python benchmarks/trainer_overhead.py {' '.join(sys.argv[1:])}")
    report(measure_pairs(args.model, ds, args.set, args.steps, args.pairs, args.seed), args.threads)


if __name__ == "__main__":
    main()
