"""The report layer's side of the model contract (:mod:`physgen.models.contract`): a model's run hooks become
trainer callbacks that receive a read-only :class:`~physgen.models.contract.RunContext` (never the trainer),
and the files a hook reports are written here, atomically, under the run directory (rank 0 only)."""
from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

from physgen.atomic import write_bytes, write_json
from physgen.models.contract import Hook, RunContext


def attach(trainer, model) -> None:
    """Register every ``(event, hook)`` of ``model.run_hooks(training samples)`` on ``trainer``."""
    for event, hook in model.run_hooks(trainer.data.x):
        trainer.add_callback(event, partial(_call, hook, event))


def _call(hook: Hook, event: str, trainer) -> None:
    hook(context(trainer, event))


def context(trainer, event: str) -> RunContext:
    """The :class:`RunContext` of ``trainer`` at ``event``."""
    book = trainer.logbook
    return RunContext(event=event, step=int(trainer.step), epoch=int(trainer.epoch), position=int(trainer.position),
                      rank=int(trainer.ctx.rank), is_main=bool(trainer.ctx.is_main), run_dir=trainer.run_dir,
                      logs=MappingProxyType(trainer.last_logs), history=History(book.rows if book is not None else []),
                      report=partial(_report, trainer), say=trainer.say, request_stop=partial(_stop, trainer))


class History(Sequence):
    """A read-only view of the logged rows (each row a read-only mapping), without copying them."""

    def __init__(self, rows: list[dict[str, Any]]):
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [MappingProxyType(r) for r in self._rows[i]]
        return MappingProxyType(self._rows[i])


def _report(trainer, name: str, data: Any) -> None:
    if trainer.run_dir is not None and trainer.ctx.is_main:
        write_report(trainer.run_dir, name, data)


def _stop(trainer, reason: str | None = None) -> None:
    trainer.request_stop(reason)


def write_report(run_dir: str | Path, name: str, data: Any) -> Path:
    """Write one reported file ``run_dir/name``: a JSON value, ``bytes``, a matplotlib figure (PNG), or a
    function of no arguments returning one of those."""
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise ValueError(f"reported file {name!r}: not a path inside the run directory")
    path = Path(run_dir, *rel.parts)
    if callable(data):
        data = data()
    if isinstance(data, (bytes, bytearray, memoryview)):
        return write_bytes(path, data)
    if hasattr(data, "savefig"):
        from physgen.report.html import figure_png

        return write_bytes(path, figure_png(data))
    return write_json(path, data)
