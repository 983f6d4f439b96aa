"""The model-agnostic training loop.

Like minGPT's ``trainer.py``, this trainer knows nothing about what it trains.  The model gives
``loss(batch, generator=...) -> (scalar, logs)`` — or, with ``adversarial = True``,
``adversarial_step(batch, optimizers, generator=...) -> logs`` — and the trainer owns everything else:
device and dtype, seeding, optimizers per parameter group, learning-rate schedules, gradient clipping,
EMA, the progress bar, ``metrics.csv``, validation and preview hooks, checkpoints, exact resume,
the divergence guard and DDP.  Callbacks are registered by event name (:data:`EVENTS`) and receive the
trainer.

Reproducibility: the randomness of optimizer step ``s`` on rank ``r`` comes from a generator seeded
with ``(seed, r, s)``, and the data order of epoch ``e`` from ``(seed, e)``; a checkpoint therefore
needs only tensors plus ``(step, epoch, position)`` for a resumed run to reproduce an uninterrupted
one bit for bit (on the same device and thread count).
"""
from __future__ import annotations

import math
import signal
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from physgen.config import TrainConfig, to_dict
from physgen.errors import UserError
from physgen.training import checkpoint as ckpt
from physgen.training import distributed as dist
from physgen.training.data import BatchOrder, TensorData
from physgen.training.logbook import Logbook
from physgen.training.optim import EMA, build_optimizers, grad_norm_clip, set_learning_rates

EVENTS = ("on_train_start", "on_batch_end", "on_log", "on_validation", "on_checkpoint", "on_epoch_end",
          "on_divergence", "on_train_end")


class TrainingDiverged(UserError):
    """NaN/Inf loss or parameters; the last good checkpoint has been restored."""


PURPOSES = {"step": 0, "start": 1, "validate": 2, "preview": 3}


_M64 = (1 << 64) - 1


def _splitmix64(z: int) -> int:
    """One SplitMix64 output (Steele, Lea & Flood 2014): a bijective 64-bit mixer."""
    z = (z + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _chain(h: int, *values: int) -> int:
    """SplitMix64 chained over ``values`` from the 64-bit state ``h``."""
    for v in values:
        h = _splitmix64(h ^ (v & _M64))
    return h


def step_seed(seed: int, rank: int, step: int, purpose: str = "step") -> int:
    """63-bit seed of the generator for ``purpose`` at optimizer step ``step`` on rank ``rank``
    (SplitMix64 chained over the four integers: distinct inputs give decorrelated seeds; ~2 us)."""
    return _chain(_chain(0x57E9, seed, rank), step, PURPOSES[purpose]) >> 1


class Trainer:
    """Train ``model`` on ``data`` with ``config``; checkpoints go to ``run_dir/checkpoints``.

    ``fit(resume=False)`` runs until ``config.steps`` (or ``config.epochs``) optimizer steps, the
    ``max_time`` budget, or a callback setting ``trainer.stop_requested``; it returns a summary dict.
    """

    def __init__(self, model, config: TrainConfig, data: TensorData, *, run_dir: str | Path | None = None,
                 val_data: TensorData | None = None, ctx: dist.DistContext | None = None,
                 device: torch.device | None = None):
        self.cfg, self.ctx = config, ctx or dist.DistContext()
        self.device = device or dist.resolve_device(config.device, self.ctx.local_rank)
        self.dtype = getattr(torch, config.dtype)
        self.model = model.to(device=self.device, dtype=self.dtype)
        self.data = data.to(self.device, self.dtype)
        self.val_data = val_data.to(self.device, self.dtype) if val_data is not None else None
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.order = BatchOrder(len(data), config.batch_size, seed=config.seed, drop_last=config.drop_last,
                                world=self.ctx.world_size)
        self.total_steps = config.steps if config.steps is not None else config.epochs * self.order.batches_per_epoch
        self.optimizers = build_optimizers(model.parameter_groups(), config)
        self.ema = EMA(model, config.ema) if config.ema else None
        self.callbacks: dict[str, list[Callable]] = defaultdict(list)
        self.step = self.epoch = self.position = self.retries = 0
        self.lr_scale, self.best, self.elapsed = 1.0, math.inf, 0.0
        self.stop_requested, self.status, self.last_logs, self.last_val = False, "running", {}, {}
        self._good: tuple[dict, dict] | None = None   # the last good state (rollback point)
        self._good_reusable = False                   # _good is a memory-only snapshot (see save_checkpoint)
        self._checked = 0                             # step of the last parameter check (or start/restore)
        self._written: tuple[int, float] | None = None  # (step, monotonic time) of the last checkpoint on disk
        self._writer: ckpt.BackgroundWriter | None = None
        self.logbook: Logbook | None = None           # metrics.csv during fit (rank 0 with a run directory)
        self._terminate = False  # set by SIGTERM (e.g. a batch system's wall-time warning)
        self._window = _Window()
        self._config_json: dict[str, Any] | None = None   # both configs as JSON (fixed during training)
        self._step_gen: torch.Generator | None = None    # reseeded for every step (_generator) ...
        self._rank_seed = _chain(0x57E9, config.seed, self.ctx.rank)   # ... from step_seed's first half

    # --- callbacks ---------------------------------------------------------------------------
    def add_callback(self, event: str, fn: Callable[["Trainer"], None]) -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown trainer event {event!r} (events: {', '.join(EVENTS)})")
        self.callbacks[event].append(fn)

    def trigger(self, event: str) -> None:
        for fn in self.callbacks[event]:
            fn(self)

    # --- the loop ------------------------------------------------------------------------------
    def fit(self, *, resume: bool = False) -> dict[str, Any]:
        """Train; ``resume=True`` continues from the newest checkpoint in ``run_dir``."""
        self._t0 = time.monotonic()
        self._writer = ckpt.BackgroundWriter() if self._writes else None
        precision = torch.get_float32_matmul_precision()
        torch.set_float32_matmul_precision(self.cfg.matmul_precision)
        try:
            return self._fit(resume)
        finally:
            torch.set_float32_matmul_precision(precision)
            if self.logbook is not None:
                self.logbook.close()
            writer, self._writer = self._writer, None
            if writer is not None:
                _close_quietly_on_error(writer)

    def _fit(self, resume: bool) -> dict[str, Any]:
        self.logbook = Logbook(self.run_dir, tensorboard=self.cfg.tensorboard) if self._writes else None
        self._start(resume)
        self._bar = tqdm(total=self.total_steps, initial=self.step, unit="step", file=sys.stderr, dynamic_ncols=True,
                         disable=True if not (self.cfg.progress and self.ctx.is_main) else None)
        previous = _on_sigterm(self)
        try:
            while self.step < self.total_steps and not self.stop_requested:
                if self.position >= self.order.batches_per_epoch:
                    self._end_epoch()
                    continue
                self._one_step()
                if self.position >= self.order.batches_per_epoch and self.step < self.total_steps:
                    self._end_epoch()
        finally:
            self._bar.close()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        return self._finish()

    def _start(self, resume: bool) -> None:
        if resume:
            path = ckpt.latest(self.run_dir / "checkpoints") if self.run_dir is not None else None
            if path is None:
                raise UserError(f"{self.run_dir}: no checkpoint to resume from")
            self._restore(*ckpt.load(path, model=self.model.name, model_version=self._model_version))
            self.model.on_fit_start(self.data.all(), resumed=True, generator=self._generator(self.step, "start"))
            self._written = (self.step, time.monotonic())
            if self.logbook is not None:
                self.logbook.truncate_after(self.step)
        else:
            self.model.on_fit_start(self.data.all(), resumed=False, generator=self._generator(0, "start"))
            self.save_checkpoint(event=False)
        self._loss_fn = dist.loss_function(self.model, self.ctx) if not self.model.adversarial else None
        # closed-form gradients skip autograd; under DDP the loss path lets DDP all-reduce them
        self._closed_form = bool(self.model.closed_form_gradients) and not self.ctx.enabled
        self._step_optimizers = ({k: dist.SyncedOptimizer(o, self.ctx) for k, o in self.optimizers.items()}
                                 if self.ctx.enabled else self.optimizers)
        self._t_last = time.monotonic()
        self.trigger("on_train_start")

    def _one_step(self) -> None:
        idx = self.order.indices(self.epoch, self.position, self.ctx.rank, self.ctx.world_size)
        batch = self.data.batch(idx.to(self.device))
        lr = set_learning_rates(self.optimizers, self.cfg, self.step, self.total_steps, self.lr_scale)
        if not self.model.training:
            self.model.train()
        loss, value, logs = self._forward(batch, self._generator(self.step))
        nonfinite = value is not None and not math.isfinite(value)
        bad, late, term = dist.all_reduce_max([float(nonfinite), float(self._over_time()),
                                               float(self._terminate)], self.ctx, self.device)
        if bad:
            return self._diverged(self.step + 1, f"loss is {value}" if nonfinite else "on another rank")
        if not self.model.adversarial:
            self._backward_and_update(loss)
        if self.ema is not None:
            self.ema.update(self.model)
        self.step, self.position = self.step + 1, self.position + 1
        self._window.add(value, logs, idx.shape[0] * self.ctx.world_size, lr)
        self._bar.update(1)
        self.trigger("on_batch_end")
        self._periodic()
        if late or term:
            self.stop_requested, self.status = True, "max-time" if late else "terminated"

    def _forward(self, batch, generator):
        """(loss tensor or None, loss value, logs) for one step; adversarial models update here, and
        closed-form models write their gradients here (loss None).  Closed-form models are asked for the
        value only on the steps that end a logging window (value None otherwise: for an RBM it costs ~6% of
        a PCD-1 update); a NaN parameter makes that value NaN or fails the guard's parameter check, and is
        rolled back."""
        if self.model.adversarial:
            logs = self.model.adversarial_step(batch, self._step_optimizers, generator=generator)
            logs = {k: float(v) for k, v in logs.items()}
            bad = [v for v in logs.values() if not math.isfinite(v)]
            value = bad[0] if bad else float(logs.get("loss", next(iter(logs.values()), 0.0)))
            return None, value, logs
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)
        if self._closed_form:
            value, logs = self.model.gradients(batch, generator=generator)
            return None, None if value is None else float(value), {k: float(v) for k, v in logs.items()}
        loss, logs = self._loss_fn(batch, generator)
        return loss, float(loss.detach()), {k: float(v) for k, v in logs.items()}

    def _backward_and_update(self, loss: torch.Tensor | None) -> None:
        """Back-propagate ``loss`` (None: the model wrote its gradients, :meth:`GenerativeModel.gradients`),
        clip, step."""
        if loss is not None:
            loss.backward()
        if self.cfg.grad_clip is not None:
            grad_norm_clip(self.optimizers, self.cfg.grad_clip)
        for opt in self.optimizers.values():
            opt.step()

    def _periodic(self) -> None:
        cfg, s = self.cfg, self.step
        if s % cfg.log_every == 0 and not self._log():
            return  # diverged and rolled back
        if cfg.val_every and s % cfg.val_every == 0:
            self.validate()
        if cfg.checkpoint_every and s % cfg.checkpoint_every == 0:
            self.save_checkpoint()
        if cfg.preview_every and s % cfg.preview_every == 0:
            self.preview()

    def _end_epoch(self) -> None:
        self.epoch, self.position = self.epoch + 1, 0
        if not self.cfg.val_every:
            self.validate()
        if not self.cfg.checkpoint_every:
            snapshot, disk = self._epoch_end_due()
            if snapshot or disk:
                self.save_checkpoint(to_disk=disk)
        self.trigger("on_epoch_end")

    def _finish(self) -> dict[str, Any]:
        if self.status == "running":
            self.status = "completed" if self.step >= self.total_steps else "stopped"
        if self._window.n:
            self._log()
        if self.position >= self.order.batches_per_epoch:
            self._end_epoch()
        if self._written is None or self._written[0] != self.step:
            self.save_checkpoint()
        self.preview()
        if self._writer is not None:
            self._writer.wait()  # the last checkpoint is on disk before on_train_end and the summary
        self.trigger("on_train_end")
        if self.logbook is not None:
            self.logbook.close()
        return {"status": self.status, "step": self.step, "epoch": self.epoch, "position": self.position,
                "total_steps": self.total_steps, "wall_time_s": time.monotonic() - self._t0,
                "train_time_s": self.elapsed, "lr_scale": self.lr_scale, "retries": self.retries,
                "last": self.last_logs}

    # --- helpers -----------------------------------------------------------------------------------
    @property
    def _writes(self) -> bool:
        return self.run_dir is not None and self.ctx.is_main

    @property
    def _model_version(self) -> int:
        return int(getattr(type(self.model), "checkpoint_version", 1))

    def _generator(self, step: int, purpose: str = "step") -> torch.Generator:
        """The generator of ``(seed, rank, step, purpose)``; the step one is a single object reseeded every step
        (a model must not keep it beyond the call), the others are new."""
        seed = _chain(self._rank_seed, step, PURPOSES[purpose]) >> 1   # = step_seed(seed, rank, step, purpose)
        if purpose != "step":
            return torch.Generator(device=self.device).manual_seed(seed)
        if self._step_gen is None:
            self._step_gen = torch.Generator(device=self.device)
        return self._step_gen.manual_seed(seed)

    def _over_time(self) -> bool:
        return self.cfg.max_time is not None and time.monotonic() - self._t0 >= self.cfg.max_time

    def say(self, message: str) -> None:
        """One line on stderr (rank 0 only), without breaking the progress bar."""
        if self.ctx.is_main:
            tqdm.write(message, file=sys.stderr)

    def _params_finite(self) -> bool:
        # a sum is NaN/Inf when any element is (one pass per tensor; overflow needs |sum| > 3e38)
        self._checked = self.step
        sums = [p.detach().sum() for p in self.model.parameters()]
        ok = bool(torch.isfinite(torch.stack(sums)).all()) if sums else True
        return not dist.all_reduce_max([float(not ok)], self.ctx, self.device)[0]

    # --- logging, validation, previews ----------------------------------------------------------------
    def _log(self) -> bool:
        """Write a metrics row; False when a NaN/Inf parameter triggered a rollback."""
        now = time.monotonic()
        self.elapsed += now - self._t_last
        row = self._window.row(now - self._t_last)
        self._t_last = now
        if "loss" in row:
            row["loss"] = dist.all_reduce_mean(row["loss"], self.ctx, self.device)
        self.last_logs = {"step": self.step, "epoch": self.epoch + self.position / self.order.batches_per_epoch,
                          **row, "time_s": self.elapsed}
        if self.logbook is not None:
            self.logbook.log(self.last_logs)
        if not self._bar.disable:
            self._bar.set_postfix(loss=f"{row.get('loss', math.nan):.4g}", samples_s=f"{row['samples_per_s']:.4g}", refresh=False)
        if self.step - self._checked >= self.cfg.guard_every and not self._params_finite():
            self._diverged(self.step, "a parameter is NaN/Inf")
            return False
        self.trigger("on_log")
        return True

    def validate(self) -> dict[str, float]:
        """Average of ``model.validate`` over the validation data (rank 0); logged as ``val_*``."""
        if self.val_data is None or not self.ctx.is_main:
            return {}
        self.model.eval()
        sums: dict[str, float] = defaultdict(float)
        n = len(self.val_data)
        for start in range(0, n, self.cfg.batch_size):
            idx = torch.arange(start, min(n, start + self.cfg.batch_size), device=self.device)
            gen = self._generator(self.step * 1_000_003 + start, "validate")
            out = self.model.validate(self.val_data.batch(idx), generator=gen)
            for k, v in out.items():
                sums[k] += float(v) * len(idx)
        self.model.train()
        result = {f"val_{k}": v / n for k, v in sums.items()}
        if result and self.logbook is not None:
            self.logbook.log({"step": self.step, "epoch": self.epoch + self.position / self.order.batches_per_epoch,
                              **result})
        self.last_val = result
        self.trigger("on_validation")
        return result

    def preview(self) -> Path | None:
        """Save ``model.preview()`` (an image array) as ``previews/step-N.png`` (rank 0)."""
        if not self._writes:
            return None
        self.model.eval()
        try:
            image = self.model.preview(generator=self._generator(self.step, "preview"))
        except (NotImplementedError, UserError) as exc:
            if str(exc):
                self.say(f"physgen: no preview ({exc})")
            image = None
        finally:
            self.model.train()
        if image is None:
            return None
        import matplotlib.image

        from physgen.atomic import atomic_path

        path = self.run_dir / "previews" / f"{ckpt.step_tag(self.step)}.png"
        with atomic_path(path) as tmp:
            matplotlib.image.imsave(tmp, np.asarray(image), cmap="gray", format="png")
        return path

    # --- checkpoints, restore, divergence ---------------------------------------------------------------
    def state(self, into: dict[str, torch.Tensor] | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Everything needed to continue: (tensors on the CPU, JSON state).  ``into``: an earlier snapshot
        no one else holds, whose tensors are overwritten where shape and dtype match (no allocation)."""
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        opt_json = {}
        for name, opt in self.optimizers.items():
            t, j = ckpt.optimizer_state(name, opt)
            tensors.update(t)
            opt_json[name] = j
        if self.ema is not None:
            tensors.update(self.ema.state_tensors())
        rng_t, rng_j = ckpt.rng_state()
        tensors.update(rng_t)
        state = {"step": self.step, "epoch": self.epoch, "position": self.position, "lr_scale": self.lr_scale,
                 "retries": self.retries, "best": self.best if math.isfinite(self.best) else None,
                 "elapsed": self.elapsed, "world_size": self.ctx.world_size, "total_steps": self.total_steps,
                 "optimizers": opt_json, "rng": rng_j, "schedule": {"name": self.cfg.schedule, "step": self.step},
                 "window": self._window.to_json(), "config": self._configs()}
        return {k: _cpu_copy(v, None if into is None else into.get(k)) for k, v in tensors.items()}, state

    def _configs(self) -> dict[str, Any]:
        """``{"model": …, "train": …}`` as saved in every checkpoint (built once: converting the two dataclasses
        was ~15% of an epoch-end snapshot of the 576×500 RBM)."""
        if self._config_json is None:
            self._config_json = {"model": to_dict(self.model.config), "train": to_dict(self.cfg)}
        return self._config_json

    def save_checkpoint(self, event: bool = True, *, to_disk: bool = True) -> None:
        """Snapshot the state (kept in memory as the last good state, the rollback point); rank 0 writes
        it to disk unless ``to_disk`` is False (epoch ends closer than ``checkpoint_interval`` seconds to
        the last written checkpoint: with short epochs the writes would cost more than the training)."""
        if self._good is not None and not self._params_finite():
            return self._diverged(self.step, "a parameter is NaN/Inf")
        # a memory-only snapshot is overwritten in place by the next one (one that went to the writer, or
        # came from disk, is never reused: the writer may still be reading it)
        tensors, state = self.state(into=self._good[0] if self._good is not None and self._good_reusable else None)
        self._good, self._good_reusable = (tensors, state), not to_disk
        if not to_disk:
            return
        metric = self._metric()
        is_best = metric is not None and metric < self.best
        if is_best:
            self.best = state["best"] = metric
        self._written = (self.step, time.monotonic())
        if self.logbook is not None:
            self.logbook.flush()  # every row up to a checkpoint on disk is in metrics.csv
        if self._writes and self._writer is not None:
            self._writer.submit(self._write_checkpoint, ckpt.step_tag(self.step), tensors, state, is_best)
        elif self._writes:  # outside fit(): write now
            self._write_checkpoint(ckpt.step_tag(self.step), tensors, state, is_best)
        dist.barrier(self.ctx)
        if event:
            if self._writer is not None and self.callbacks["on_checkpoint"]:
                self._writer.wait()  # callbacks may read the files
            self.trigger("on_checkpoint")

    def _write_checkpoint(self, tag: str, tensors: dict[str, torch.Tensor], state: dict[str, Any],
                          is_best: bool) -> None:
        """Runs on the background writer: the step checkpoint, ``best`` when it improved, pruning."""
        directory = self.run_dir / "checkpoints"
        ckpt.save(directory, tag, tensors, state, model=self.model.name, model_version=self._model_version)
        if is_best:
            ckpt.copy(directory, tag, "best")
        ckpt.prune(directory, self.cfg.keep_last)

    def _epoch_end_due(self) -> tuple[bool, bool]:
        """(snapshot, disk) at an epoch end: the state is snapshotted in memory when ``guard_every`` steps have
        passed since the last snapshot (a step count, so that a rollback, and a retry after it, is reproducible),
        and written to disk when ``checkpoint_interval`` seconds have passed since the last written checkpoint.
        (An RBM epoch of 29 updates takes ~30 ms; snapshotting each, ~0.3 ms, was 1% of the training.)  Ranks
        agree on the disk write (any rank due -> all): it ends in a barrier that every rank must join."""
        snapshot = self.step - self._good[1]["step"] >= self.cfg.guard_every
        due = self._written is None or time.monotonic() - self._written[1] >= self.cfg.checkpoint_interval
        disk = bool(dist.all_reduce_max([float(due)], self.ctx, self.device)[0])
        return snapshot, disk

    def _metric(self) -> float | None:
        val = self.last_val.get("val_loss")
        if val is not None and math.isfinite(val):
            return val
        loss = self.last_logs.get("loss")
        return loss if loss is not None and math.isfinite(loss) else None

    def _restore(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        ckpt.check_model_config(state, self.model.config)
        model_sd = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        try:
            self.model.load_state_dict(model_sd, strict=True)
        except RuntimeError as exc:
            raise UserError(f"checkpoint does not match this model's configuration "
                            f"({str(exc).splitlines()[0][:160]})") from None
        for name, opt in self.optimizers.items():
            if name not in state["optimizers"]:
                raise UserError(f"checkpoint has no state for optimizer {name!r}")
            ckpt.load_optimizer_state(name, opt, tensors, state["optimizers"][name])
        if self.ema is not None:
            self.ema.load_tensors(tensors)
        ckpt.set_rng_state(tensors, state.get("rng", {}))
        for key in ("step", "epoch", "position", "lr_scale", "retries", "elapsed"):
            setattr(self, key, state[key])
        self.best = state["best"] if state.get("best") is not None else math.inf
        self._window = _Window.from_json(state.get("window"))
        self._good, self._good_reusable, self._checked = (tensors, state), False, self.step

    def _diverged(self, step: int, reason: str) -> None:
        tensors, state = self._good
        lr_scale, retries = self.lr_scale, self.retries
        self._restore(tensors, state)
        self._bar.n = self.step
        if self.logbook is not None:
            self.logbook.truncate_after(self.step)
        message = f"training diverged at step {step} ({reason}); restored the checkpoint of step {self.step}"
        self.trigger("on_divergence")
        if self.cfg.on_divergence == "stop" or retries >= self.cfg.max_retries:
            self.status = "diverged"
            if self._written is None or self._written[0] != self.step:  # the restored state was in memory only
                self.save_checkpoint(event=False)
                if self._writer is not None:
                    self._writer.wait()
            hint = ("rerun with --on-divergence retry or a lower train.lr" if self.cfg.on_divergence == "stop"
                    else f"gave up after {retries} retries; lower train.lr")
            raise TrainingDiverged(f"{message}; {hint}")
        self.retries, self.lr_scale = retries + 1, lr_scale * self.cfg.retry_lr_factor
        self.say(f"physgen: {message}; retrying with the learning rate x{self.lr_scale:g} "
                 f"(retry {self.retries}/{self.cfg.max_retries})")
        if self._loss_fn is not None and self.ctx.enabled:
            self._loss_fn = dist.loss_function(self.model, self.ctx)


def _cpu_copy(t: torch.Tensor, buffer: torch.Tensor | None) -> torch.Tensor:
    """A CPU copy of ``t``, written into ``buffer`` when its shape and dtype match."""
    if buffer is not None and buffer.shape == t.shape and buffer.dtype == t.dtype:
        return buffer.copy_(t.detach())
    return t.detach().to("cpu", copy=True)


def _close_quietly_on_error(writer: ckpt.BackgroundWriter) -> None:
    """Close the checkpoint writer; its own error is raised only when no other exception is propagating."""
    if sys.exc_info()[0] is None:
        writer.close()
        return
    try:
        writer.close()
    except Exception:  # the exception already propagating is the one to report
        pass


def _on_sigterm(trainer: Trainer):
    """Make SIGTERM stop training cleanly at the next step boundary (with a checkpoint); returns the
    previous handler, or None when not in the main thread (signal handlers cannot be set there)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        trainer._terminate = True
    return signal.signal(signal.SIGTERM, handler)


class _Window:
    """Running sums between two logging steps (the loss over the steps that computed it, ``n_loss``)."""

    def __init__(self):
        self.n, self.n_loss, self.samples, self.loss, self.lr = 0, 0, 0, 0.0, 0.0
        self.logs: dict[str, float] = defaultdict(float)

    def add(self, loss: float | None, logs: dict[str, float], samples: int, lr: float) -> None:
        self.n, self.samples, self.lr = self.n + 1, self.samples + samples, lr
        if loss is not None:
            self.n_loss, self.loss = self.n_loss + 1, self.loss + loss
        for k, v in logs.items():
            self.logs[k] += v

    def to_json(self) -> dict:
        return {"n": self.n, "n_loss": self.n_loss, "samples": self.samples, "loss": self.loss, "lr": self.lr,
                "logs": dict(self.logs)}

    @classmethod
    def from_json(cls, d: dict | None) -> "_Window":
        w = cls()
        if d:
            w.n, w.samples, w.loss, w.lr = d["n"], d["samples"], d["loss"], d["lr"]
            w.n_loss = d.get("n_loss", w.n)   # (checkpoints before the lazily evaluated loss)
            w.logs.update(d["logs"])
        return w

    def row(self, seconds: float) -> dict[str, float]:
        """The window's averages (no ``loss`` when no step of it computed one)."""
        n = max(self.n, 1)
        row = {"lr": self.lr, **({"loss": self.loss / self.n_loss} if self.n_loss else {}),
               "samples_per_s": self.samples / max(seconds, 1e-9)}
        row.update({k: v / n for k, v in self.logs.items() if k != "loss"})
        self.__init__()
        return row
