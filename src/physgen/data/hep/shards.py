"""Sharded Pythia generation: ``n`` events split over ``workers`` processes, one Pythia instance each.

The shard seeds are spawned from one seed (``numpy.random.SeedSequence``) and the shards are
concatenated in order, so the same ``(seed, workers)`` gives the same events, and a sharded run equals
the concatenation of its shards generated one by one.  Workers are started with the ``spawn`` method
and report progress through a shared counter.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Sequence

import numpy as np

from physgen.data.hep.pythia import MAX_SEED, Shard, Spec, check_settings, generate_shard
from physgen.errors import UserError


def shard_seeds(seed: int, workers: int) -> list[int]:
    """``workers`` Pythia seeds in 1 .. 900 000 000 spawned from ``seed`` (numpy ``SeedSequence``)."""
    children = np.random.SeedSequence(int(seed)).spawn(int(workers))
    return [1 + int(c.generate_state(1, np.uint64)[0] % (MAX_SEED - 1)) for c in children]


def shard_sizes(n: int, workers: int) -> list[int]:
    """``n`` split over ``workers`` shards, the first ``n % workers`` one event larger."""
    base, extra = divmod(int(n), int(workers))
    return [base + (i < extra) for i in range(int(workers))]


def combine(shards: Sequence[Shard]) -> Shard:
    """Concatenate shards in order; σ is the tried-weighted mean of the shards' σ, errors in quadrature."""
    kin = {k: np.concatenate([s.kin[k] for s in shards]) for k in shards[0].kin}
    tried = np.array([s.stats["tried"] for s in shards], float)
    sigma = np.array([s.stats["sigma_pb"] for s in shards])
    err = np.array([s.stats["sigma_err_pb"] for s in shards])
    stats = {"sigma_pb": float(tried @ sigma / tried.sum()),
             "sigma_err_pb": float(np.sqrt(np.sum((tried * err) ** 2)) / tried.sum()),
             "tried": int(tried.sum()), "accepted": int(sum(s.stats["accepted"] for s in shards)),
             "seeds": [s.stats["seed"] for s in shards]}
    return Shard(kin, stats)


def generate(spec: Spec, n: int, *, seed: int = 0, workers: int = 1, progress: bool = False) -> Shard:
    """``n`` events in ``workers`` shards (processes when ``workers > 1``), concatenated in shard order."""
    check_settings(spec)
    if int(n) < 1:
        raise UserError(f"--n: must be >= 1, got {n!r}")
    if int(workers) < 1 or int(workers) > int(n):
        raise UserError(f"--workers: must be between 1 and --n ({n}), got {workers!r}")
    seeds, sizes = shard_seeds(seed, workers), shard_sizes(n, workers)
    with _bar(n, progress) as bar:
        if workers == 1:
            return combine([generate_shard(spec, sizes[0], seeds[0], bar.update)])
        return combine(_parallel(spec, sizes, seeds, bar))


def _parallel(spec: Spec, sizes: list[int], seeds: list[int], bar) -> list[Shard]:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("spawn")
    counter = ctx.Value("q", 0)
    with ProcessPoolExecutor(len(sizes), mp_context=ctx, initializer=_init_worker, initargs=(counter,)) as pool:
        futures = [pool.submit(_worker, spec, k, s) for k, s in zip(sizes, seeds)]
        while not all(f.done() for f in futures):
            time.sleep(0.1)
            bar.update(counter.value - bar.n)
        bar.update(counter.value - bar.n)
        return [f.result() for f in futures]


_COUNTER = None


def _init_worker(counter) -> None:
    global _COUNTER
    _COUNTER = counter
    os.environ["OMP_NUM_THREADS"] = "1"


def _count(k: int) -> None:
    with _COUNTER.get_lock():
        _COUNTER.value += k


def _worker(spec: Spec, n: int, seed: int) -> Shard:
    return generate_shard(spec, n, seed, _count)


def _bar(n: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=int(n), disable=not enabled, unit="event", desc="pythia", file=sys.stderr,
                dynamic_ncols=True, smoothing=0.1)


