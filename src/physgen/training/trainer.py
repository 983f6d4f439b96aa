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
one bit for bit (on the same device and thread count).  Under ``torchrun`` the checkpoint also holds every
rank's own state (its tensors that differ from rank 0's, e.g. persistent chains, and its RNG states:
:func:`physgen.training.checkpoint.add_rank_states`), so a run resumed with the same number of processes
reproduces the uninterrupted one too.
"""
from __future__ import annotations

import functools
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
from physgen.training import steps
from physgen.training.data import BatchOrder, TensorData
from physgen.training.logbook import Logbook
from physgen.training.optim import EMA, build_optimizers, set_learning_rates
from physgen.training.span import Span
from physgen.training.window import Window
from physgen.training.probe import (PROBES_PER_BUDGET, PROBES_PER_RUN, PROBES_UNTIL_FLOOR, Cadence, StepCadence,
                                    untouched)

EVENTS = ("on_train_start", "on_batch_end", "on_log", "on_validation", "on_quality", "on_checkpoint",
          "on_epoch_end", "on_divergence", "on_train_end")


class TrainingDiverged(UserError):
    """NaN/Inf loss or parameters; the last good checkpoint has been restored."""


PURPOSES = {"step": 0, "start": 1, "validate": 2, "preview": 3, "quality": 4, "augment": 5}

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
    ``max_time`` budget, convergence (``patience`` seconds without a better validation score), or a
    callback setting ``trainer.stop_requested``; it returns a summary dict.  With neither steps nor epochs
    the budget is ``max_time`` alone (a time budget).

    ``probe`` (a :class:`physgen.training.probe.Validator`) scores samples of the model against held-out data
    at a wall-clock cadence costing <= 5% of the time (:class:`physgen.training.probe.Cadence`) and once at
    the end: the values go to ``metrics.csv`` as ``val_*``, to ``trainer.last_quality`` and the
    ``on_quality`` event, and they pick the ``best`` checkpoint: the latest probe whose ``score`` is within the
    probe's ``tolerance`` (one standard deviation of a score at the floor) of the lowest score so far, or of
    the floor when the lowest lies below it (``Validator.tie_bound``).  Scores that close cannot be told
    apart by the probe, and of two such states the later one has trained longer:
    the one-standard-error rule (Breiman et al. 1984, *Classification and Regression Trees*, §3.4.3; Hastie,
    Tibshirani & Friedman 2009, *The Elements of Statistical Learning*, §7.10) with "simplest" read as "most
    trained".  A noisy probe on a small held-out set therefore no longer keeps an early state as ``best``
    by a lucky draw.
    """

    def __init__(self, model, config: TrainConfig, data: TensorData, *, run_dir: str | Path | None = None,
                 val_data: TensorData | None = None, ctx: dist.DistContext | None = None,
                 device: torch.device | None = None, probe=None, augment=None):
        self.cfg, self.ctx = config, ctx or dist.DistContext()
        self.augment = augment   # None, or (x, generator) -> x: training batches' symmetry images
        self.device = device or dist.resolve_device(config.device, self.ctx.local_rank)
        self.dtype = getattr(torch, config.dtype)
        self.model = model.to(device=self.device, dtype=self.dtype)
        self.data = data.to(self.device, self.dtype)
        self.val_data = val_data.to(self.device, self.dtype) if val_data is not None else None
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._streamed = bool(getattr(data, "streamed", False))  # a file larger than memory (training.stream)
        if self._streamed:
            self.order = data.order(config.batch_size, seed=config.seed, drop_last=config.drop_last,
                                    world=self.ctx.world_size)
        else:
            self.order = BatchOrder(len(data), config.batch_size, seed=config.seed, drop_last=config.drop_last,
                                    world=self.ctx.world_size)
        self.total_steps = (config.steps if config.steps is not None else
                            config.epochs * self.order.batches_per_epoch if config.epochs is not None else None)
        if self.total_steps is None and config.max_time is None:
            raise UserError("train.epochs, train.steps, train.max_time: no budget; set one of them")
        self.optimizers = build_optimizers(model.parameter_groups(), config)
        self.ema = EMA(model, config.ema) if config.ema else None
        self.callbacks: dict[str, list[Callable]] = defaultdict(list)
        self.step = self.epoch = self.position = self.retries = 0
        self.lr_scale, self.best, self.elapsed = 1.0, math.inf, 0.0
        self.stop_requested, self.status, self.last_logs, self.last_val = False, "running", {}, {}
        self.probe, self.last_quality, self.best_quality, self.best_step = probe, {}, {}, None
        # probes at fixed steps of a step budget (reproducible), at a wall-clock share of a time budget
        self._cadence = (StepCadence(self.total_steps, PROBES_UNTIL_FLOOR if config.until == "floor" else PROBES_PER_RUN)
                         if self.total_steps is not None else Cadence())
        self.stopped_by: str | None = None           # what ended the run (see :meth:`result`)
        self._quality_step: int | None = None          # step of the last probe
        self._span = Span.fresh(self.total_steps)    # the lr schedule's steps
        self._good: tuple[dict, dict] | None = None   # the last good state (rollback point)
        self._checked = 0                             # step of the last parameter check (or start/restore)
        self._written: tuple[int, float] | None = None  # (step, monotonic time) of the last checkpoint on disk
        self._writer: ckpt.BackgroundWriter | None = None
        self.logbook: Logbook | None = None           # metrics.csv during fit (rank 0 with a run directory)
        self._terminate = False  # set by SIGTERM (e.g. a batch system's wall-time warning)
        self._window = Window()
        # set when fit() starts: the clock, the progress bar, the step strategy (loss through DDP or not,
        # closed-form gradients), the optimizers the step uses, and the (step, time, probe seconds) that a time
        # budget's step rate counts from
        now = time.monotonic()
        self._t0 = self._t_last = self._best_at = now
        self._bar = tqdm(disable=True)
        self._step: steps.LossStep | steps.AdversarialStep | None = None   # the step strategy (steps.choose)
        self._plan_from: tuple[int, float, float] = (0, now, 0.0)

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
        self._bar = self._progress_bar()
        previous = _on_sigterm(self)
        try:
            while not self._capped() and not self.stop_requested:
                if self.position >= self.order.batches_per_epoch:
                    self._end_epoch()
                    continue
                self._one_step()
                if self.position >= self.order.batches_per_epoch and not self._capped():
                    self._end_epoch()
        finally:
            self._bar.close()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        return self._finish()

    def _capped(self) -> bool:
        return self.total_steps is not None and self.step >= self.total_steps

    def _progress_bar(self):
        """Steps out of the step cap; with a time budget, seconds out of ``max_time`` (steps in the postfix)."""
        disable = True if not (self.cfg.progress and self.ctx.is_main) else None
        if self.total_steps is not None:
            return tqdm(total=self.total_steps, initial=self.step, unit="step", file=sys.stderr, dynamic_ncols=True,
                        disable=disable)
        return tqdm(total=self.cfg.max_time, unit="s", file=sys.stderr, dynamic_ncols=True, disable=disable,
                    bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}{postfix}]")

    def _bar_update(self) -> None:
        if self.total_steps is not None:
            self._bar.update(1)
        elif not self._bar.disable:
            self._bar.update(min(time.monotonic() - self._t0, self.cfg.max_time) - self._bar.n)

    def _start(self, resume: bool) -> None:
        if resume:
            if self.run_dir is None:
                raise UserError("no run directory to resume from")
            path, tensors, state, skipped = ckpt.load_newest_valid(
                self.run_dir / "checkpoints", model=self.model.name, model_version=self._model_version)
            tensors, state = ckpt.for_rank(tensors, state, self.ctx.rank, self.ctx.world_size, path)
            # DDP starts by broadcasting rank 0's parameters: wrap first, so that each rank's own values stay
            self._step = steps.choose(self.model, self.ctx, self.optimizers, self.cfg.grad_clip)
            self._restore(tensors, state)
            if skipped:
                self.say(ckpt.skipped_line(skipped, path))
            self._span = Span.resumed(state.get("schedule") or {}, self.step, self.total_steps)
            self.model.on_fit_start(self.data.all(), resumed=True, generator=self._generator(self.step, "start"))
            self._written = (self.step, time.monotonic())
            if self.logbook is not None:
                self.logbook.truncate_after(self.step)
        else:
            self.model.on_fit_start(self.data.all(), resumed=False, generator=self._generator(0, "start"))
            self.save_checkpoint(event=False)
            self._step = steps.choose(self.model, self.ctx, self.optimizers, self.cfg.grad_clip)
        if self.probe is not None and self.ctx.is_main:
            self._plan_probes()
        self._t_last = self._best_at = time.monotonic()
        # (step, time, probe seconds) the step rate counts from
        self._plan_from = (self.step, self._t_last, self._cadence.spent)
        self.trigger("on_train_start")

    def _horizon_candidate(self) -> float:
        """A time budget's estimated last step of the schedule's span (0 while the timing warm-up lasts, or not
        needed): the step rate measured so far (probe time excluded) times the budget's remaining seconds."""
        if not self._span.needs_estimate(self.cfg.schedule):
            return 0.0
        step0, t0, probe0 = self._plan_from
        now = time.monotonic()
        share = self._cadence.share if self.probe is not None else 0.0   # (the probes' expected share)
        return self._span.estimate(step=self.step, steps_timed=self.step + 1 - step0,
                                   seconds_timed=now - t0 - (self._cadence.spent - probe0),
                                   remaining=max(self.cfg.max_time - (now - self._t0), 0.0) * (1.0 - share),
                                   max_time=self.cfg.max_time)

    def _one_step(self) -> None:
        if self._streamed:
            batch = self.data.batch_at(self.order, self.epoch, self.position, self.ctx.rank, self.ctx.world_size)
            rows = batch["x"].shape[0]
        else:
            idx = self.order.indices(self.epoch, self.position, self.ctx.rank, self.ctx.world_size)
            batch, rows = self.data.batch(idx.to(self.device)), idx.shape[0]
        if self.augment is not None:   # random symmetry images, drawn from the step's own generator
            batch["x"] = self.augment(batch["x"], self._generator(self.step, "augment"))
        lr = set_learning_rates(self.optimizers, self.cfg, self.step, self._span.horizon, self.lr_scale,
                                self._span.start)
        if not self.model.training:
            self.model.train()
        loss, value, logs = self._step.run(batch, self._generator(self.step))
        nonfinite = value is not None and not math.isfinite(value)
        bad, late, term, stop, horizon = dist.all_reduce_max(
            [float(nonfinite), float(self._over_time()), float(self._terminate), float(self.stop_requested),
             self._horizon_candidate()], self.ctx, self.device)
        if bad:
            return self._diverged(self.step + 1, f"loss is {value}" if nonfinite else "on another rank")
        self._step.update(loss)
        if self.ema is not None:
            self.ema.update(self.model)
        self.step, self.position = self.step + 1, self.position + 1
        if horizon:
            self._span.horizon = int(horizon)
        self._window.add(value, logs, rows * self.ctx.world_size, lr)
        self._bar_update()
        self.trigger("on_batch_end")
        self._periodic()
        if stop:
            self.stop_requested = True
        if late or term:
            # a time budget that ran out is the run's plan; a step budget that the time cap cut short is not
            timed_out = "completed" if self.total_steps is None else "max-time"
            self.stop_requested, self.status = True, timed_out if late else "terminated"
            self.stopped_by = "time" if late else "signal"

    def _periodic(self) -> None:
        cfg, s = self.cfg, self.step
        if s % cfg.log_every == 0 and not self._log():
            return  # diverged and rolled back
        if cfg.val_every and s % cfg.val_every == 0:
            self.validate()
        if self.probe is not None and self.ctx.is_main and self._probe_due():
            self.quality()
        if cfg.checkpoint_every and s % cfg.checkpoint_every == 0:
            self.save_checkpoint()
        if cfg.preview_every and s % cfg.preview_every == 0:
            self.preview()

    def _probe_due(self) -> bool:
        if isinstance(self._cadence, StepCadence):
            return self._cadence.due(self.step)
        return self._cadence.due(time.monotonic() - self._t0)

    def _end_epoch(self) -> None:
        self.epoch, self.position = self.epoch + 1, 0
        if not self.cfg.val_every and self.probe is None:  # (with a probe: at the probe's cadence)
            self.validate()
        if not self.cfg.checkpoint_every:
            snapshot, disk = self._epoch_end_due()
            if snapshot or disk:
                self.save_checkpoint(to_disk=disk)
        self.trigger("on_epoch_end")

    def _finish(self) -> dict[str, Any]:
        if self.status == "running":
            self.status = "completed" if self._capped() else "stopped"
        if self._window.n:
            self._log()
        if self.position >= self.order.batches_per_epoch:
            self._end_epoch()
        if self.probe is not None and self.ctx.is_main and self._quality_step != self.step:
            self.quality(final=True)
        ended = self._span.timed and self.status == "completed" and not self._span.ended
        if ended:   # the time budget was spent: a later --resume --max-time starts a new span
            self._span.ended = True
        if self._written is None or self._written[0] != self.step or ended:
            self.save_checkpoint()
        self.preview()
        if self._writer is not None:
            self._writer.wait()  # the last checkpoint is on disk before on_train_end and the summary
        self.trigger("on_train_end")
        if self.logbook is not None:
            self.logbook.close()
        return self.result()

    def result(self) -> dict[str, Any]:
        """What ``fit`` returns: status, what stopped the run (``stopped_by``: ``budget`` — the planned steps
        were done; ``time`` — ``max_time`` ran out, before the planned steps when there are any; ``floor`` —
        ``train.until = "floor"`` and the probe reached its floor; ``patience``, ``signal``, ``request``
        (a callback or Ctrl-C), ``divergence``), step, epoch, planned steps, times, lr scale, retries, last
        logs, validation."""
        return {"status": self.status, "stopped_by": self._stop_reason(), "step": self.step, "epoch": self.epoch,
                "position": self.position, "total_steps": self.total_steps, "planned_steps": self.total_steps,
                "wall_time_s": time.monotonic() - self._t0,
                "train_time_s": self.elapsed, "lr_scale": self.lr_scale, "retries": self.retries,
                "last": self.last_logs, "validation": self._validation_summary()}

    def _stop_reason(self) -> str | None:
        if self.stopped_by is not None:
            return self.stopped_by
        return {"completed": "budget", "stopped": "request", "converged": "patience", "diverged": "divergence",
                "max-time": "time", "terminated": "signal"}.get(self.status)

    def _validation_summary(self) -> dict[str, Any] | None:
        """What ``summary.json`` records under ``validation`` (None without a probe or off rank 0)."""
        if self.probe is None or not self.ctx.is_main:
            return None
        best = self.best_quality or self.last_quality
        return {"metric": self.probe.name, "best": best, "best_step": self.best_step, "final": self.last_quality,
                "final_step": self._quality_step, "floor": self.probe.floor, "tolerance": self.probe.tolerance,
                "verdict": self.probe.verdict(best) if best else None, "probes": self._cadence.count,
                "probe_time_s": self._cadence.spent, "probe_samples": self.probe.size}

    # --- helpers -----------------------------------------------------------------------------------
    @property
    def _writes(self) -> bool:
        return self.run_dir is not None and self.ctx.is_main

    @property
    def _model_version(self) -> int:
        return int(getattr(type(self.model), "checkpoint_version", 1))

    def _generator(self, step: int, purpose: str = "step") -> torch.Generator:
        """A new generator seeded by ``(seed, rank, step, purpose)`` (:func:`step_seed`)."""
        seed = step_seed(self.cfg.seed, self.ctx.rank, step, purpose)
        return torch.Generator(device=self.device).manual_seed(seed)

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
            steps = {"step": self.step} if self.total_steps is None else {}
            self._bar.set_postfix(**steps, loss=f"{row.get('loss', math.nan):.4g}",
                                  samples_s=f"{row['samples_per_s']:.4g}", refresh=False)
        if self.step - self._checked >= self.cfg.guard_every and not self._params_finite():
            self._diverged(self.step, "a parameter is NaN/Inf")
            return False
        self.trigger("on_log")
        return True

    def validate(self) -> dict[str, float]:
        """Average of ``model.validate`` over the validation data (rank 0); logged as ``val_*``."""
        if self.val_data is None or not self.ctx.is_main:
            return {}
        sums: dict[str, float] = defaultdict(float)
        n = len(self.val_data)
        with untouched(self.model):  # a validation pass never changes the training (persistent chains, counters)
            for start in range(0, n, self.cfg.batch_size):
                idx = torch.arange(start, min(n, start + self.cfg.batch_size), device=self.device)
                gen = self._generator(self.step * 1_000_003 + start, "validate")
                out = self.model.validate(self.val_data.batch(idx), generator=gen)
                for k, v in out.items():
                    sums[k] += float(v) * len(idx)
        result = {f"val_{k}": v / n for k, v in sums.items()}
        if result and self.logbook is not None:
            self.logbook.log({"step": self.step, "epoch": self.epoch + self.position / self.order.batches_per_epoch,
                              **result})
        self.last_val = result
        self.trigger("on_validation")
        return result

    def _plan_probes(self) -> None:
        """With a time budget: time a small draw (:meth:`Validator.cost`), shrink the probe's reference so that
        a probe costs about ``share · max_time / PROBES_PER_BUDGET``; the first probe waits until its expected
        cost fits the share (:mod:`physgen.training.probe`).  A step budget's probes need no plan: they run at
        fixed steps on a reference of fixed size."""
        if isinstance(self._cadence, StepCadence):
            return
        t = time.monotonic()
        try:
            per_sample = self.probe.cost(self.model, self._generator(self.step, "quality"), self.ema)
        except (NotImplementedError, UserError) as exc:
            self._drop_probe(exc)
            return
        if self.cfg.max_time is not None:
            self.probe.fit(per_sample, self._cadence.share * self.cfg.max_time / PROBES_PER_BUDGET)
        self._cadence.expect(per_sample * self.probe.size, time.monotonic() - t)

    def _drop_probe(self, exc: Exception) -> None:
        """A model that cannot sample (or whose samples the probe refuses): train on without a probe."""
        self.say(f"physgen: no quality probe ({exc or type(exc).__name__}); best is chosen by the loss")
        self.probe = None

    def quality(self, *, final: bool = False) -> dict[str, float]:
        """Score samples of the model against the held-out data (rank 0, with a probe): ``val_<key>`` columns
        in ``metrics.csv``, ``last_quality``, the ``on_quality`` event.  A ``score`` up to the probe's
        ``tie_bound`` of the lowest so far writes the ``best`` checkpoint (see :class:`Trainer`); ``patience``
        seconds without a new lowest score stop the run (status ``converged``).
        Its cost counts towards the probe cadence (the loss validation runs with it when ``val_every = 0``)."""
        t = time.monotonic()
        try:
            values = self.probe(self.model, self._generator(self.step, "quality"), self.ema)
        except (NotImplementedError, UserError) as exc:
            self._drop_probe(exc)
            return {}
        if not self.cfg.val_every:
            self.validate()
        now = time.monotonic()
        self.last_quality, self._quality_step = values, self.step
        if self.logbook is not None:
            self.logbook.log({"step": self.step, "epoch": self.epoch + self.position / self.order.batches_per_epoch,
                              "time_s": self.elapsed + now - self._t_last, **{f"val_{k}": v for k, v in values.items()}})
        score = values.get("score", math.nan)
        if math.isfinite(score) and score <= self.probe.tie_bound(self.best):
            self.best_quality, self.best_step = values, self.step
            if score < self.best:
                self.best, self._best_at = score, now
            self._save_best()
        if (not final and self.cfg.patience is not None and now - self._best_at >= self.cfg.patience
                and self.status == "running"):
            self.stop_requested, self.status, self.stopped_by = True, "converged", "patience"
        if not final and self.cfg.until == "floor" and self.status == "running" and self.probe.at_floor(values):
            self.stop_requested, self.status, self.stopped_by = True, "completed", "floor"
        if not final:
            self._cadence.record(t - self._t0, time.monotonic() - t)   # (the best checkpoint's snapshot included)
        self.trigger("on_quality")
        return values
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
    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Everything needed to continue: (tensors on the CPU, JSON state)."""
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
                 "optimizers": opt_json, "rng": rng_j,
                 "schedule": {"name": self.cfg.schedule, "step": self.step, **self._span.to_json()},
                 "quality": {"best": self.best_quality, "best_step": self.best_step},
                 "window": self._window.to_json(),
                 "config": {"model": to_dict(self.model.config), "train": to_dict(self.cfg)}}
        return {k: v.detach().to("cpu", copy=True) for k, v in tensors.items()}, state

    def save_checkpoint(self, event: bool = True, *, to_disk: bool = True) -> None:
        """Snapshot the state (kept in memory as the last good state, the rollback point); rank 0 writes
        it to disk unless ``to_disk`` is False (epoch ends closer than ``checkpoint_interval`` seconds to
        the last written checkpoint: with short epochs the writes would cost more than the training)."""
        if self._good is not None and not self._params_finite():
            return self._diverged(self.step, "a parameter is NaN/Inf")
        tensors, state = self.state()
        self._good = (tensors, state)
        if not to_disk:
            return
        if self.ctx.enabled and self.run_dir is not None:
            tensors, state = self._with_rank_states(tensors, state)
        metric = self._metric() if self.probe is None else None   # with a probe, quality() picks best
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

    def _with_rank_states(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]
                          ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Add every rank's per-process state to rank 0's checkpoint (:func:`ckpt.add_rank_states`): the model
        tensors (buffers such as persistent chains; parameters too, where a model set them from its rank's data)
        and ``rng.torch`` that differ from rank 0's, and all ranks' RNG states (a collective).  The ranks first
        exchange a digest of each tensor, so only the tensors that differ travel."""
        own = {k: v for k, v in tensors.items() if k.startswith("model.") or k == "rng.torch"}
        digests = dist.gather_json({k: ckpt.digest(v) for k, v in own.items()}, self.ctx, self.device)
        differ = sorted(k for k in own if any(d.get(k) != digests[0][k] for d in digests[1:]))
        ranked = dist.gather_tensors({k: own[k] for k in differ}, self.ctx, self.device)
        rank_rng = dist.gather_json(state["rng"], self.ctx, self.device)
        if self.ctx.is_main:
            tensors, state = dict(tensors), dict(state)
            ckpt.add_rank_states(tensors, state, ranked, rank_rng)
        return tensors, state

    def _save_best(self) -> None:
        """Write the current state as a step checkpoint and as ``best`` (rank 0; the rollback point and the
        checkpoint cadence are left alone, so that the training does not depend on when probes ran).  Under
        ``torchrun`` only ``best`` is written: rank 0 alone probes, so it cannot collect the other ranks'
        state, and a step checkpoint without it would not resume exactly."""
        if not self._writes or not self._params_finite_here():
            return
        tensors, state = self.state()
        if self.logbook is not None:
            self.logbook.flush()
        if self.ctx.enabled:
            best = functools.partial(ckpt.save, self.run_dir / "checkpoints", "best", model=self.model.name,
                                     model_version=self._model_version)
            if self._writer is not None:
                self._writer.submit(best, tensors, state)
            else:
                best(tensors, state)
            return
        if self._writer is not None:
            self._writer.submit(self._write_checkpoint, ckpt.step_tag(self.step), tensors, state, True)
        else:
            self._write_checkpoint(ckpt.step_tag(self.step), tensors, state, True)

    def _params_finite_here(self) -> bool:
        sums = [p.detach().sum() for p in self.model.parameters()]
        return bool(torch.isfinite(torch.stack(sums)).all()) if sums else True

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
        (Snapshotting every epoch end costs a share of a short epoch: benchmarks/records/training.md.)  Ranks
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
        quality = state.get("quality") or {}
        self.best_quality, self.best_step = quality.get("best") or {}, quality.get("best_step")
        self._window = Window.from_json(state.get("window"))
        self._good, self._checked = (tensors, state), self.step

    def _diverged(self, step: int, reason: str) -> None:
        tensors, state = self._good
        lr_scale, retries = self.lr_scale, self.retries
        self._restore(tensors, state)
        if self.total_steps is not None:
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
        self._step.rebuild()


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
