"""The trainer's quality checks as a part of their own (physgen.training.trainer_probes.QualityChecks), driven
without a trainer: the step cadence, the one-standard-error choice of ``best``, patience and the floor, the
work bound, dropping a probe that cannot sample, and what a checkpoint and the summary keep.  Exact checks on a
scripted validator: they cannot pass by chance."""
from __future__ import annotations

import math

from physgen.errors import UserError
from physgen.training.probe import CHECK_SHARE, Cadence, StepCadence
from physgen.training.trainer_probes import QualityChecks


class ScriptedValidator:
    """Returns the scores it is given, one per call; a tie tolerance of 0.1 and a floor score of 1.0."""

    name, floor, tolerance, size = "scripted", {"score": 1.0}, 0.1, 100

    def __init__(self, scores, work=None):
        self.scores, self._work, self.fitted = list(scores), work, None

    def __call__(self, model, generator, ema=None):
        score = self.scores.pop(0)
        if score is None:
            raise UserError("this model cannot sample")
        return {"score": score}

    def tie_bound(self, lowest, noise=0.0):
        return max(lowest, self.floor["score"]) + self.tie_tolerance(noise)

    def tie_tolerance(self, noise=0.0):
        return max(self.tolerance, 2 * 2 ** 0.5 * noise)

    def at_floor(self, values):
        return values["score"] <= self.floor["score"] + self.tolerance

    def work(self, model):   # proportional to the reference's size (100 rows as made)
        return None if self._work is None else self._work * self.size / 100

    def fit(self, per_sample, allowed):
        self.fitted = (per_sample, allowed)
        self.size = max(int(allowed / per_sample), 8)
        return self.size

    def verdict(self, values):
        return "at floor" if self.at_floor(values) else "above floor"

    def remarks(self, values):
        return None


class Model:
    def step_work(self, batch_size):
        return 1e6 * batch_size


def test_a_step_budget_probes_at_fixed_steps_and_keeps_the_most_trained_tie():
    checks = QualityChecks(ScriptedValidator([3.0, 2.0, 2.05, 1.5, 1.55]), total_steps=50)
    assert isinstance(checks.cadence, StepCadence) and checks.cadence.at == [10, 20, 30, 40, 50]
    assert [s for s in range(1, 51) if checks.due(s, elapsed=0.0)] == [10, 20, 30, 40, 50]
    lowest, picked = math.inf, []
    for step in (10, 20, 30, 40, 50):
        values = checks.score(Model(), None, None, say=print)
        is_best, lowest = checks.record(values, step, lowest, now=float(step))
        picked.append(is_best)
    # 2.05 is within the tolerance (0.1) of the lowest 2.0: the later, more trained state is best; so is 1.55
    assert picked == [True, True, True, True, True] and lowest == 1.5
    assert checks.best == {"score": 1.55} and checks.best_step == 50 and checks.step == 50
    assert checks.lowest_at == 40.0
    assert checks.to_json() == {"best": {"score": 1.55}, "best_step": 50, "noise_sq": []}


def test_a_score_beyond_the_tolerance_is_not_best_and_patience_counts_from_the_lowest():
    checks = QualityChecks(ScriptedValidator([2.0, 2.5]), total_steps=10)
    _, lowest = checks.record(checks.score(Model(), None, None, say=print), 5, math.inf, now=100.0)
    is_best, lowest = checks.record(checks.score(Model(), None, None, say=print), 10, lowest, now=160.0)
    assert not is_best and checks.best_step == 5 and checks.last == {"score": 2.5} and lowest == 2.0
    assert checks.stop_reason(checks.last, 160.0, patience=60.0, until=None) == "patience"
    assert checks.stop_reason(checks.last, 159.0, patience=60.0, until=None) is None
    assert checks.stop_reason({"score": 1.05}, 120.0, patience=None, until="floor") == "floor"
    assert checks.stop_reason({"score": 1.2}, 120.0, patience=None, until="floor") is None


def test_until_floor_probes_twenty_times_and_a_time_budget_uses_the_clock():
    assert len(QualityChecks(ScriptedValidator([]), 100, until_floor=True).cadence.at) == 20
    timed = QualityChecks(ScriptedValidator([]), None)
    assert isinstance(timed.cadence, Cadence) and not timed.due(10**6, elapsed=0.5) and timed.due(0, elapsed=1.0)


def test_the_probes_work_is_bounded_to_its_share_of_the_training():
    lines = []
    checks = QualityChecks(ScriptedValidator([], work=2e9), total_steps=100)   # 5 probes: 12.5x the share
    checks.plan(Model(), None, None, batch_size=64, max_time=None, say=lines.append)
    # the training: 100 x (64e6 + 16e6); the share allows 8e8, so one probe on a reference of 40 rows
    assert checks.cadence.at == [100] and checks.validator.size == 40
    assert math.isclose(checks.check_share, CHECK_SHARE)
    assert lines == ["physgen: quality checks bounded to 10% of the training's work: 1 probe(s) of 40 samples "
                     "(planned: 5 of 100)"]


def test_a_validator_that_cannot_sample_is_dropped_with_one_line():
    lines = []
    checks = QualityChecks(ScriptedValidator([None]), total_steps=10)
    assert checks.score(Model(), None, None, say=lines.append) is None
    assert checks.validator is None and checks.summary() is None and lines == [
        "physgen: no quality probe (this model cannot sample); best is chosen by the loss"]


def test_the_summary_and_a_restored_checkpoint():
    checks = QualityChecks(ScriptedValidator([1.05]), total_steps=10)
    checks.record(checks.score(Model(), None, None, say=print), 10, math.inf, now=0.0)
    summary = checks.summary()
    assert summary["best"] == {"score": 1.05} and summary["best_step"] == 10 and summary["verdict"] == "at floor"
    assert summary["planned_probes"] == 5 and summary["probe_samples"] == 100 and summary["metric"] == "scripted"
    again = QualityChecks(ScriptedValidator([]), total_steps=10)
    again.restore(checks.to_json())
    assert again.best == {"score": 1.05} and again.best_step == 10
    again.restore(None)
    assert again.best == {} and again.best_step is None
