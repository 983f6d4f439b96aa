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
state is the step counter and the divergence guard's ``lr_scale``.
EMA: theta_ema <- decay * theta_ema + (1 - decay) * theta after every step (Polyak averaging).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.optim.optimizer import _global_optimizer_post_hooks, _global_optimizer_pre_hooks

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
            out[name] = SGD(params, momentum=cfg.momentum, fused=_fusable(params), **kw)
        elif cfg.optimizer == "adam":
            out[name] = torch.optim.Adam(params, betas=tuple(cfg.betas), **kw)
        else:
            out[name] = torch.optim.AdamW(params, betas=tuple(cfg.betas), **kw)
    if not out:
        raise UserError("model has no trainable parameters")
    return out


class SGD(torch.optim.SGD):
    """``torch.optim.SGD`` (same arguments, state dict and checkpoints) whose plain update — no momentum,
    weight decay, Nesterov or maximisation, as in the course's RBM (lr 0.1) — is one multi-tensor
    ``θ ← θ − lr·∇θ`` (``torch._foreach_add_``, the primitive PyTorch's own optimizers are built on); every
    other case, and a closure, goes to PyTorch's step.  It skips the generic step's per-call bookkeeping
    (parameter grouping, state look-ups, the fused kernel's launch): a few per cent of an RBM PCD-1 update
    on one CPU core (`benchmarks/rbm.py speed`).  PyTorch wraps every optimizer's ``step`` in a
    profiler record and its hook calls, and ``zero_grad`` in another record (together ~20 µs a step); here
    the plain update runs without them when no step hook is registered, and ``zero_grad(set_to_none=True)``
    is a loop that drops the ``.grad`` fields."""

    def _patch_step_function(self) -> None:  # (keep PyTorch's wrapper off this class's step)
        self._zero_grad_profile_name = f"Optimizer.zero_grad#{type(self).__name__}.zero_grad"

    def step(self, closure=None):
        if closure is not None or _step_hooks(self) or not all(_plain(group) for group in self.param_groups):
            return _hooked_sgd_step(self, closure)
        with torch.no_grad():
            for group in self.param_groups:
                params = [p for p in group["params"] if p.grad is not None]
                if params:
                    torch._foreach_add_(params, [p.grad for p in params], alpha=-group["lr"])
        return None

    def zero_grad(self, set_to_none: bool = True) -> None:
        if not set_to_none:
            return super().zero_grad(set_to_none)
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None
        return None


def _sgd_step(opt: torch.optim.Optimizer, closure=None):
    """PyTorch's SGD step itself (without the profiler wrapper PyTorch adds once an SGD is created)."""
    base = torch.optim.SGD.step
    return (base.__wrapped__ if getattr(base, "hooked", False) else base)(opt, closure)


_hooked_sgd_step = torch.optim.Optimizer.profile_hook_step(_sgd_step)  # with its profiler record and hooks


def _step_hooks(opt: torch.optim.Optimizer) -> bool:
    return bool(opt._optimizer_step_pre_hooks or opt._optimizer_step_post_hooks or _global_optimizer_pre_hooks
                or _global_optimizer_post_hooks)


_SPECIAL = ("momentum", "weight_decay", "nesterov", "maximize", "differentiable")


def _plain(group: dict) -> bool:
    if any(group.get(k) for k in _SPECIAL):
        return False
    return not any(p.grad is not None and p.grad.is_sparse for p in group["params"])


def _fusable(params: list[nn.Parameter]) -> bool | None:
    """PyTorch's fused (one-kernel) SGD update when every parameter is a float tensor on the CPU or a CUDA
    device (the same update; on CPU ~0.03 ms less per SGD-with-momentum step at 576×500); else the default.
    Adam/AdamW keep PyTorch's default implementation: its fused kernel rounds differently, which moved the
    slow tt̄ WGAN-GP check's classifier AUC from inside its 0.65 bound to 0.670."""
    ok = all(p.device.type in ("cpu", "cuda") and p.dtype in (torch.float16, torch.bfloat16, torch.float32,
                                                               torch.float64) for p in params)
    return True if ok else None


def base_lr(cfg: TrainConfig, group: str) -> float:
    return float(cfg.group_lr.get(group, cfg.lr))


def schedule_factor(cfg: TrainConfig, step: int, total: int | None) -> float:
    """Multiplier of the base learning rate at optimizer step ``step`` (see module docstring)."""
    w = cfg.warmup_steps
    if step < w:
        return (step + 1) / w
    if cfg.schedule == "step":
        return cfg.gamma ** (step // cfg.step_size)
    if cfg.schedule == "exponential":
        return cfg.gamma ** (step / cfg.step_size)
    if cfg.schedule == "constant" or total is None or total <= w:
        return 1.0
    frac = min(1.0, (step - w) / (total - w))
    if cfg.schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * frac))
    return 1.0 - frac  # linear


def set_learning_rates(optimizers: dict[str, torch.optim.Optimizer], cfg: TrainConfig, step: int,
                       total: int | None, lr_scale: float) -> float:
    """Set every group's lr for ``step``; return the first group's (for logging)."""
    f = schedule_factor(cfg, step, total) * lr_scale
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
        torch._foreach_lerp_([self.shadow[n] for n in self.names], [params[n].detach() for n in self.names],
                             1.0 - self.decay)

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
