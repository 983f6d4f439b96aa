"""``metrics.csv`` (one row per logging step) and optional TensorBoard scalars.

Columns are ``step, epoch, ...`` followed by every key logged so far; a key that first appears late
(e.g. ``val_loss``) rewrites the file atomically with the wider header.  On resume the rows after the
restored step are dropped, so the file describes exactly one trajectory.  Rows are appended in batches,
at most ``FLUSH_SECONDS`` apart, and whenever the trainer writes a checkpoint (:meth:`Logbook.flush`), so
every row up to a checkpoint on disk is in the file: a resume after ``kill -9`` logs the rest again.  (A
write and flush per row costs a measurable share of a fast update: benchmarks/records/training.md.)
"""
from __future__ import annotations

import csv
import io
import math
import time
import warnings
from pathlib import Path
from typing import Any

from physgen.atomic import write_text

FLUSH_SECONDS = 1.0


class Logbook:
    """Append-only CSV of training metrics, with optional TensorBoard mirroring."""

    def __init__(self, run_dir: str | Path, *, tensorboard: bool = False):
        self.path = Path(run_dir) / "metrics.csv"
        self.columns: list[str] = []
        self.rows: list[dict[str, Any]] = []
        if self.path.exists():
            self.columns, self.rows = _read(self.path)
        self.writer = _tensorboard(Path(run_dir) / "tensorboard") if tensorboard else None
        self._file = None  # kept open between appends ...
        self._csv = None   # ... through this csv writer
        self._pending: list[dict[str, Any]] = []   # rows logged but not yet appended
        self._flushed = time.monotonic()

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after ``step`` (a resume or rollback continues from there)."""
        kept = [r for r in self.rows if int(float(r["step"])) <= step]
        if len(kept) != len(self.rows):
            self.rows = kept
            self._rewrite()

    def log(self, row: dict[str, Any]) -> None:
        row = {k: _fmt(v) for k, v in row.items()}
        new = [k for k in row if k not in self.columns]
        self.rows.append(row)
        if new or (self._file is None and not self.path.exists()):  # (an open file: no stat per row)
            self.columns += new
            self._rewrite()
        else:
            self._pending.append(row)
            if time.monotonic() - self._flushed >= FLUSH_SECONDS:
                self.flush()
        if self.writer is not None:
            step = int(float(row["step"]))
            for k, v in row.items():
                if k not in ("step", "epoch") and _is_number(v):
                    self.writer.add_scalar(k, float(v), step)

    def flush(self) -> None:
        """Append the rows logged since the last write to the file."""
        if self._pending:
            try:
                if self._file is None:
                    self._file = open(self.path, "a", newline="")
                    self._csv = csv.writer(self._file, lineterminator="\n")  # (as _rewrite writes)
                self._csv.writerows([row.get(k, "") for k in self.columns] for row in self._pending)
                self._file.flush()
            except OSError as exc:  # e.g. disk full: name the file (a failed flush has no name)
                raise OSError(exc.errno, exc.strerror or str(exc), str(self.path)) from None
            self._pending.clear()
        self._flushed = time.monotonic()

    def _rewrite(self) -> None:
        self._close_file()  # the file is replaced: reopen the new one on the next append
        self._pending.clear()  # (written below with the others)
        self._flushed = time.monotonic()
        buf = io.StringIO()
        w = csv.DictWriter(buf, self.columns, restval="", lineterminator="\n")
        w.writeheader()
        w.writerows(self.rows)
        write_text(self.path, buf.getvalue())

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def close(self) -> None:
        self.flush()
        self._close_file()
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _read(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns and complete rows of an existing ``metrics.csv`` (a row cut short by ``kill -9``, or with a step
    that is not a finite number, is dropped); UserError for a file that is not such a table."""
    from physgen.errors import UserError

    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            columns = list(reader.fieldnames or [])
            rows = [r for r in reader if _complete(r)]
    except (UnicodeDecodeError, csv.Error, OSError) as exc:
        why = getattr(exc, "strerror", None) or " ".join(str(exc).split())[:120]
        raise UserError(f"{path}: not a readable metrics table ({why}); move it away to go on without "
                        f"the logged history") from None
    if columns and columns[0] != "step":
        raise UserError(f"{path}: its header starts with {columns[0][:40]!r}, not 'step'; move it away to go on "
                        f"without the logged history")
    return columns, rows


def _complete(row: dict[str, Any]) -> bool:
    if None in row or any(v is None for v in row.values()):
        return False
    try:
        int(float(row["step"]))
    except (KeyError, ValueError, OverflowError):
        return False
    return True


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else str(v)
    return v


def _is_number(v: Any) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def _tensorboard(logdir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        warnings.warn("train.tensorboard=true but the tensorboard package is not installed; "
                      "logging to metrics.csv only", stacklevel=2)
        return None
    return SummaryWriter(str(logdir))


def tail_means(run_dir: str | Path, keys, n: int = 50) -> dict[str, float]:
    """Mean of each of ``keys`` over the last ``n`` rows of ``RUN_DIR/metrics.csv`` (rows where the key is
    empty are skipped; NaN when none has it)."""
    _, rows = _read(Path(run_dir) / "metrics.csv")
    out = {}
    for k in keys:
        vals = [float(r[k]) for r in rows[-n:] if r.get(k) not in (None, "")]
        out[k] = sum(vals) / len(vals) if vals else math.nan
    return out
