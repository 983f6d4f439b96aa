"""How many torch intra-op threads a piece of physgen's work runs on.

torch runs each operation on as many threads as the machine has cores.  Every operation is then a parallel
region: its threads start together and wait for one another at its end.  An operation on a small tensor
gains nothing from that split, and when another process holds one of the cores, every region waits for a
thread that has no core: a run of many small operations then goes several times slower than on one thread
(benchmarks/records/demo.md).  The models physgen trains on small lattices are made of such operations.

The rule: work of fewer than :data:`SMALL_WORK` multiply-adds per call (a training step, a chunk of samples)
runs on one thread; larger work keeps torch's setting.  The choice depends on the configuration only, never
on the machine's load, so a run stays reproducible bit for bit on one platform.  A user who sets
``OMP_NUM_THREADS`` decides alone: physgen then never changes the thread count.  Without it, small work runs
on one thread even after a call to :func:`torch.set_num_threads`, whose setting comes back when the work ends.
"""
from __future__ import annotations

import contextlib
import math
import os
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:   # torch is imported where a function needs it: the multispin engine reads user_threads alone
    import torch

SMALL_WORK = 1e9
"""Multiply-adds per training step (:func:`network_work`, or the family's declared ``step_work``) below which one
thread runs it.  A step is tens of operations, each a parallel region: the quick demo's L = 8 models lie below
this bound and gain little from a second thread on an idle machine while losing several times beside a busy
process; the L = 16 convolutional models lie above it and gain (benchmarks/records/threads.md)."""


def user_set() -> bool:
    """Whether the user chose the thread count (``OMP_NUM_THREADS`` in the environment)."""
    return bool(os.environ.get("OMP_NUM_THREADS", "").strip())


def user_threads() -> int | None:
    """The thread count the user chose (``OMP_NUM_THREADS``, an integer), else None."""
    given = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(given) if given.isdigit() else None


def for_work(work: float | None) -> int | None:
    """The thread count for ``work`` multiply-adds per call: 1 below :data:`SMALL_WORK`, None (torch's setting)
    above it, for unknown work, or when the user set the threads (:func:`user_set`)."""
    if user_set() or work is None or not math.isfinite(work) or work >= SMALL_WORK:
        return None
    return 1


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (None: unchanged), then restore the setting."""
    import torch

    old = torch.get_num_threads()
    if n is None or n == old:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def for_model(model: torch.nn.Module, rows: int) -> int | None:
    """:func:`for_work` for one training step of ``model`` on ``rows`` rows: the family's declared ``step_work``
    where it has one, else :func:`network_work`."""
    declared = getattr(model, "step_work", None)
    work = declared(rows) if callable(declared) else None
    return for_work(work if work is not None else network_work(model, rows))


def network_work(model: torch.nn.Module, rows: int) -> float:
    """Multiply-adds of one forward and backward pass (3× the forward) of ``model`` on ``rows`` rows, from its
    weights: a convolution's weights meet every lattice site of the data (``model.spec.shape``'s last two
    axes), every other weight once per row."""
    from torch import nn

    convolutions = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
    shape = tuple(getattr(getattr(model, "spec", None), "shape", ()) or ())
    sites = math.prod(shape[-2:]) if len(shape) >= 2 else 1
    forward = 0.0
    for module in model.modules():
        weights = sum(p.numel() for p in module.parameters(recurse=False))
        forward += weights * rows * (sites if isinstance(module, convolutions) else 1)
    return 3.0 * forward
