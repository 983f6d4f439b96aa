"""Optimizers per parameter group, learning-rate schedules and the weight EMA.

Schedules give a factor f(s) of the base learning rate at optimizer step ``s`` (``W`` warm-up steps,
``T`` total steps, ``t = s - W``)::

    warm-up     f = (s + 1) / W                       for s < W
    constant    f = 1
    cosine      f = (1 + cos(pi t / (T - W))) / 2     (Loshchilov & Hutter 2017, SGDR, without restarts)
    linear      f = 1 - t / (T - W)
    step        f = gamma ** floor(s / step_size)
    exponential f = gamma ** (s / step_size)

The learning rate is set from (base, schedule, step, lr_scale) at every step, so the schedule's whole
state is the step counter, the divergence guard's ``lr_scale`` and, for cosine/linear, the span
``[start, T]``.  With a step budget (``train.steps`` or ``train.epochs``) ``T`` is that budget.  With a time
budget (``train.max_time`` alone) no step count is known: the trainer runs the first steps at f = 1 (the
value of both schedules at their start), estimates ``T`` from the measured step rate, freezes it and saves
it in every checkpoint (a resumed run keeps it: resume stays exact); past ``T`` the factor stays at its floor.
A resumed time-budget run that starts at or past its ``T`` begins a new span (a warm restart, as in SGDR)
over the steps estimated for its own budget.
EMA: theta_ema <- decay * theta_ema + (1 - decay) * theta after every step (Polyak averaging).
"""
from __future__ import annotations

import contextlib
import math

import torch
from torch import nn

from physgen.config import TrainConfig
from physgen.errors import UserError


def build_optimizers(groups: dict[str, list[nn.Parameter]], cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]:
    """One optimizer per parameter group (``train.group_lr.<name>`` overrides ``train.lr``)."""
    unknown = sorted(set(cfg.group_lr) - set(groups))
    if unknown:
        raise UserError(f"train.group_lr: unknown parameter group(s) {', '.join(unknown)} "
                        f"(this model has: {', '.join(groups)})")
    out = {}
    for name, params in groups.items():
        params = list(params)
        if not params:
            continue
        kw = {"lr": base_lr(cfg, name), "weight_decay": cfg.weight_decay}
        if cfg.optimizer == "sgd":
            out[name] = torch.optim.SGD(params, momentum=cfg.momentum, fused=_fusable(params), **kw)
        elif cfg.optimizer == "adam":
            out[name] = torch.optim.Adam(params, betas=tuple(cfg.betas), **kw)
        else:
            out[name] = torch.optim.AdamW(params, betas=tuple(cfg.betas), **kw)
    if not out:
        raise UserError("model has no trainable parameters")
    return out


def _fusable(params: list[nn.Parameter]) -> bool | None:
    """PyTorch's fused (one-kernel) SGD update when every parameter is a float tensor on the CPU or a CUDA
    device (the same update, faster); else the default.  Adam/AdamW keep PyTorch's default implementation:
    its fused kernel rounds differently, enough to move the slow tt̄ WGAN-GP check past its AUC bound
    (benchmarks/records/training.md)."""
    ok = all(p.device.type in ("cpu", "cuda") and p.dtype in (torch.float16, torch.bfloat16, torch.float32,
                                                               torch.float64) for p in params)
    return True if ok else None


def base_lr(cfg: TrainConfig, group: str) -> float:
    return float(cfg.group_lr.get(group, cfg.lr))


def schedule_factor(cfg: TrainConfig, step: int, total: int | None, start: int = 0) -> float:
    """Multiplier of the base learning rate at optimizer step ``step`` (see module docstring); cosine and
    linear run from step ``start`` (0, or a warm restart's first step) to ``total`` and stay at their floor
    past it; ``total`` None (not known yet) gives 1."""
    w = cfg.warmup_steps
    if step < w:
        return (step + 1) / w
    if cfg.schedule == "step":
        return cfg.gamma ** (step // cfg.step_size)
    if cfg.schedule == "exponential":
        return cfg.gamma ** (step / cfg.step_size)
    first = max(start, w)
    if cfg.schedule == "constant" or total is None or total <= first:
        return 1.0
    frac = min(1.0, (step - first) / (total - first))
    if cfg.schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * frac))
    return 1.0 - frac  # linear


def set_learning_rates(optimizers: dict[str, torch.optim.Optimizer], cfg: TrainConfig, step: int,
                       total: int | None, lr_scale: float, start: int = 0) -> float:
    """Set every group's lr for ``step``; return the first group's (for logging)."""
    f = schedule_factor(cfg, step, total, start) * lr_scale
    first = None
    for name, opt in optimizers.items():
        lr = base_lr(cfg, name) * f
        for group in opt.param_groups:
            group["lr"] = lr
        first = lr if first is None else first
    return float(first)


class EMA:
    """Exponential moving average of a module's floating-point parameters."""

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.names = [n for n, p in model.named_parameters() if p.dtype.is_floating_point]
        params = dict(model.named_parameters())
        self.shadow = {n: params[n].detach().clone() for n in self.names}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        params = dict(model.named_parameters())
        for n in self.names:
            self.shadow[n].lerp_(params[n].detach(), 1.0 - self.decay)

    @contextlib.contextmanager
    def applied(self, model: nn.Module):
        """Within the block the model holds the EMA weights; its own weights are restored afterwards."""
        params = dict(model.named_parameters())
        saved = {n: params[n].detach().clone() for n in self.names}
        with torch.no_grad():
            for n in self.names:
                params[n].copy_(self.shadow[n])
        try:
            yield model
        finally:
            with torch.no_grad():
                for n in self.names:
                    params[n].copy_(saved[n])

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {f"ema.{n}": t for n, t in self.shadow.items()}

    def load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        for n in self.names:
            key = f"ema.{n}"
            if key not in tensors:
                raise UserError(f"checkpoint: EMA weights for {n!r} are missing")
            self.shadow[n].copy_(tensors[key])


def grad_norm_clip(optimizers: dict[str, torch.optim.Optimizer], max_norm: float) -> torch.Tensor:
    """Clip the global gradient norm over every optimizer's parameters; return the norm before clipping
    (a 0-d tensor, so that no device synchronisation happens here)."""
    params = [p for opt in optimizers.values() for g in opt.param_groups for p in g["params"] if p.grad is not None]
    return torch.nn.utils.clip_grad_norm_(params, max_norm)
