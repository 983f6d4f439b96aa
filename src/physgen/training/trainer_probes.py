"""The trainer's quality probes: when they run (:mod:`physgen.training.probe`), scoring the model against the
held-out data, choosing ``best`` (the one-standard-error rule), ``patience`` and ``--until floor``, and the
``validation`` part of the summary: :class:`QualityChecks`, an object of the run that owns this state, given
what it needs by its caller (:meth:`physgen.training.trainer.Trainer.quality` runs one check).

A probe (a :class:`physgen.training.probe.Validator`) scores samples of the model against held-out data; the
values go to ``metrics.csv`` as ``val_*``, to ``trainer.last_quality`` and the ``on_quality`` event, and they
pick the ``best`` checkpoint: the latest probe whose ``score`` ties with the lowest score so far, or with the
floor when the lowest lies below it (``Validator.tie_bound``).  A tie is a score within the probe's
``tolerance`` (the spread of a score at the floor), or within two standard deviations of the difference of two
model scores, whichever is larger; a model score's standard deviation is the run's ``noise``, the root mean
square of the probes' ``score_noise`` so far (each the half-difference of the score's two independent halves),
which measures the spread of the model's own scores (larger than the floor's away from it).  Scores that close
cannot be told apart by the probe, and of two such states the later one has trained longer: the
one-standard-error rule (Breiman et al. 1984, *Classification and Regression Trees*, §3.4.3; Hastie, Tibshirani
& Friedman 2009, *The Elements of Statistical Learning*, §7.10) with "simplest" read as "most trained" and the
error that of a difference of two scores, so a noisy probe on a small held-out set does not keep an early state
as ``best`` by a lucky draw."""
from __future__ import annotations

import math
import time
from typing import Any, Callable

from physgen.errors import UserError
from physgen.training.probe import (CHECK_SHARE, PROBES_PER_BUDGET, PROBES_PER_RUN, PROBES_UNTIL_FLOOR, STEP_OVERHEAD,
                                    Cadence, StepCadence, bound)


class QualityChecks:
    """The quality probes of one run and what they found.

    State: ``validator`` (a :class:`~physgen.training.probe.Validator`; None without a probe or once dropped),
    ``cadence`` (when probes run: :class:`~physgen.training.probe.StepCadence` for a step budget of
    ``total_steps``, :class:`~physgen.training.probe.Cadence` for a time budget), ``last`` and ``best`` (the
    values of the last probe and of the ``best`` one), ``step`` and ``best_step`` (their steps), ``check_share``
    (the probes' declared work over the training's, with a step budget) and ``lowest_at`` (the monotonic time
    of the lowest score so far, which ``patience`` counts from)."""

    def __init__(self, validator, total_steps: int | None, *, until_floor: bool = False):
        self.validator, self.total_steps = validator, total_steps
        # probes at fixed steps of a step budget (reproducible), at a wall-clock share of a time budget
        self.cadence = (StepCadence(total_steps, PROBES_UNTIL_FLOOR if until_floor else PROBES_PER_RUN)
                        if total_steps is not None else Cadence())
        self.last: dict[str, float] = {}
        self.best: dict[str, float] = {}
        self.step: int | None = None
        self.best_step: int | None = None
        self.check_share: float | None = None
        self.lowest_at = time.monotonic()
        self.noise_sq: list[float] = []   # the probes' score_noise², pooled into ``noise``

    def due(self, step: int, elapsed: float) -> bool:
        """Whether a probe is due after optimizer step ``step``, ``elapsed`` seconds into this fit."""
        if isinstance(self.cadence, StepCadence):
            return self.cadence.due(step)
        return self.cadence.due(elapsed)

    def plan(self, model, ema, generator, *, batch_size: int, max_time: float | None,
             say: Callable[[str], None]) -> None:
        """With a time budget: time a small draw (:meth:`Validator.cost`), shrink the probe's reference so that
        a probe costs about ``share · max_time / PROBES_PER_BUDGET``; the first probe waits until its expected
        cost fits the share (:mod:`physgen.training.probe`).  A step budget's probes need no plan: they run at
        fixed steps on a reference of fixed size, bounded by :meth:`bound_work`."""
        if isinstance(self.cadence, StepCadence):
            self.bound_work(model, batch_size, say)
            return
        t = time.monotonic()
        try:
            per_sample = self.validator.cost(model, generator, ema)
        except (NotImplementedError, UserError) as exc:
            self.drop(exc, say)
            return
        if max_time is not None:
            self.validator.fit(per_sample, self.cadence.share * max_time / PROBES_PER_BUDGET)
        self.cadence.expect(per_sample * self.validator.size, time.monotonic() - t)

    def bound_work(self, model, batch_size: int, say: Callable[[str], None]) -> None:
        """A step budget: keep the probes' declared work within ``CHECK_SHARE`` of the training's
        (:func:`physgen.training.probe.bound`); fewer probes, then a smaller reference, where it does not fit.
        Computed from the configuration alone, the same on every machine and on resume."""
        step, per_probe = model.step_work(batch_size), self.validator.work(model)
        if step is None or per_probe is None or not self.cadence.at:
            return
        training = self.total_steps * (step + STEP_OVERHEAD)
        planned, size = len(self.cadence.at), self.validator.size
        probes, allowed = bound(planned, per_probe, training)
        if allowed < per_probe:
            self.validator.fit(per_probe / max(size, 1), allowed)
        self.check_share = probes * (self.validator.work(model) or 0.0) / training
        if (probes, self.validator.size) != (planned, size):
            self.cadence = StepCadence(self.total_steps, probes)
            say(f"physgen: quality checks bounded to {CHECK_SHARE:.0%} of the training's work: {probes} "
                f"probe(s) of {self.validator.size} samples (planned: {planned} of {size})")

    def drop(self, exc: Exception, say: Callable[[str], None]) -> None:
        """A model that cannot sample (or whose samples the probe refuses): train on without a probe."""
        say(f"physgen: no quality probe ({exc or type(exc).__name__}); best is chosen by the loss")
        self.validator = None

    def score(self, model, generator, ema, say: Callable[[str], None]) -> dict[str, float] | None:
        """The probe's values for the model now (None: the probe was dropped)."""
        try:
            return self.validator(model, generator, ema)
        except (NotImplementedError, UserError) as exc:
            self.drop(exc, say)
            return None

    def record(self, values: dict[str, float], step: int, lowest: float, now: float) -> tuple[bool, float]:
        """Keep the values of the probe at ``step``: (whether they are the new ``best`` — a score up to the
        probe's ``tie_bound`` of ``lowest``, the lowest score so far —, the lowest score now)."""
        self.last, self.step = values, step
        score, noise = values.get("score", math.nan), values.get("score_noise", math.nan)
        if math.isfinite(noise):
            self.noise_sq.append(noise ** 2)
        if not (math.isfinite(score) and score <= self.validator.tie_bound(lowest, self.noise)):
            return False, lowest
        self.best, self.best_step = values, step
        if score < lowest:
            lowest, self.lowest_at = score, now
        return True, lowest

    def stop_reason(self, values: dict[str, float], now: float, *, patience: float | None,
                    until: str | None) -> str | None:
        """``patience`` when that many seconds passed without a new lowest score, ``floor`` when ``until =
        "floor"`` and the probe reached its floor; None to train on."""
        if patience is not None and now - self.lowest_at >= patience:
            return "patience"
        if until == "floor" and self.validator.at_floor(values):
            return "floor"
        return None

    @property
    def noise(self) -> float:
        """The run's pooled standard deviation of a model score: sqrt(mean score_noise²) over its probes (0 before
        the first)."""
        return math.sqrt(sum(self.noise_sq) / len(self.noise_sq)) if self.noise_sq else 0.0

    def to_json(self) -> dict[str, Any]:
        """What a checkpoint keeps: the best values and their step, the probes' squared noises."""
        return {"best": self.best, "best_step": self.best_step, "noise_sq": list(self.noise_sq)}

    def restore(self, state: dict[str, Any] | None) -> None:
        state = state or {}
        self.best, self.best_step = state.get("best") or {}, state.get("best_step")
        self.noise_sq = [float(x) for x in state.get("noise_sq") or []]

    def summary(self) -> dict[str, Any] | None:
        """What ``summary.json`` records under ``validation`` (None without a probe)."""
        if self.validator is None:
            return None
        best, v = self.best or self.last, self.validator
        return {"metric": v.name, "best": best, "best_step": self.best_step, "final": self.last,
                "final_step": self.step, "floor": v.floor, "tolerance": v.tie_tolerance(self.noise),
                "verdict": v.verdict(best) if best else None,
                "fluctuations": v.remarks(best) if best else None, "probes": self.cadence.count,
                "probe_time_s": self.cadence.spent, "probe_samples": v.size,
                "planned_probes": len(self.cadence.at) if isinstance(self.cadence, StepCadence) else None,
                "check_work_share": self.check_share}
