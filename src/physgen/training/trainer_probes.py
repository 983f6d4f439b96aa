"""The trainer's quality probes: when they run (:mod:`physgen.training.probe`), scoring the model against the
held-out data, choosing ``best`` (the one-standard-error rule), ``patience`` and ``--until floor``, and the
``validation`` part of the summary.  A part of :class:`physgen.training.trainer.Trainer` (a mixin over its
attributes).

A probe (a :class:`physgen.training.probe.Validator`) scores samples of the model against held-out data; the
values go to ``metrics.csv`` as ``val_*``, to ``trainer.last_quality`` and the ``on_quality`` event, and they
pick the ``best`` checkpoint: the latest probe whose ``score`` is within the probe's ``tolerance`` (one
standard deviation of a score at the floor) of the lowest score so far, or of the floor when the lowest lies
below it (``Validator.tie_bound``).  Scores that close cannot be told apart by the probe, and of two such
states the later one has trained longer: the one-standard-error rule (Breiman et al. 1984, *Classification and
Regression Trees*, §3.4.3; Hastie, Tibshirani & Friedman 2009, *The Elements of Statistical Learning*, §7.10)
with "simplest" read as "most trained", so a noisy probe on a small held-out set does not keep an early state
as ``best`` by a lucky draw."""
from __future__ import annotations

import math
import time
from typing import Any

from physgen.errors import UserError
from physgen.training.probe import CHECK_SHARE, PROBES_PER_BUDGET, STEP_OVERHEAD, StepCadence, bound


class Probes:
    """Quality probes of a :class:`~physgen.training.trainer.Trainer`."""

    def _probe_due(self) -> bool:
        if isinstance(self._cadence, StepCadence):
            return self._cadence.due(self.step)
        return self._cadence.due(time.monotonic() - self._t0)

    def _plan_probes(self) -> None:
        """With a time budget: time a small draw (:meth:`Validator.cost`), shrink the probe's reference so that
        a probe costs about ``share · max_time / PROBES_PER_BUDGET``; the first probe waits until its expected
        cost fits the share (:mod:`physgen.training.probe`).  A step budget's probes need no plan: they run at
        fixed steps on a reference of fixed size."""
        if isinstance(self._cadence, StepCadence):
            self._bound_probes()
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

    def _bound_probes(self) -> None:
        """A step budget: keep the probes' declared work within ``CHECK_SHARE`` of the training's
        (:func:`physgen.training.probe.bound`); fewer probes, then a smaller reference, where it does not fit.
        Computed from the configuration alone, the same on every machine and on resume."""
        step, per_probe = self.model.step_work(self.cfg.batch_size), self.probe.work(self.model)
        if step is None or per_probe is None or not self._cadence.at:
            return
        training = self.total_steps * (step + STEP_OVERHEAD)
        planned, size = len(self._cadence.at), self.probe.size
        probes, allowed = bound(planned, per_probe, training)
        if allowed < per_probe:
            self.probe.fit(per_probe / max(size, 1), allowed)
        self._check_share = probes * (self.probe.work(self.model) or 0.0) / training
        if (probes, self.probe.size) != (planned, size):
            self._cadence = StepCadence(self.total_steps, probes)
            self.say(f"physgen: quality checks bounded to {CHECK_SHARE:.0%} of the training's work: {probes} "
                     f"probe(s) of {self.probe.size} samples (planned: {planned} of {size})")

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
            self.checks_s += time.monotonic() - t
            return {}
        if not self.cfg.val_every:
            self.validate(timed=False)
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
        self.checks_s += time.monotonic() - t
        self.trigger("on_quality")
        return values

    def _validation_summary(self) -> dict[str, Any] | None:
        """What ``summary.json`` records under ``validation`` (None without a probe or off rank 0)."""
        if self.probe is None or not self.ctx.is_main:
            return None
        best = self.best_quality or self.last_quality
        return {"metric": self.probe.name, "best": best, "best_step": self.best_step, "final": self.last_quality,
                "final_step": self._quality_step, "floor": self.probe.floor, "tolerance": self.probe.tolerance,
                "verdict": self.probe.verdict(best) if best else None,
                "fluctuations": self.probe.remarks(best) if best else None, "probes": self._cadence.count,
                "probe_time_s": self._cadence.spent, "probe_samples": self.probe.size,
                "planned_probes": len(self._cadence.at) if isinstance(self._cadence, StepCadence) else None,
                "check_work_share": self._check_share}
