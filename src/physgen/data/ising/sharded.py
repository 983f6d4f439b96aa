"""Ising configurations generated in ``W`` shards (worker processes, or one ``torchrun`` rank each).

Shard ``k`` of ``W`` is an independent :func:`~physgen.data.ising.simulate` run with ``split(samples, W)[k]``
configurations and ``split(chains, W)[k]`` chains per temperature (the run's totals are kept) and the seed
``spawn_states(seed, W)[k] >> 1`` (:mod:`physgen.data.shards`).  Its attributes record the run's ``seed``,
``chains`` and ``n_samples_per_temperature`` and its own ``shard_index``, ``shard_count``, ``shard_seed``,
``shard_chains`` and ``shard_samples_per_temperature``; its τ_int estimates are its own chains'.  The shards
are combined by :func:`physgen.data.merge.merge`: rows in shard order, each shard grouped by temperature.
"""
from __future__ import annotations

import warnings
from typing import Any

from physgen.data import shards
from physgen.data.io import Dataset
from physgen.data.ising.simulate import ThinningWarning, simulate, validate
from physgen.data.merge import merge


def plan(n_samples: int, chains: int | None, workers: int, key: str = "workers"
         ) -> tuple[list[int], list[int]]:
    """``(samples per temperature, chains per temperature)`` of each of ``workers`` shards; every shard gets
    at least one of each (UserError on the parameter ``key`` otherwise)."""
    chains = min(int(n_samples), 32) if chains is None else int(chains)
    limit, unit = (chains, "chains") if chains <= n_samples else (n_samples, "samples per temperature")
    shards.check_workers(workers, limit, unit, key)
    return shards.split(n_samples, workers), shards.split(chains, workers)


def simulate_shard(size: int, temperatures, n_samples: int, *, index: int, count: int, seed: int = 0,
                   chains: int | None = None, **params: Any) -> Dataset:
    """Shard ``index`` of ``count`` of the run ``simulate(size, temperatures, n_samples, seed=seed,
    chains=chains, **params)`` (module docstring)."""
    validate(size, temperatures, n_samples, chains=chains, **{k: v for k, v in params.items()
                                                               if k not in ("device", "progress")})
    samples, chain_counts = plan(n_samples, chains, count)
    shard_seed = shards.spawn_states(seed, count)[index] >> 1
    ds = simulate(size, temperatures, samples[index], chains=chain_counts[index], seed=shard_seed, **params)
    ds.attrs.update(seed=int(seed), chains=sum(chain_counts), n_samples_per_temperature=int(n_samples),
                    shard_index=int(index), shard_count=int(count), shard_seed=int(shard_seed),
                    shard_chains=chain_counts[index], shard_samples_per_temperature=samples[index])
    return ds


def simulate_sharded(size: int, temperatures, n_samples: int, *, workers: int, seed: int = 0,
                     progress: bool = False, **params: Any) -> Dataset:
    """All ``workers`` shards, each in its own process, merged in shard order (one Dataset); the shards'
    thinning warnings are re-issued once each."""
    validate(size, temperatures, n_samples, **{k: v for k, v in params.items() if k != "device"})
    plan(n_samples, params.get("chains"), workers)
    jobs = [(size, temperatures, n_samples, k, workers, seed, params) for k in range(workers)]
    with _bar(workers, progress) as bar:
        results = shards.run_processes(_job, jobs, bar=bar)
    for message in dict.fromkeys(m for _, messages in results for m in messages):
        warnings.warn(ThinningWarning(message), stacklevel=2)
    return merge([ds for ds, _ in results])


def _job(size, temperatures, n_samples, index, count, seed, params) -> tuple[Dataset, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = simulate_shard(size, temperatures, n_samples, index=index, count=count, seed=seed, **params)
    shards.count(1)
    return ds, [str(w.message) for w in caught]


def _bar(n: int, enabled: bool):
    import sys

    from tqdm.auto import tqdm

    return tqdm(total=int(n), disable=not enabled, unit="shard", desc="ising", file=sys.stderr)
