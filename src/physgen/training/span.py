"""The learning-rate schedule's span: the steps ``[start, horizon]`` that a ``cosine`` or ``linear`` schedule runs
over (:func:`physgen.training.optim.set_learning_rates`).

With a step budget the horizon is the budget, known before the first step, so a run follows the same schedule
however it is capped, interrupted and resumed.  Only a time budget (``train.max_time`` with neither steps nor
epochs) has no horizon at first: the trainer runs the first steps at the schedule's starting value, measures the
step rate over the first ``PLAN_SHARE`` of the budget (at most ``PLAN_MAX`` seconds, at least ``PLAN_MIN_STEPS``
steps; probe time excluded) and freezes ``horizon`` = the current step + rate × the remaining seconds (× (1 −
the probes' share)).  The span is saved in every checkpoint (``state["schedule"]``).
"""
from __future__ import annotations

import time
from typing import Any

PLAN_SHARE = 0.02      # a time budget's first 2% (at most PLAN_MAX seconds) times the steps for the schedule
PLAN_MAX = 5.0
PLAN_MIN_STEPS = 5


class Span:
    """``start``, ``horizon`` (None until a time budget's estimate), ``timed`` (a time budget's span) and ``ended``
    (a time budget that was spent: a later ``--resume`` starts a new span)."""

    def __init__(self, start: int = 0, horizon: int | None = None, timed: bool = False, ended: bool = False):
        self.start, self.horizon, self.timed, self.ended = start, horizon, timed, ended

    @classmethod
    def fresh(cls, total_steps: int | None) -> "Span":
        """The span of a new run: the step budget, or a time budget's span to be estimated."""
        return cls(0, total_steps, timed=total_steps is None)

    @classmethod
    def resumed(cls, saved: dict[str, Any], step: int, total_steps: int | None) -> "Span":
        """The span after a resume at ``step``: the saved span of a time budget that was interrupted, while it
        lasts (exact resume, also when a step cap is given); else the step budget's (the whole run, or from here
        for a time-budget run); else a new span from here whose length is estimated (a warm restart: the saved
        span was spent, or its time budget ran out, ``ended``)."""
        horizon = saved.get("horizon")
        if saved.get("timed") and not saved.get("ended") and (horizon is None or step < horizon):
            return cls(int(saved.get("start", 0)), horizon, timed=True)
        if total_steps is not None:
            return cls(step if saved.get("timed") else 0, total_steps, timed=False)
        return cls(step, None, timed=True)

    def needs_estimate(self, schedule: str) -> bool:
        return self.timed and self.horizon is None and schedule in ("cosine", "linear")

    def estimate(self, *, step: int, steps_timed: int, seconds_timed: float, remaining: float,
                 max_time: float) -> float:
        """The estimated last step (0 while the timing warm-up lasts): ``steps_timed`` steps took
        ``seconds_timed`` seconds; ``remaining`` seconds of the budget are left for training."""
        if steps_timed < PLAN_MIN_STEPS or seconds_timed < min(PLAN_SHARE * max_time, PLAN_MAX):
            return 0.0
        return float(step + 1 + max(1, round(steps_timed / max(seconds_timed, 1e-9) * remaining)))

    def candidate(self, schedule: str, max_time: float | None, *, step: int, since: tuple[int, float, float],
                  started: float, probe_spent: float, probe_share: float) -> float:
        """A time budget's estimated last step now (0 while the timing warm-up lasts, or when none is needed): the
        step rate since ``since`` = (step, monotonic time, probe seconds then), probe time (``probe_spent`` in
        all) excluded, times the seconds left of ``max_time`` counted from ``started``, times (1 − the probes'
        expected ``probe_share``)."""
        if not self.needs_estimate(schedule):
            return 0.0
        step0, t0, probe0 = since
        now = time.monotonic()
        return self.estimate(step=step, steps_timed=step + 1 - step0, seconds_timed=now - t0 - (probe_spent - probe0),
                             remaining=max(max_time - (now - started), 0.0) * (1.0 - probe_share), max_time=max_time)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start, "horizon": self.horizon, "timed": self.timed}
        if self.ended:
            out["ended"] = True
        return out
