"""The model-agnostic training loop.

Like minGPT's ``trainer.py``, this trainer knows nothing about what it trains.  The model gives
``loss(batch, generator=...) -> (scalar, logs)`` — or, with the capability ``adversarial``,
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

import math
import time
from functools import partial
from pathlib import Path
from typing import Any

import torch

from physgen import threads
from physgen.budget import Budget
from physgen.config import TrainConfig
from physgen.errors import UserError
from physgen.training import checkpoint as ckpt
from physgen.training import distributed as dist
from physgen.training import signals, steps
from physgen.training.data import BatchOrder, TensorData
from physgen.training.optim import set_learning_rates
from physgen.training.run_parts import EVENTS, RunParts  # noqa: F401  (EVENTS: part of this module's API)
from physgen.streams import step_seed  # noqa: F401  (part of this module's API)
from physgen.training.span import Span
from physgen.training.trainer_checkpoints import TrainingDiverged  # noqa: F401  (part of this module's API)


class Trainer(RunParts):
    """Train ``model`` on ``data`` with ``config``; checkpoints go to ``run_dir/checkpoints``.

    ``fit(resume=False)`` runs the planned ``config.steps`` (or ``config.epochs``) optimizer steps, unless the
    ``max_time`` cap, ``--until floor``, convergence (``patience``), a signal or a callback calling
    :meth:`request_stop` (or setting ``trainer.stop_requested``) ends it earlier; it returns a summary dict.
    With neither steps nor epochs the budget is ``max_time`` alone (a time budget).  The loop draws the batches
    (``order``), takes the step (the step strategy, :mod:`~physgen.training.steps`; the schedule's span,
    :mod:`~physgen.training.span`) and decides when the run's parts act (:class:`~physgen.training.run_parts.
    RunParts`: ``progress``, ``checkpoints``, ``reporter``, ``checks``).
    """

    def __init__(self, model, config: TrainConfig, data: TensorData, *, run_dir: str | Path | None = None,
                 val_data: TensorData | None = None, ctx: dist.DistContext | None = None,
                 device: torch.device | None = None, probe=None, augment=None):
        ctx = ctx or dist.DistContext()
        device = device or dist.resolve_device(config.device, ctx.local_rank)
        self.augment = augment   # None, or (x, generator) -> x: training batches' symmetry images
        self.data = data.to(device, getattr(torch, config.dtype))
        self.val_data = val_data.to(device, getattr(torch, config.dtype)) if val_data is not None else None
        streamed = bool(getattr(data, "streamed", False))  # a file larger than memory (training.stream)
        self.order = (data.order if streamed else partial(BatchOrder, len(data)))(
            config.batch_size, seed=config.seed, drop_last=config.drop_last, world=ctx.world_size)
        total_steps = Budget.of(config).total_steps(self.order.batches_per_epoch)
        super().__init__(model, config, ctx=ctx, device=device, run_dir=run_dir, probe=probe,
                         total_steps=total_steps, batches_per_epoch=self.order.batches_per_epoch)
        self._streamed = streamed
        self._plan_from = (0, self._t0, 0.0)   # (step, time, probe seconds) a time budget's step rate counts from

    # --- the loop ------------------------------------------------------------------------------
    def fit(self, *, resume: bool = False) -> dict[str, Any]:
        """Train; ``resume=True`` continues from the newest checkpoint in ``run_dir``."""
        self._t0 = time.monotonic()
        self.checkpoints.writer = ckpt.BackgroundWriter() if self._writes else None
        precision = torch.get_float32_matmul_precision()
        torch.set_float32_matmul_precision(self.cfg.matmul_precision)
        small = threads.for_model(self.model, self.cfg.batch_size) if self.device.type == "cpu" else None
        try:
            with threads.torch_threads(small):   # one thread for a small model's steps (physgen.threads)
                return self._fit(resume)
        finally:
            torch.set_float32_matmul_precision(precision)
            self.reporter.close()
            writer, self.checkpoints.writer = self.checkpoints.writer, None
            if writer is not None:
                signals.close_quietly_on_error(writer)

    def _fit(self, resume: bool) -> dict[str, Any]:
        self.reporter.open(self.run_dir if self._writes else None)
        self._start(resume)
        self.reporter.open_bar()
        previous = signals.on_stop_signals(self)
        try:
            while not self._capped() and not self.stop_requested:
                if self.position >= self.order.batches_per_epoch:
                    self._end_epoch()
                    continue
                self._one_step()
                if self.position >= self.order.batches_per_epoch and not self._capped():
                    self._end_epoch()
        finally:
            self.reporter.bar.close()
            signals.restore(previous)
        return self._finish()

    def _capped(self) -> bool:
        return self.total_steps is not None and self.step >= self.total_steps

    def _start(self, resume: bool) -> None:
        if resume:
            if self.run_dir is None:
                raise UserError("no run directory to resume from")
            path, tensors, state, skipped = ckpt.load_newest_valid(
                self.run_dir / "checkpoints", model=self.model.name, model_version=self.checkpoints.model_version)
            tensors, state = ckpt.for_rank(tensors, state, self.ctx.rank, self.ctx.world_size, path)
            # DDP starts by broadcasting rank 0's parameters: wrap first, so that each rank's own values stay
            self._step = steps.choose(self.model, self.ctx, self.optimizers, self.cfg.grad_clip)
            self._restore(tensors, state)
            if skipped:
                self.say(ckpt.skipped_line(skipped, path))
            self._span = Span.resumed(state.get("schedule") or {}, self.step, self.total_steps)
            self.model.on_fit_start(self.data.all(), resumed=True, generator=self._generator(self.step, "start"))
            self.checkpoints.written = (self.step, time.monotonic())
            self.reporter.truncate_after(self.step)
        else:
            self.model.on_fit_start(self.data.all(), resumed=False, generator=self._generator(0, "start"))
            self.save_checkpoint(event=False)
            self._step = steps.choose(self.model, self.ctx, self.optimizers, self.cfg.grad_clip)
        if self.probe is not None and self.ctx.is_main:
            self.checks.plan(self.model, self.ema, self._generator(self.step, "quality"), batch_size=self.cfg.batch_size,
                             max_time=self.cfg.max_time, say=self.say)
        self.reporter.t_last = self.checks.lowest_at = time.monotonic()
        # (step, time, probe seconds) the step rate counts from
        self._plan_from = (self.step, self.reporter.t_last, self.checks.cadence.spent)
        self.trigger("on_train_start")
        if self._probe_pending and self.probe is not None and self.ctx.is_main:   # the probe a stop signal skipped
            self._probe_pending = False
            self.quality()

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
        loss, value, logs = self._step.run(batch, self._generator(self.step), self._value_needed())
        nonfinite = value is not None and not math.isfinite(value)
        bad, late, term, stop, horizon = dist.all_reduce_max(
            [float(nonfinite), float(self._over_time()), float(self._terminate), float(self.stop_requested),
             self._span.candidate(self.cfg.schedule, self.cfg.max_time, step=self.step, since=self._plan_from,
                                  started=self._t0, probe_spent=self.checks.cadence.spent,
                                  probe_share=self.checks.cadence.share if self.probe is not None else 0.0)],
            self.ctx, self.device)
        if bad:
            return self._diverged(self.step + 1, f"loss is {value}" if nonfinite else "on another rank")
        self._step.update(loss)
        if self.ema is not None:
            self.ema.update(self.model)
        self.step, self.position = self.step + 1, self.position + 1
        if horizon:
            self._span.horizon = int(horizon)
        self.reporter.window.add(value, logs, self.model.samples_in(batch, rows) * self.ctx.world_size, lr)
        self.reporter.tick(self._t0)
        self.trigger("on_batch_end")
        self._periodic(probe=not term)
        if stop:
            self.stop_requested = True
        if late or term:
            # a time budget that ran out is the run's plan; a step budget that the time cap cut short is not
            timed_out = "completed" if self.total_steps is None else "max-time"
            self.stop_requested, self.status = True, timed_out if late else "terminated"
            self.stopped_by = "time" if late else "signal"

    def _value_needed(self) -> bool:
        """Whether this step's loss value is needed: on the steps that end a ``metrics.csv`` row and on the last
        planned step (a closed-form step computes it only then; other steps always have it)."""
        step = self.step + 1
        return step % self.cfg.log_every == 0 or (self.total_steps is not None and step >= self.total_steps)

    def _periodic(self, *, probe: bool = True) -> None:
        """This step's logging, validation, probe, checkpoint and preview; without ``probe`` (a stop signal came)
        a probe due now is left to the resume (``_probe_pending``)."""
        cfg, s = self.cfg, self.step
        if s % cfg.log_every == 0 and not self._log():
            return  # diverged and rolled back
        if cfg.val_every and s % cfg.val_every == 0:
            self.validate()
        if self.probe is not None and self.ctx.is_main and self.checks.due(s, time.monotonic() - self._t0):
            if probe:
                self.quality()
            else:
                self._probe_pending = True
        if cfg.checkpoint_every and s % cfg.checkpoint_every == 0:
            self.save_checkpoint()
        if cfg.preview_every and s % cfg.preview_every == 0:
            self.preview()

    def _end_epoch(self) -> None:
        self.epoch, self.position = self.epoch + 1, 0
        if not self.cfg.val_every and self.probe is None:  # (with a probe: at the probe's cadence)
            self.validate()
        if not self.cfg.checkpoint_every:
            snapshot, disk = self.checkpoints.epoch_end_due(self.step)
            if snapshot or disk:
                self.save_checkpoint(to_disk=disk)
        self.trigger("on_epoch_end")

    def _finish(self) -> dict[str, Any]:
        if self.status == "running":
            self.status = "completed" if self._capped() else "stopped"
        if self.reporter.window.n:
            self._log()
        if self.position >= self.order.batches_per_epoch:
            self._end_epoch()
        signalled = self.stopped_by == "signal"   # exit at once: no end-of-run probe or preview
        if self.probe is not None and self.ctx.is_main and self.checks.step != self.step and not signalled:
            self.quality(final=True)
        ended = self._span.timed and self.status == "completed" and not self._span.ended
        if ended:   # the time budget was spent: a later --resume --max-time starts a new span
            self._span.ended = True
        if self.checkpoints.written is None or self.checkpoints.written[0] != self.step or ended:
            self.save_checkpoint()
        if not signalled:
            self.preview()
        if self.checkpoints.writer is not None:
            self.checkpoints.writer.wait()  # the last checkpoint is on disk before on_train_end and the summary
        self.trigger("on_train_end")
        self.reporter.close()
        return self.result()

    def _over_time(self) -> bool:
        return self.cfg.max_time is not None and time.monotonic() - self._t0 >= self.cfg.max_time
