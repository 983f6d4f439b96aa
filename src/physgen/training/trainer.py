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

import math
import signal
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from physgen.config import TrainConfig
from physgen.config import to_dict
from physgen.errors import UserError, as_written
from physgen.training import checkpoint as ckpt
from physgen.training import distributed as dist
from physgen.training import signals, steps
from physgen.training.data import BatchOrder, TensorData
from physgen.training.logbook import Logbook
from physgen.training.optim import EMA, build_optimizers, set_learning_rates
from physgen.training.progress import Progress, field_view
from physgen.training.reporting import Reporting
from physgen.training.seeds import PURPOSES, step_seed  # noqa: F401  (step_seed: part of this module's API)
from physgen.training.span import Span
from physgen.training.trainer_checkpoints import Checkpointer, TrainingDiverged  # noqa: F401  (part of this API)
from physgen.training.trainer_probes import QualityChecks
from physgen.training.window import Window

EVENTS = ("on_train_start", "on_batch_end", "on_log", "on_validation", "on_quality", "on_checkpoint",
          "on_epoch_end", "on_divergence", "on_train_end")


class Trainer(Reporting):
    """Train ``model`` on ``data`` with ``config``; checkpoints go to ``run_dir/checkpoints``.

    ``fit(resume=False)`` runs the planned ``config.steps`` (or ``config.epochs``) optimizer steps, unless the
    ``max_time`` cap, ``--until floor``, convergence (``patience``), a signal or a callback calling
    :meth:`request_stop` (or setting ``trainer.stop_requested``) ends it earlier; it returns a summary dict.
    With neither steps nor epochs the budget is ``max_time`` alone (a time budget).  Its parts: the step
    strategy (:mod:`~physgen.training.steps`),
    the schedule's span (:mod:`~physgen.training.span`), the quality probes and what they found
    (:class:`~physgen.training.trainer_probes.QualityChecks`, ``trainer.checks``), the checkpoints and the
    rollback point (:class:`~physgen.training.trainer_checkpoints.Checkpointer`, ``trainer.checkpoints``), and
    progress, logging, validation and previews (:mod:`~physgen.training.reporting`).  Where the run stands is
    ``trainer.progress`` (:class:`~physgen.training.progress.Progress`), shown as ``trainer.step``, ``epoch``, ...
    """

    run_dir = property(lambda self: self.checkpoints.run_dir,
                       lambda self, value: setattr(self.checkpoints, "run_dir", value),
                       doc="The run directory (None: checkpoints in memory only).")
    step, epoch, position, lr_scale, retries, best, elapsed = map(field_view, (
        "step", "epoch", "position", "lr_scale", "retries", "best", "elapsed"))

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
        self.progress = Progress()
        self.checkpoints = Checkpointer(self.model, self.optimizers, self.ema, self.ctx, self.device,
                                        Path(run_dir) if run_dir is not None else None, config, self.progress)
        self.stop_requested, self.status, self.last_logs, self.last_val = False, "running", {}, {}
        self.checks = QualityChecks(probe, self.total_steps, until_floor=config.until == "floor")
        self.stopped_by: str | None = None           # what ended the run (see :meth:`result`)
        self.checks_s = 0.0                            # seconds of probes and validation passes in this fit
        self._span = Span.fresh(self.total_steps)    # the lr schedule's steps
        self.logbook: Logbook | None = None           # metrics.csv during fit (rank 0 with a run directory)
        self._terminate = False  # set by SIGTERM (e.g. a batch system's wall-time warning)
        self._window = Window()
        # set when fit() starts: the clock, the progress bar, the step strategy (loss through DDP or not,
        # closed-form gradients), the optimizers the step uses, and the (step, time, probe seconds) that a time
        # budget's step rate counts from
        now = time.monotonic()
        self._t0 = self._t_last = now
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
        self.checkpoints.writer = ckpt.BackgroundWriter() if self._writes else None
        precision = torch.get_float32_matmul_precision()
        torch.set_float32_matmul_precision(self.cfg.matmul_precision)
        try:
            return self._fit(resume)
        finally:
            torch.set_float32_matmul_precision(precision)
            if self.logbook is not None:
                self.logbook.close()
            writer, self.checkpoints.writer = self.checkpoints.writer, None
            if writer is not None:
                signals.close_quietly_on_error(writer)

    def _fit(self, resume: bool) -> dict[str, Any]:
        self.logbook = Logbook(self.run_dir, tensorboard=self.cfg.tensorboard) if self._writes else None
        self._start(resume)
        self._bar = self._progress_bar()
        previous = signals.on_sigterm(self)
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
            if self.logbook is not None:
                self.logbook.truncate_after(self.step)
        else:
            self.model.on_fit_start(self.data.all(), resumed=False, generator=self._generator(0, "start"))
            self.save_checkpoint(event=False)
            self._step = steps.choose(self.model, self.ctx, self.optimizers, self.cfg.grad_clip)
        if self.probe is not None and self.ctx.is_main:
            self.checks.plan(self.model, self.ema, self._generator(self.step, "quality"), batch_size=self.cfg.batch_size,
                             max_time=self.cfg.max_time, say=self.say)
        self._t_last = self.checks.lowest_at = time.monotonic()
        # (step, time, probe seconds) the step rate counts from
        self._plan_from = (self.step, self._t_last, self.checks.cadence.spent)
        self.trigger("on_train_start")

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

    def request_stop(self, reason: str | None = None) -> None:
        """End the run cleanly after the current step (status ``stopped``); ``reason`` (one short line) becomes
        the summary's ``stopped_by``, ``request`` when None."""
        if reason is not None:
            text = " ".join(str(reason).split())[:80]
            if not text:
                raise ValueError("request_stop: the reason is empty")
            self.stopped_by = text
        self.stop_requested = True

    def quality(self, *, final: bool = False) -> dict[str, float]:
        """Score samples of the model against the held-out data (rank 0, with a probe): ``val_<key>`` columns
        in ``metrics.csv``, ``last_quality``, the ``on_quality`` event.  A ``score`` up to the probe's
        ``tie_bound`` of the lowest so far writes the ``best`` checkpoint (see :class:`Trainer`); ``patience``
        seconds without a new lowest score stop the run (status ``converged``), and so does the probe's floor
        with ``until = "floor"``.  Its cost counts towards the probe cadence (the loss validation runs with it
        when ``val_every = 0``)."""
        t = time.monotonic()
        values = self.checks.score(self.model, self._generator(self.step, "quality"), self.ema, self.say)
        if values is None:
            self.checks_s += time.monotonic() - t
            return {}
        if not self.cfg.val_every:
            self.validate(timed=False)
        now = time.monotonic()
        if self.logbook is not None:
            self.logbook.log({"step": self.step, "epoch": self.epoch + self.position / self.order.batches_per_epoch,
                              "time_s": self.elapsed + now - self._t_last, **{f"val_{k}": v for k, v in values.items()}})
        is_best, self.best = self.checks.record(values, self.step, self.best, now)
        if is_best:
            self.checkpoints.save_best(self.state, self.logbook)
        reason = None if final or self.status != "running" else self.checks.stop_reason(
            values, now, patience=self.cfg.patience, until=self.cfg.until)
        if reason is not None:
            self.stop_requested, self.stopped_by = True, reason
            self.status = "converged" if reason == "patience" else "completed"
        if not final:
            self.checks.cadence.record(t - self._t0, time.monotonic() - t)   # (the best checkpoint's snapshot included)
        self.checks_s += time.monotonic() - t
        self.trigger("on_quality")
        return values

    probe = property(lambda self: self.checks.validator, doc="The quality probe (None without one).")
    last_quality = property(lambda self: self.checks.last, doc="The values of the last quality probe.")
    best_quality = property(lambda self: self.checks.best, doc="The values of the ``best`` probe.")
    best_step = property(lambda self: self.checks.best_step, doc="The step of the ``best`` probe.")

    def _value_needed(self) -> bool:
        """Whether this step's loss value is needed: on the steps that end a ``metrics.csv`` row and on the last
        planned step (a closed-form step computes it only then; other steps always have it)."""
        step = self.step + 1
        return step % self.cfg.log_every == 0 or (self.total_steps is not None and step >= self.total_steps)

    def _periodic(self) -> None:
        cfg, s = self.cfg, self.step
        if s % cfg.log_every == 0 and not self._log():
            return  # diverged and rolled back
        if cfg.val_every and s % cfg.val_every == 0:
            self.validate()
        if self.probe is not None and self.ctx.is_main and self.checks.due(s, time.monotonic() - self._t0):
            self.quality()
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
        if self._window.n:
            self._log()
        if self.position >= self.order.batches_per_epoch:
            self._end_epoch()
        if self.probe is not None and self.ctx.is_main and self.checks.step != self.step:
            self.quality(final=True)
        ended = self._span.timed and self.status == "completed" and not self._span.ended
        if ended:   # the time budget was spent: a later --resume --max-time starts a new span
            self._span.ended = True
        if self.checkpoints.written is None or self.checkpoints.written[0] != self.step or ended:
            self.save_checkpoint()
        self.preview()
        if self.checkpoints.writer is not None:
            self.checkpoints.writer.wait()  # the last checkpoint is on disk before on_train_end and the summary
        self.trigger("on_train_end")
        if self.logbook is not None:
            self.logbook.close()
        return self.result()

    def _generator(self, step: int, purpose: str = "step") -> torch.Generator:
        """A new generator seeded by ``(seed, rank, step, purpose)`` (:func:`step_seed`)."""
        seed = step_seed(self.cfg.seed, self.ctx.rank, step, purpose)
        return torch.Generator(device=self.device).manual_seed(seed)

    def _over_time(self) -> bool:
        return self.cfg.max_time is not None and time.monotonic() - self._t0 >= self.cfg.max_time

    # --- checkpoints and the divergence guard (the Checkpointer writes; the trainer decides when) ---------------
    @property
    def _writes(self) -> bool:
        return self.checkpoints.writes

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Everything needed to continue: (tensors on the CPU, JSON state)."""
        return self.checkpoints.snapshot(
            total_steps=self.total_steps, schedule={"name": self.cfg.schedule, "step": self.step, **self._span.to_json()},
            quality=self.checks.to_json(), window=self._window.to_json(),
            config={"model": to_dict(self.model.config), "train": to_dict(self.cfg)})

    def save_checkpoint(self, event: bool = True, *, to_disk: bool = True) -> None:
        """Snapshot the state as the rollback point; rank 0 writes it unless ``to_disk`` is False (epoch ends closer
        than ``checkpoint_interval`` seconds to the last written checkpoint: with short epochs the writes would
        cost more than the training).  Without a probe, the validation (else training) loss picks ``best``."""
        if self.checkpoints.good is not None and not self.checkpoints.finite(self.step):
            return self._diverged(self.step, "a parameter is NaN/Inf")
        metric = self.loss_metric() if self.probe is None else None   # with a probe, quality() picks best
        if self.checkpoints.save(self.state(), to_disk=to_disk, metric=metric, logbook=self.logbook) and event:
            if self.checkpoints.writer is not None and self.callbacks["on_checkpoint"]:
                self.checkpoints.writer.wait()  # callbacks may read the files
            self.trigger("on_checkpoint")

    def _restore(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        self.checkpoints.load(tensors, state)
        self.checks.restore(state.get("quality"))
        self._window = Window.from_json(state.get("window"))

    def _diverged(self, step: int, reason: str) -> None:
        """Roll back to the last good state; then stop (``TrainingDiverged``) or retry with a lower learning rate
        (``train.on_divergence``, at most ``max_retries`` times)."""
        tensors, state = self.checkpoints.good
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
            written = self.checkpoints.written
            if written is None or written[0] != self.step:  # the restored state was in memory only
                self.save_checkpoint(event=False)
                if self.checkpoints.writer is not None:
                    self.checkpoints.writer.wait()
            hint = (f"rerun with {as_written('on_divergence')} retry or a lower train.lr"
                    if self.cfg.on_divergence == "stop" else f"gave up after {retries} retries; lower train.lr")
            raise TrainingDiverged(f"{message}; {hint}")
        self.retries, self.lr_scale = retries + 1, lr_scale * self.cfg.retry_lr_factor
        self.say(f"physgen: {message}; retrying with the learning rate x{self.lr_scale:g} "
                 f"(retry {self.retries}/{self.cfg.max_retries})")
        self._step.rebuild()
