"""Sharded generation: one job split into ``W`` shards, each with its own seed, run in its own process.

The shard seeds are spawned from one seed (``numpy.random.SeedSequence.spawn``: statistically independent
streams, O'Neill 2015), the sizes split as evenly as possible, and the shards concatenated in shard order, so
the same ``(seed, W)`` gives the same output whether the shards run in one process, in ``W`` worker processes
(:func:`run_processes`) or as ``W`` ranks of ``torchrun`` that each write one shard file
(:func:`torchrun_shard`, :func:`shard_path`) merged afterwards (:mod:`physgen.data.merge`).
"""
from __future__ import annotations

import os
import pickle
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from physgen.errors import UserError, as_written, current_naming, use_naming


def spawn_states(seed: int, count: int) -> list[int]:
    """``count`` 64-bit integers, one per shard, from ``SeedSequence(seed).spawn(count)``."""
    return [int(c.generate_state(1, np.uint64)[0]) for c in np.random.SeedSequence(int(seed)).spawn(int(count))]


def split(n: int, parts: int) -> list[int]:
    """``n`` split over ``parts`` shards, the first ``n % parts`` one larger."""
    base, extra = divmod(int(n), int(parts))
    return [base + (i < extra) for i in range(int(parts))]


def shard_path(out: str | Path, index: int, count: int) -> Path:
    """The file of shard ``index`` of ``count`` for the output ``out``: ``ising.h5`` -> ``ising.shard1-of-2.h5``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.shard{int(index)}-of-{int(count)}{out.suffix}")


def torchrun_shard() -> tuple[int, int]:
    """``(rank, world size)`` of this process under ``torchrun`` (``RANK``/``WORLD_SIZE``), ``(0, 1)`` otherwise."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def run_processes(fn: Callable[..., Any], jobs: Sequence[tuple], *, bar=None, processes: int | None = None) -> list[Any]:
    """``[fn(*job) for job in jobs]`` in ``processes`` worker processes (default: one per job; ``spawn`` start
    method, one thread each); results in job order.  ``fn`` may call :func:`count` to advance ``bar`` (a tqdm bar).  The
    workers name keys as this process does (:func:`physgen.errors.current_naming`) where that naming can be
    pickled."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("spawn")
    counter = ctx.Value("q", 0)
    with ProcessPoolExecutor(min(len(jobs), processes or len(jobs)), mp_context=ctx, initializer=_init_worker,
                             initargs=(counter, os.getpid(), _picklable(current_naming()))) as pool:
        futures = [pool.submit(fn, *job) for job in jobs]
        while not all(f.done() for f in futures):
            time.sleep(0.1)
            if bar is not None and counter.value > bar.n:   # (redraw only on progress)
                bar.update(counter.value - bar.n)
        if bar is not None and counter.value > bar.n:
            bar.update(counter.value - bar.n)
        return [f.result() for f in futures]


_COUNTER = None
PARENT_POLL_S = 0.5  # how often a worker checks that its parent is alive


def _picklable(value: Any) -> Any:
    """``value``, or None where it cannot be pickled (a lambda)."""
    try:
        pickle.dumps(value)
    except Exception:
        return None
    return value


def _init_worker(counter, parent: int, name: Callable[[str], str] | None = None) -> None:
    global _COUNTER
    _COUNTER = counter
    use_naming(name)
    os.environ["OMP_NUM_THREADS"] = "1"
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="physgen-parent-watch").start()


def _exit_with_parent(parent: int, interval: float = PARENT_POLL_S) -> None:
    """End this worker once the process that started it is gone (``kill -9`` included, which gives the parent
    no chance to stop its pool): its results would go nowhere, and it would otherwise run to the end."""
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(1)


def count(k: int) -> None:
    """Advance the parent's progress bar by ``k`` (inside a :func:`run_processes` worker; else nothing)."""
    if _COUNTER is None:
        return
    with _COUNTER.get_lock():
        _COUNTER.value += k


def check_workers(workers: int, limit: int, unit: str, key: str = "workers") -> None:
    """The shard count ``workers`` (the parameter ``key``) must be between 1 and ``limit``: every shard needs at
    least one of the ``limit`` ``unit`` (events, chains, ...)."""
    if int(workers) < 1 or int(workers) > int(limit):
        raise UserError(f"must be between 1 and the number of {unit} ({limit}), got {workers!r}", key=key)


def refuse_workers_under_torchrun(workers: int) -> None:
    """Under ``torchrun`` every rank is one shard: ``workers`` must be 1."""
    world = torchrun_shard()[1]
    if int(workers) > 1 and world > 1:
        raise UserError(f"under torchrun each of the {world} processes writes one shard; "
                        f"use {as_written('workers')} 1 (got {workers})", key="workers")
