"""The parts of a training run and what they do together: where the run stands (:class:`~physgen.training.progress.
Progress`), its checkpoints and rollback point (:class:`~physgen.training.trainer_checkpoints.Checkpointer`), its
reports (:class:`~physgen.training.reporting.Reporter`), its quality checks (:class:`~physgen.training.
trainer_probes.QualityChecks`), the optimizers, the EMA and the callbacks; and the operations a loop or a callback
calls on them: checkpoint, roll back, probe, validate, preview, summarise, stop.  The loop itself is
:class:`physgen.training.trainer.Trainer`."""
from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import torch

from physgen.config import TrainConfig, to_dict
from physgen.errors import as_written
from physgen.training import distributed as dist
from physgen.training import steps
from physgen.training.optim import EMA, build_optimizers
from physgen.training.progress import Progress, field_view
from physgen.training.reporting import Reporter
from physgen.streams import step_seed
from physgen.training.span import Span
from physgen.training.trainer_checkpoints import Checkpointer, TrainingDiverged
from physgen.training.trainer_probes import QualityChecks
from physgen.training.window import Window

EVENTS = ("on_train_start", "on_batch_end", "on_log", "on_validation", "on_quality", "on_checkpoint",
          "on_epoch_end", "on_divergence", "on_train_end")


class RunParts:
    """The parts of a run of ``model`` (moved to ``device`` in ``config.dtype``) configured by ``config``, on the
    process ``ctx``, with ``total_steps`` planned (None: a time budget) of ``batches_per_epoch`` batches an epoch,
    checkpoints in ``run_dir`` (None: in memory only) and the quality ``probe`` (None: none).

    State: ``progress``, ``checkpoints``, ``reporter``, ``checks`` (the parts); ``optimizers`` and ``ema``;
    ``callbacks`` (event -> functions); ``status``, ``stop_requested`` and ``stopped_by`` (what ended the run);
    ``_span`` (the learning-rate schedule's steps); ``_t0`` (the monotonic time a fit started); ``_step`` (the
    step strategy, :func:`physgen.training.steps.choose`, set when a fit starts); ``_terminate`` (set by
    SIGTERM, e.g. a batch system's wall-time warning, or a first Ctrl-C); ``_probe_pending`` (a probe due at the
    step a stop signal ended on, skipped then so that the run exits at once, and run first by the resume: the
    probe's generator depends on the step alone, so its values are the uninterrupted run's)."""

    run_dir = property(lambda self: self.checkpoints.run_dir,
                       lambda self, value: setattr(self.checkpoints, "run_dir", value),
                       doc="The run directory (None: checkpoints in memory only).")
    step, epoch, position, lr_scale, retries, best, elapsed = map(field_view, (
        "step", "epoch", "position", "lr_scale", "retries", "best", "elapsed"))

    def __init__(self, model, config: TrainConfig, *, ctx: dist.DistContext, device: torch.device,
                 run_dir: str | Path | None, probe, total_steps: int | None, batches_per_epoch: int):
        self.cfg, self.ctx, self.device, self.total_steps = config, ctx, device, total_steps
        self.model = model.to(device=device, dtype=getattr(torch, config.dtype))
        self.optimizers = build_optimizers(model.parameter_groups(), config)
        self.ema = EMA(model, config.ema) if config.ema else None
        self.callbacks: dict[str, list[Callable]] = defaultdict(list)
        self.progress = Progress()
        self.checkpoints = Checkpointer(self.model, self.optimizers, self.ema, ctx, device,
                                        Path(run_dir) if run_dir is not None else None, config, self.progress)
        self.reporter = Reporter(config, ctx, device, self.progress, total_steps, batches_per_epoch)
        self.checks = QualityChecks(probe, total_steps, until_floor=config.until == "floor")
        self.stop_requested, self.status = False, "running"
        self.stopped_by: str | None = None           # what ended the run (see :meth:`result`)
        self._span = Span.fresh(total_steps)
        self._terminate = False
        self._probe_pending = False
        self._t0 = time.monotonic()
        self._step: steps.LossStep | steps.AdversarialStep | None = None

    # --- callbacks and stopping ------------------------------------------------------------------
    def add_callback(self, event: str, fn: Callable[["RunParts"], None]) -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown trainer event {event!r} (events: {', '.join(EVENTS)})")
        self.callbacks[event].append(fn)

    def trigger(self, event: str) -> None:
        for fn in self.callbacks[event]:
            fn(self)

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
            self.reporter.checks_s += time.monotonic() - t
            return {}
        if not self.cfg.val_every:
            self.validate(timed=False)
        self.reporter.log_values({f"val_{k}": v for k, v in values.items()}, timed=True)
        now = time.monotonic()
        is_best, self.best = self.checks.record(values, self.step, self.best, now)
        if is_best:
            self.checkpoints.save_best(self.state, self.reporter.flush)
        reason = None if final or self.status != "running" else self.checks.stop_reason(
            values, now, patience=self.cfg.patience, until=self.cfg.until)
        if reason is not None:
            self.stop_requested, self.stopped_by = True, reason
            self.status = "converged" if reason == "patience" else "completed"
        if not final:
            self.checks.cadence.record(t - self._t0, time.monotonic() - t)   # (the best checkpoint's snapshot included)
        self.reporter.checks_s += time.monotonic() - t
        self.trigger("on_quality")
        return values

    probe = property(lambda self: self.checks.validator, doc="The quality probe (None without one).")
    last_quality = property(lambda self: self.checks.last, doc="The values of the last quality probe.")
    best_quality = property(lambda self: self.checks.best, doc="The values of the ``best`` probe.")
    best_step = property(lambda self: self.checks.best_step, doc="The step of the ``best`` probe.")

    def _generator(self, step: int, purpose: str = "step") -> torch.Generator:
        """A new generator seeded by ``(seed, rank, step, purpose)`` (:func:`step_seed`)."""
        seed = step_seed(self.cfg.seed, self.ctx.rank, step, purpose)
        return torch.Generator(device=self.device).manual_seed(seed)

    # --- checkpoints and the divergence guard (the Checkpointer writes; the trainer decides when) ---------------
    @property
    def _writes(self) -> bool:
        return self.checkpoints.writes

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Everything needed to continue: (tensors on the CPU, JSON state)."""
        return self.checkpoints.snapshot(
            total_steps=self.total_steps, schedule={"name": self.cfg.schedule, "step": self.step, **self._span.to_json()},
            quality={**self.checks.to_json(), **({"pending": True} if self._probe_pending else {})},
            window=self.reporter.window.to_json(),
            config={"model": to_dict(self.model.config), "train": to_dict(self.cfg)})

    def save_checkpoint(self, event: bool = True, *, to_disk: bool = True) -> None:
        """Snapshot the state as the rollback point; rank 0 writes it unless ``to_disk`` is False (epoch ends closer
        than ``checkpoint_interval`` seconds to the last written checkpoint: with short epochs the writes would
        cost more than the training).  Without a probe, the validation (else training) loss picks ``best``."""
        if self.checkpoints.good is not None and not self.checkpoints.finite(self.step):
            return self._diverged(self.step, "a parameter is NaN/Inf")
        metric = self.reporter.loss_metric() if self.probe is None else None   # with a probe, quality() picks best
        if self.checkpoints.save(self.state(), to_disk=to_disk, metric=metric, flush=self.reporter.flush) and event:
            if self.checkpoints.writer is not None and self.callbacks["on_checkpoint"]:
                self.checkpoints.writer.wait()  # callbacks may read the files
            self.trigger("on_checkpoint")

    def _restore(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        self.checkpoints.load(tensors, state)
        self.checks.restore(state.get("quality"))
        self._probe_pending = bool((state.get("quality") or {}).get("pending"))
        self.reporter.window = Window.from_json(state.get("window"))

    def _diverged(self, step: int, reason: str) -> None:
        """Roll back to the last good state; then stop (``TrainingDiverged``) or retry with a lower learning rate
        (``train.on_divergence``, at most ``max_retries`` times)."""
        tensors, state = self.checkpoints.good
        lr_scale, retries = self.lr_scale, self.retries
        self._restore(tensors, state)
        if self.total_steps is not None:
            self.reporter.bar.n = self.step
        self.reporter.truncate_after(self.step)
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

    # --- reports (the Reporter writes; the trainer decides when) -----------------------------------------------
    def say(self, message: str) -> None:
        """One line on stderr (rank 0 only), without breaking the progress bar."""
        self.reporter.say(message)

    def _log(self) -> bool:
        """Write a metrics row; False when a NaN/Inf parameter triggered a rollback."""
        self.reporter.row()
        if self.step - self.checkpoints.checked >= self.cfg.guard_every and not self.checkpoints.finite(self.step):
            self._diverged(self.step, "a parameter is NaN/Inf")
            return False
        self.trigger("on_log")
        return True

    def validate(self, *, timed: bool = True) -> dict[str, float]:
        """Average of ``model.validate`` over the validation data (rank 0); logged as ``val_*``; the
        ``on_validation`` event."""
        if self.val_data is None or not self.ctx.is_main:
            return {}
        result = self.reporter.validate(self.model, self.val_data, timed=timed, generator=lambda start: self._generator(
            self.step * 1_000_003 + start, "validate"))
        self.trigger("on_validation")
        return result

    def preview(self) -> Path | None:
        """Save ``model.preview()`` (an image array) as ``previews/step-N.png`` (rank 0)."""
        return self.reporter.preview(self.model, self._generator(self.step, "preview"), self.run_dir) \
            if self._writes else None

    def result(self) -> dict[str, Any]:
        """What ``fit`` returns (:meth:`~physgen.training.reporting.Reporter.summary`)."""
        return self.reporter.summary(self.status, self.stopped_by, self._t0,
                                     self.checks.summary() if self.ctx.is_main else None)

    last_logs = property(lambda self: self.reporter.last_logs, doc="The last ``metrics.csv`` row.")
    logbook = property(lambda self: self.reporter.logbook, doc="``metrics.csv`` during a fit (None: not written).")
