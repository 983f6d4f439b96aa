"""The trainer's quality probe: samples drawn from the model during training, mapped to data space and
scored against the held-out data by :class:`physgen.metrics.quality.QualityProbe`.

:class:`Validator` draws and scores (the EMA weights when the run keeps them; the model's buffers and
train/eval mode are restored afterwards, so a probe never changes the training: a resumed run stays exact).

When probes run:

- **A step budget** (every family's default, and ``--steps``/``--epochs``): :class:`StepCadence` probes at
  fixed steps, ``round(k · S / P)`` for ``k = 1..P`` (``P = PROBES_PER_RUN``, or ``PROBES_UNTIL_FLOOR`` with
  ``train.until = "floor"``), on a reference whose size depends only on the data and the family
  (:meth:`GenerativeModel.probe_samples`).  Nothing depends on the clock, so the ``best`` checkpoint that the
  probes pick is the same on any machine and under any load.
- **The checks' share of a step budget**: where the family declares the work of a training step and of a
  draw (:meth:`GenerativeModel.step_work`, :meth:`GenerativeModel.sample_work`), :func:`bound` keeps the
  probes' declared work within ``CHECK_SHARE`` of the training's (``STEP_OVERHEAD`` added to every step for
  the optimizer and the trainer's bookkeeping): a plan within it is kept as it is; otherwise fewer probes run
  (the final one always), then the reference shrinks as with a time budget.  A smaller reference gives a
  noisier score and a larger floor (``tolerance`` and ``floor`` record both).  Work, not time: the plan is
  the same on every machine.
- **A time budget** (``train.max_time`` with neither ``train.steps`` nor ``train.epochs``, as a tuning trial
  runs): :class:`Cadence` keeps the probes' measured cost within a share (5%) of the elapsed wall time.
  Before the first step the trainer times a draw of a few samples (:meth:`Validator.cost`) and shrinks the
  reference (:meth:`Validator.fit`) so that one probe costs about ``share · S / PROBES_PER_BUDGET``.  A
  smaller reference gives a noisier score and a larger floor; both are recorded.
"""
from __future__ import annotations

import contextlib
import math
import time
from typing import Any

import torch

from physgen.training.data import draw

PILOT = 16               # samples of the timed draw that estimates a probe's cost
PROBES_PER_BUDGET = 3    # with a time budget, at least this many probes fit in the share
PROBES_PER_RUN = 5       # with a step budget: probes at steps S/5, 2S/5, ..., S
PROBES_UNTIL_FLOOR = 20  # with train.until = "floor": probes at steps S/20, ..., S, stopping at the first at floor
CHECK_SHARE = 0.10       # with a step budget: the probes' declared work at most this share of the training's
STEP_OVERHEAD = 16e6     # work of a trainer step beside the model's (optimizer, bookkeeping), multiply-adds
MIN_PER_VALUE = 4        # the smallest reference keeps this many rows per condition value (and 8 in all)


class Cadence:
    """When the next probe is due, from the measured cost of the earlier ones.

    ``due(elapsed)`` is True once ``elapsed >= max(first, spent / share, growth * last)``, where ``spent`` is
    the measured seconds of the earlier probes (``record(elapsed, cost)``) and ``last`` the elapsed time of the
    previous one.  Cumulative probe time therefore stays at or below ``share`` of the elapsed time (the probe
    that crosses it excepted: its cost is only known afterwards), and cheap probes are spaced geometrically
    (~60 over a 300 s budget with ``growth = 1.1``) rather than run at every step."""

    def __init__(self, share: float = 0.05, first: float = 1.0, growth: float = 1.1):
        self.share, self.first, self.growth = share, first, growth
        self.spent, self.last, self.count = 0.0, 0.0, 0

    def next_at(self) -> float:
        return max(self.first, self.spent / self.share, self.growth * self.last)

    def due(self, elapsed: float) -> bool:
        return elapsed >= self.next_at()

    def record(self, elapsed: float, cost: float) -> None:
        self.spent, self.last, self.count = self.spent + cost, elapsed, self.count + 1

    def expect(self, cost: float, spent: float = 0.0) -> None:
        """A probe is expected to cost ``cost`` seconds: the first waits until ``cost <= share * elapsed``;
        ``spent`` seconds already went to measuring it."""
        self.first = max(self.first, cost / self.share)
        self.spent += spent


class StepCadence:
    """Probes at fixed optimizer steps of a step budget: ``round(k · total / probes)`` for ``k = 1..probes``
    (the last is the final step).  ``due(step)`` is a pure function of the step, so the probes, and the ``best``
    checkpoint they choose, do not depend on the machine's speed or load."""

    def __init__(self, total: int, probes: int):
        self.at = sorted({max(1, round(k * total / probes)) for k in range(1, probes + 1)}) if total > 0 else []
        self.spent, self.count, self.share = 0.0, 0, 0.0

    def due(self, step: int) -> bool:
        return step in self.at

    def record(self, elapsed: float, cost: float) -> None:
        self.spent, self.count = self.spent + cost, self.count + 1


def bound(probes: int, per_probe: float, training: float, share: float = CHECK_SHARE) -> tuple[int, float]:
    """``(probes, work per probe)`` within ``share · training`` work: ``probes`` of ``per_probe`` work each
    when they fit; else as many (at least one) as fit whole; else one, of ``share · training`` work (the
    caller shrinks the reference to it)."""
    allowed = share * training
    if probes * per_probe <= allowed:
        return probes, per_probe
    fit = int(allowed // per_probe) if per_probe > 0 else probes
    return (fit, per_probe) if fit >= 1 else (1, allowed)


SIGNIFICANCE = 2.0
"""Standard deviations of the difference of two probe scores by which an earlier state must beat a later one to
stay ``best`` (:meth:`Validator.tie_bound`): a one-sided test at about the 2 % level."""


class Validator:
    """Score ``model`` against held-out data: ``__call__(model, generator, ema) -> dict`` (``score`` and its
    components, lower is better) through ``probe`` (a :class:`~physgen.metrics.quality.QualityProbe`);
    ``spec``/``transform`` map model-space samples to data space (:func:`physgen.training.data.draw`);
    ``constants`` are the training file's constant conditions and attributes (``RUN/data.json``);
    ``resize(max_samples)`` (optional) builds the same probe on a smaller reference, for :meth:`fit`."""

    def __init__(self, probe, spec, transform, constants: dict[str, Any] | None = None, resize=None):
        self.probe, self.spec, self.transform, self.constants = probe, spec, transform, constants or {}
        self.resize = resize

    @property
    def size(self) -> int:
        """Samples one probe draws (the reference's size)."""
        return int(sum(k for k, _ in self.probe.requests()))

    def cost(self, model, generator: torch.Generator, ema=None) -> float:
        """Seconds per generated sample, from a timed draw of up to ``PILOT`` samples at the first condition
        value (the model left as it was, like a probe)."""
        k, condition = self.probe.requests()[0]
        k = max(1, min(int(k), PILOT))
        t = time.perf_counter()
        self._draw(model, [(k, condition)], generator, ema)
        return (time.perf_counter() - t) / k

    def work(self, model) -> float | None:
        """The declared work of one probe's draw (:meth:`GenerativeModel.sample_work` over the requests; None
        when the family declares none)."""
        parts = [model.sample_work(int(k)) for k, _ in self.probe.requests()]
        return None if any(p is None for p in parts) else float(sum(parts))

    def fit(self, per_sample: float, seconds: float) -> int:
        """Shrink the reference so that one probe costs about ``seconds`` at ``per_sample`` seconds a sample
        (never below ``MIN_PER_VALUE`` rows per condition value, 8 in all); returns the new :attr:`size`."""
        smallest = max(8, MIN_PER_VALUE * len(self.probe.requests()))
        n = max(smallest, int(seconds / max(per_sample, 1e-9)))
        if self.resize is not None and n < self.size:
            self.probe = self.resize(n)
        return self.size

    @property
    def name(self) -> str:
        return str(self.probe.name)

    @property
    def floor(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.probe.floor.items()}

    @property
    def tolerance(self) -> float:
        """How close to the lowest score a later one counts as a tie for ``best``: the probe's
        ``floor_noise`` (the standard deviation of a score at its floor), 0 for a probe without one."""
        return float(getattr(self.probe, "floor_noise", 0.0))

    def tie_bound(self, lowest: float, noise: float = 0.0) -> float:
        """The highest score that ties with the ``lowest`` so far for ``best``:
        ``max(lowest, floor) + max(tolerance, z·√2·noise)``, ``noise`` the run's pooled standard deviation of a
        model's score (the probes' ``score_noise``, :class:`~physgen.training.trainer_probes.QualityChecks`) and
        ``z`` = :data:`SIGNIFICANCE`.

        A score below the floor is a lucky draw of the probe, not a better model: a model that samples the
        data's own distribution scores the floor on average, with standard deviation ``tolerance``.  A model
        away from the floor scores with a larger spread (``score_noise``), and the difference of two such scores
        has √2 times that spread: an earlier state stays ``best`` only when its score is lower than a later
        one's by ``z`` standard deviations of that difference."""
        return max(lowest, float(self.probe.floor.get("score", -math.inf))) + self.tie_tolerance(noise)

    def tie_tolerance(self, noise: float = 0.0) -> float:
        """How far above the lowest score (or the floor) a later score still ties: max(tolerance, z·√2·noise)."""
        return max(self.tolerance, SIGNIFICANCE * math.sqrt(2.0) * noise)

    def verdict(self, values: dict[str, float]) -> str:
        return str(self.probe.verdict(values))

    def remarks(self, values: dict[str, float]) -> str | None:
        """The probe's line beside its verdict (spins: C and χ against their floors), or None."""
        remarks = getattr(self.probe, "remarks", None)
        return remarks(values) if remarks is not None else None

    def at_floor(self, values: dict[str, float]) -> bool:
        """Whether ``values`` are at the probe's floor within its noise (the verdict "at floor")."""
        score = float(values.get("score", math.nan))
        if not math.isfinite(score):
            return False
        threshold = getattr(self.probe, "threshold", None)
        if threshold is not None:
            return score <= float(threshold)
        return self.verdict(values).endswith("at floor")

    def __call__(self, model, generator: torch.Generator, ema=None) -> dict[str, float]:
        fake = self._draw(model, list(self.probe.requests()), generator, ema)
        return {k: float(v) for k, v in self.probe.score(fake).items()}

    def _draw(self, model, plan, generator: torch.Generator, ema):
        """Samples per ``plan`` in data space, from the EMA weights when given, the model left untouched."""
        with untouched(model), (ema.applied(model) if ema is not None else contextlib.nullcontext()):
            return draw(model, self.spec, self.transform, plan, generator, constants=self.constants)


@contextlib.contextmanager
def untouched(model):
    """Eval mode inside the block; the model's buffers (e.g. persistent chains) and mode restored after."""
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    training = model.training
    model.eval()
    try:
        yield
    finally:
        with torch.no_grad():
            for name, b in model.named_buffers():
                if name in buffers:
                    b.copy_(buffers[name])
        model.train(training)

