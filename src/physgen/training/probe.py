"""The trainer's quality probe: samples drawn from the model during training, mapped to data space and
scored against the held-out data by :class:`physgen.metrics.quality.QualityProbe`.

:class:`Validator` draws and scores (the EMA weights when the run keeps them; the model's buffers and
train/eval mode are restored afterwards, so a probe never changes the training: a resumed run stays exact
although probes run at wall-clock times).  :class:`Cadence` decides when: probe ``k + 1`` is due once the
wall time since the start satisfies ``spent_k <= share * elapsed``, where ``spent_k`` is the measured cost of
probes ``1..k`` (default share 5%); the first is due after ``first`` seconds.
"""
from __future__ import annotations

import contextlib
from typing import Any

import torch

from physgen.training.data import draw


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


class Validator:
    """Score ``model`` against held-out data: ``__call__(model, generator, ema) -> dict`` (``score`` and its
    components, lower is better) through ``probe`` (a :class:`~physgen.metrics.quality.QualityProbe`);
    ``spec``/``transform`` map model-space samples to data space (:func:`physgen.training.data.draw`);
    ``constants`` are the training file's constant conditions and attributes (``RUN/data.json``)."""

    def __init__(self, probe, spec, transform, constants: dict[str, Any] | None = None):
        self.probe, self.spec, self.transform, self.constants = probe, spec, transform, constants or {}

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

    def verdict(self, values: dict[str, float]) -> str:
        return str(self.probe.verdict(values))

    def __call__(self, model, generator: torch.Generator, ema=None) -> dict[str, float]:
        with untouched(model), (ema.applied(model) if ema is not None else contextlib.nullcontext()):
            fake = draw(model, self.spec, self.transform, list(self.probe.requests()), generator,
                        constants=self.constants)
        return {k: float(v) for k, v in self.probe.score(fake).items()}


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

