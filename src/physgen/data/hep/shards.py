"""Sharded Pythia generation: ``n`` events split over ``workers`` processes, one Pythia instance each.

The shard seeds are spawned from one seed and the shards are concatenated in order
(:mod:`physgen.data.shards`), so the same ``(seed, workers)`` gives the same events, and a sharded run
equals the concatenation of its shards generated one by one.  Workers are started with the ``spawn``
method and report progress through a shared counter.
"""
from __future__ import annotations

import sys
from typing import Sequence

import numpy as np

from physgen.data import shards as common
from physgen.data.hep.pythia import MAX_SEED, Shard, Spec, check_settings, generate_shard
from physgen.errors import UserError


def shard_seeds(seed: int, workers: int) -> list[int]:
    """``workers`` Pythia seeds in 1 .. 900 000 000 spawned from ``seed`` (numpy ``SeedSequence``)."""
    return [1 + s % (MAX_SEED - 1) for s in common.spawn_states(seed, workers)]


def shard_sizes(n: int, workers: int) -> list[int]:
    """``n`` split over ``workers`` shards, the first ``n % workers`` one event larger."""
    return common.split(n, workers)


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
        raise UserError(f"must be >= 1, got {n!r}", key="n")
    common.check_workers(workers, n, "events")
    seeds, sizes = shard_seeds(seed, workers), shard_sizes(n, workers)
    with _bar(n, progress) as bar:
        if workers == 1:
            return combine([generate_shard(spec, sizes[0], seeds[0], bar.update)])
        return combine(common.run_processes(_worker, list(zip([spec] * len(sizes), sizes, seeds)), bar=bar))


def _worker(spec: Spec, n: int, seed: int) -> Shard:
    return generate_shard(spec, n, seed, common.count)


def _bar(n: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=int(n), disable=not enabled, unit="event", desc="pythia", file=sys.stderr,
                dynamic_ncols=True, smoothing=0.1)


