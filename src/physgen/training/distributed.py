"""Multi-process data-parallel training under ``torchrun`` (DistributedDataParallel).

``torchrun --nproc_per_node=N -m physgen train ...`` sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; :func:`init` then joins the process group (gloo on CPU, NCCL on CUDA).  Every rank
reads the data, draws the same per-epoch permutation and takes its share of each global batch
(:class:`physgen.training.data.BatchOrder`); DDP averages the gradients, so one step equals a
single-process step on the global batch (Li et al. 2020, "PyTorch Distributed", VLDB 13:3005).
Rank 0 alone logs, previews and writes checkpoints.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from physgen.errors import UserError, as_written


@dataclass
class DistContext:
    """Where this process sits: ``rank`` of ``world_size`` (``local_rank`` on its node)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init(device: torch.device) -> DistContext:
    """Join the torchrun process group when ``WORLD_SIZE > 1``; otherwise a single-process context."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    import torch.distributed as dist

    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, device_id=device if device.type == "cuda" else None)
    return DistContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def shutdown(ctx: DistContext, *, clean: bool = True) -> None:
    """Leave the process group.  After a clean run the ranks leave together (a barrier first: a rank
    that tore down its gloo pairs while a peer still used them could abort with "terminate called without
    an active exception": benchmarks/records/training.md); after an error there is no
    barrier (the peers may be inside another collective).  Then ``destroy_process_group`` and a garbage
    collection, so that no backend object is left to the interpreter's finalizer."""
    if ctx.enabled:
        import gc

        import torch.distributed as dist

        if dist.is_initialized():
            if clean:
                dist.barrier()
            dist.destroy_process_group()
        gc.collect()


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> cuda (this rank's GPU) if available, else mps, else cpu; checks availability."""
    kind = name.split(":")[0]
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", _gpu_for(local_rank, name))
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise UserError("CUDA is not available on this machine", key="device", value=name)
    if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UserError("MPS is not available on this machine", key="device", value=name)
    if name == "cuda" and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return torch.device("cuda", _gpu_for(local_rank, name))
    try:
        return torch.device(name)
    except RuntimeError:
        raise UserError("not a device (auto | cpu | cuda | cuda:N | mps)", key="device", value=name) from None


def _gpu_for(local_rank: int, name: str) -> int:
    """This rank's GPU: one per process (NCCL cannot put two ranks on one device)."""
    procs, gpus = int(os.environ.get("LOCAL_WORLD_SIZE", "1")), torch.cuda.device_count()
    if procs > gpus:
        raise UserError(f"torchrun started {procs} processes on this node but there are only "
                        f"{gpus} CUDA devices (use --nproc_per_node={gpus} or {as_written('device')} cpu)",
                        key="device", value=name)
    return local_rank


class _LossModule(nn.Module):
    """Adapter so DDP's forward (which arms the gradient all-reduce) calls ``model.loss``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch, generator):
        return self.model.loss(batch, generator=generator)


def loss_function(model: nn.Module, ctx: DistContext) -> Callable:
    """``f(batch, generator) -> (loss, logs)``: plain ``model.loss``, or through DDP when distributed."""
    if not ctx.enabled:
        return lambda batch, generator: model.loss(batch, generator=generator)
    from torch.nn.parallel import DistributedDataParallel as DDP

    device_ids = [model.device.index] if model.device.type == "cuda" else None
    with warnings.catch_warnings():  # newer torch renames broadcast_buffers; False keeps rank-local buffers
        warnings.simplefilter("ignore", FutureWarning)
        ddp = DDP(_LossModule(model), device_ids=device_ids, broadcast_buffers=False)
    return lambda batch, generator: ddp(batch, generator)


class SyncedOptimizer:
    """Optimizer proxy for two-player models: all-reduces (averages) its parameters' gradients
    across ranks before each ``step`` — the update DDP would make, for ``adversarial_step`` models
    that call ``backward``/``step`` themselves."""

    def __init__(self, opt: torch.optim.Optimizer, ctx: DistContext):
        self._opt, self._ctx = opt, ctx

    def step(self, closure=None):
        import torch.distributed as dist

        for group in self._opt.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
                    p.grad.div_(self._ctx.world_size)
        return self._opt.step(closure)

    def __getattr__(self, name):
        return getattr(self._opt, name)


def all_reduce_max(values: list[float], ctx: DistContext, device: torch.device) -> list[float]:
    """Element-wise maximum over ranks (used to agree on divergence and time-budget flags)."""
    if not ctx.enabled:
        return values
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.tolist()


def all_reduce_mean(value: float, ctx: DistContext, device: torch.device) -> float:
    if not ctx.enabled:
        return value
    import torch.distributed as dist

    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t.item()) / ctx.world_size


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        import torch.distributed as dist

        dist.barrier()


def gather_tensors(tensors: dict[str, torch.Tensor], ctx: DistContext, device: torch.device
                   ) -> list[dict[str, torch.Tensor]]:
    """Every rank's ``tensors`` on the CPU, in rank order (a collective: every rank calls it with the same
    keys, shapes and dtypes).  The tensors travel as their raw bytes in one ``all_gather`` (any dtype, bool
    included, on gloo and NCCL), so a rank's copy arrives bit for bit."""
    if not ctx.enabled:
        return [{k: v.detach().to("cpu") for k, v in tensors.items()}]
    if not tensors:
        return [{} for _ in range(ctx.world_size)]
    import torch.distributed as dist

    keys = sorted(tensors)
    flat = [tensors[k].detach().contiguous().reshape(-1).view(torch.uint8).to(device) for k in keys]
    mine = torch.cat(flat)
    parts = [torch.empty_like(mine) for _ in range(ctx.world_size)]
    dist.all_gather(parts, mine)
    out = []
    for part in parts:
        part, start, ranked = part.cpu(), 0, {}
        for k, f in zip(keys, flat):
            t = tensors[k]
            ranked[k] = part[start:start + f.numel()].clone().view(t.dtype).reshape(t.shape)
            start += f.numel()
        out.append(ranked)
    return out


def gather_json(value, ctx: DistContext, device: torch.device) -> list:
    """Every rank's JSON-serialisable ``value``, in rank order (a collective; UTF-8 bytes padded to the
    longest rank's)."""
    import json

    if not ctx.enabled:
        return [value]
    import torch.distributed as dist

    data = torch.tensor(list(json.dumps(value).encode("utf-8")), dtype=torch.uint8, device=device)
    size = torch.tensor([data.numel()], dtype=torch.int64, device=device)
    sizes = [torch.empty_like(size) for _ in range(ctx.world_size)]
    dist.all_gather(sizes, size)
    longest = int(max(int(s) for s in sizes))
    padded = torch.zeros(longest, dtype=torch.uint8, device=device)
    padded[:data.numel()] = data
    parts = [torch.empty_like(padded) for _ in range(ctx.world_size)]
    dist.all_gather(parts, padded)
    return [json.loads(bytes(p[:int(s)].cpu().tolist()).decode("utf-8")) for p, s in zip(parts, sizes)]
