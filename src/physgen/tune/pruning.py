"""Median pruning from inside training: the trainer's ``on_quality`` event reports to the Optuna trial.

Periodically during training (and once at its end) the trainer scores the model on its validation
split, sets ``trainer.last_quality`` (a dict whose ``"score"`` is lower-is-better) and fires
``on_quality``.  :class:`QualityReporter` reports the k-th score as ``trial.report(score, step=k)``
(k = 1, 2, ...: the ordinal of the report; the trainer reports at a wall-clock cadence, so trials of
equal ``--trial-time`` are compared at the same point of their budget) and, when
``trial.should_prune()`` — Optuna's :class:`~optuna.pruners.MedianPruner`: the trial's best score so
far is worse than the median of the completed trials' scores at the same k (Golovin et al. 2017,
Google Vizier's median stopping rule) — asks the trainer to stop cleanly (``stop_requested``, status
``"pruned"``).
"""
from __future__ import annotations

import math
from typing import Any

EVENT = "on_quality"


class QualityReporter:
    """Trainer callback ``fn(trainer)`` bound to one Optuna ``trial``; ``pruned`` tells the caller."""

    def __init__(self, trial: Any):
        self.trial = trial
        self.reports = 0
        self.pruned = False
        self.last_score: float | None = None

    def __call__(self, trainer: Any) -> None:
        quality = getattr(trainer, "last_quality", None)
        score = quality.get("score") if isinstance(quality, dict) else None
        if not isinstance(score, (int, float)) or not math.isfinite(score):
            return  # nothing comparable to report (e.g. no validation data this time)
        self.reports += 1
        self.last_score = float(score)
        self.trial.report(float(score), step=self.reports)
        if self.trial.should_prune():
            self.pruned = True
            trainer.stop_requested = True
            trainer.status = "pruned"

    def callbacks(self) -> list[tuple[str, "QualityReporter"]]:
        """The ``callbacks`` argument of :func:`physgen.training.train`."""
        return [(EVENT, self)]
