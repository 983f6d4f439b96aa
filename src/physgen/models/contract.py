"""What a model sees of the run that trains it: a read-only :class:`RunContext` per training event.

A family's :meth:`~physgen.models.base.GenerativeModel.run_hooks` returns ``(event, hook)`` pairs; before
every fit the trainer's report layer (:mod:`physgen.training.hooks`) registers them, and at each event calls
``hook(ctx)`` with a new context.  A model never holds the trainer: it reads the step, the epoch, its rank,
the run directory and the logged rows from the context, and acts only through the context's three sinks —

* ``report(name, data)``: a file for the report layer to write under the run directory (rank 0 only, and
  only when the run has a directory).  ``name`` is a relative path (``diagnostics/losses.png``); ``data`` is
  a JSON value (dict or list), ``bytes``, a matplotlib figure (written as PNG), or a function of no
  arguments returning one of those (called only where the file is written, so that a figure is drawn once
  and only on the rank that writes it);
* ``say(message)``: one line on stderr (rank 0 only);
* ``request_stop(reason=None)``: end the run cleanly after the current step (status ``stopped``); ``reason``, one
  short line such as ``"target reached"``, is the summary's ``stopped_by`` (default ``request``).

Events are the trainer's (``on_train_start``, ``on_batch_end``, ``on_log``, ``on_validation``, ``on_quality``,
``on_checkpoint``, ``on_epoch_end``, ``on_divergence``, ``on_train_end``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence


@dataclass(frozen=True)
class RunContext:
    """The run at one event, as a model may see it (read-only).

    ``step``: optimizer steps done; ``epoch``: whole epochs done and ``position``: batches into the current
    one; ``rank`` and ``is_main`` (rank 0); ``run_dir`` (None for a run without a directory); ``logs``: the
    last logged row (``step``, ``epoch``, the model's logs averaged over the logging window, ``time_s``);
    ``history``: every row of ``metrics.csv`` so far (floats as their ``repr`` strings, rows read back from
    an earlier run's file all strings: read values with ``float``; rank 0 with a run directory, else empty).
    """

    event: str
    step: int
    epoch: int
    position: int
    rank: int
    is_main: bool
    run_dir: Path | None
    logs: Mapping[str, Any]
    history: Sequence[Mapping[str, Any]]
    report: Callable[[str, Any], None]
    say: Callable[[str], None]
    request_stop: Callable[..., None]

    @property
    def epochs_begun(self) -> int:
        """Epochs done, counting a partly done one."""
        return self.epoch + (1 if self.position else 0)


#: a model's hook: called with the run's context at its event
Hook = Callable[[RunContext], None]


@dataclass(frozen=True)
class DemoStage:
    """A family's stage of ``physgen demo`` (:attr:`~physgen.models.base.GenerativeModel.demo`): the stage's
    name and title, its place among the model stages (``order``, ascending), the notebook its report section
    links to (``notebooks/NAME``), and quick mode's run: ``quick_steps`` optimizer steps with the ``--set``
    overrides ``quick_sets`` on top of the family's defaults (sized for the quick demo's L = 8 lattices)."""

    stage: str
    title: str
    order: int
    notebook: str
    quick_steps: int
    quick_sets: tuple[str, ...] = ()
