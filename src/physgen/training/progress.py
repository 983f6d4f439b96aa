"""Where a training run stands: the state the trainer's parts share and that a checkpoint records to continue from.

A run resumed from a checkpoint sets these fields from the checkpoint's JSON state (:meth:`Progress.load`), and
with the tensors and the step-seeded randomness (:func:`physgen.streams.step_seed`) that is all it needs to go on
exactly as the uninterrupted run would have.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Mapping


@dataclass
class Progress:
    """``step``: optimizer steps done; ``epoch``: passes over the data done; ``position``: batches done in the
    current epoch; ``lr_scale``: the divergence guard's factor on every learning rate; ``retries``: the guard's
    retries so far; ``best``: the lowest validation metric of a checkpoint so far (``inf``: none);
    ``elapsed``: seconds of training, summed over the run's invocations."""

    step: int = 0
    epoch: int = 0
    position: int = 0
    lr_scale: float = 1.0
    retries: int = 0
    best: float = math.inf
    elapsed: float = 0.0

    def epochs_done(self, batches_per_epoch: int) -> float:
        """The epoch as a fraction (``metrics.csv``'s ``epoch`` column)."""
        return self.epoch + self.position / batches_per_epoch

    def to_json(self) -> dict[str, Any]:
        """The fields as a checkpoint's JSON state holds them (``best`` None when there is none)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["best"] = self.best if math.isfinite(self.best) else None
        return out

    def load(self, state: Mapping[str, Any]) -> None:
        """Set every field from a checkpoint's JSON state."""
        for f in fields(self):
            setattr(self, f.name, state[f.name] if f.name != "best" else
                    (state["best"] if state.get("best") is not None else math.inf))


def field_view(name: str) -> property:
    """A read-write property of an object with a ``progress`` attribute that shows ``progress.<name>``."""
    return property(lambda self: getattr(self.progress, name),
                    lambda self, value: setattr(self.progress, name, value),
                    doc=f"``progress.{name}`` (:class:`Progress`).")
