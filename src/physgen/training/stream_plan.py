"""Setting up a streamed training run: which path, the split, and one pass over the file.

:func:`plan` decides the path: a file whose in-memory footprint (:func:`physgen.data.memory.in_memory_bytes`)
is at most ``data.max_memory`` trains in memory exactly as before; a larger one is streamed.
:func:`prepare` then reads the file once, block by block, and gathers what must be in memory:

* the held-out rows (the same seeded split as in memory, :func:`physgen.training.data.split_rows`), at most a
  quarter of ``data.max_memory``: beyond it a seeded subsample of them (recorded in ``summary.json``);
* the *fit sample*, a seeded subsample of the training rows (at most an eighth of ``data.max_memory``) that a
  model's ``on_fit_start`` sees (data ranges, means) and that ``yeo-johnson`` is fitted on;
* for ``standardize`` and ``minmax`` the exact per-feature moments / range of all training rows (moments merged
  block by block with Chan, Golub & LeVeque's pairwise update, The American Statistician 37:242, 1983).

Each buffer of the stream holds about a quarter of ``data.max_memory`` (two are in memory at a batch that spans
them), at least one batch, and at least four blocks (a file chunk larger than a quarter buffer is read in parts).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from physgen.data import Dataset
from physgen.data import memory as M
from physgen.data.lazy import LazyDataset
from physgen.data.transforms import Transform, make_transform, resolve_transform
from physgen.errors import UserError
from physgen.streams import entropy, rng
from physgen.training.data import split_rows, to_tensor_data
from physgen.training.stream import StreamingData, as_dataset


@dataclass
class Plan:
    streamed: bool
    max_memory: int          # bytes
    row_bytes: int           # bytes one row costs in training (stored + model space)
    footprint: int           # estimated bytes of the in-memory path


def plan(source: LazyDataset, max_memory: str, batch_size: int, dtype: str = "float32") -> Plan:
    """The training path for ``source``; a ``data.max_memory`` below one batch is a UserError."""
    limit = M.parse_bytes(max_memory)
    model_bytes = 8 if dtype == "float64" else 4
    row = M.row_bytes(source.shape, source.dtype, model_bytes)
    if limit < batch_size * row:
        raise UserError(f"data.max_memory={max_memory}: below one batch (train.batch_size={batch_size} rows of "
                        f"{M.human(row)} = {M.human(batch_size * row)}); raise it or lower train.batch_size")
    footprint = M.in_memory_bytes(len(source), source.shape, source.dtype, source.kind, model_bytes)
    return Plan(footprint > limit, limit, row, footprint)


@dataclass
class Prepared:
    data: StreamingData
    val: Dataset | None
    transform: Transform
    info: dict[str, Any] = field(default_factory=dict)   # summary.json's "streamed" record


def prepare(source: LazyDataset, p: Plan, *, transform_name: str, condition: str | None, val_fraction: float,
            seed: int, batch_size: int, transform: Transform | None = None) -> Prepared:
    """One pass over ``source``: the held-out set, the fit sample, the transform (fitted unless given)."""
    train_rows, val_rows = split_rows(len(source), val_fraction, seed)
    n_heldout = len(val_rows)
    cap = max(1, (p.max_memory // 4) // p.row_bytes)
    if len(val_rows) > cap:
        val_rows = np.sort(rng("heldout-subsample", seed).choice(val_rows, cap, replace=False))
    fit_cap = max(1, (p.max_memory // 8) // p.row_bytes)
    fit_rows = train_rows
    if len(train_rows) > fit_cap:
        fit_rows = np.sort(rng("fit-sample", seed).choice(train_rows, fit_cap, replace=False))
    name = resolve_transform(transform_name, source.kind, int(np.prod(source.shape)))
    moments = _Moments() if transform is None and name in ("standardize", "minmax") else None
    val_x, fit_x = _survey(source, train_rows, val_rows, fit_rows, moments)
    if transform is None:
        transform = _fit(name, source.kind, moments, fit_x)
    fit_sample = to_tensor_data(as_dataset(source, fit_x, fit_rows), transform, condition)
    buffer_rows = max(batch_size, (p.max_memory // 4) // p.row_bytes)
    c = max(1, min(source.chunk_rows, buffer_rows // 4))   # at least four blocks to shuffle in a buffer
    buffer_chunks = -(-buffer_rows // c)
    data = StreamingData(source, train_rows, transform, condition, fit_sample, chunk_rows=c,
                         buffer_chunks=buffer_chunks)
    val = as_dataset(source, val_x, val_rows) if len(val_rows) else None
    info = {"max_memory": p.max_memory, "footprint": p.footprint, "chunk_rows": c, "buffer_chunks": buffer_chunks,
            "n_train": len(train_rows), "n_heldout": n_heldout, "n_heldout_used": len(val_rows),
            "heldout_subsample_seed": entropy("heldout-subsample", seed) if len(val_rows) < n_heldout else None,
            "fit_sample": len(fit_rows),
            "fit_sample_seed": entropy("fit-sample", seed) if len(fit_rows) < len(train_rows) else None}
    return Prepared(data, val, transform, info)


def _survey(source: LazyDataset, train_rows, val_rows, fit_rows, moments) -> tuple[np.ndarray, np.ndarray]:
    """Read every block once: the held-out and fit-sample rows, and the training rows' moments."""
    c = source.chunk_rows
    val_x = np.empty((len(val_rows), *source.shape), dtype=source.dtype)
    fit_x = np.empty((len(fit_rows), *source.shape), dtype=source.dtype)
    samples = source.open()
    try:
        for start in range(0, len(source), c):
            stop = min(start + c, len(source))
            block = source.read(start, stop, samples)
            for rows, out in ((val_rows, val_x), (fit_rows, fit_x)):
                a, b = np.searchsorted(rows, [start, stop])
                out[a:b] = block[rows[a:b] - start]
            if moments is not None:
                a, b = np.searchsorted(train_rows, [start, stop])
                moments.add(block[train_rows[a:b] - start].reshape(b - a, -1))
    finally:
        samples.file.close()
    return val_x, fit_x


class _Moments:
    """Per-feature count, mean, sum of squared deviations, min and max, merged block by block (Chan et al.)."""

    def __init__(self):
        self.n, self.mean, self.m2, self.lo, self.hi = 0, 0.0, 0.0, None, None

    def add(self, x2: np.ndarray) -> None:
        if len(x2) == 0:
            return
        x2 = x2.astype(np.float64)
        n, mean = len(x2), x2.mean(axis=0)
        m2 = ((x2 - mean) ** 2).sum(axis=0)
        delta, total = mean - self.mean, self.n + n
        self.mean = self.mean + delta * n / total
        self.m2 = self.m2 + m2 + delta ** 2 * self.n * n / total
        self.n = total
        lo, hi = x2.min(axis=0), x2.max(axis=0)
        self.lo = lo if self.lo is None else np.minimum(self.lo, lo)
        self.hi = hi if self.hi is None else np.maximum(self.hi, hi)


def _fit(name: str, kind: str, moments: _Moments | None, fit_x: np.ndarray) -> Transform:
    """The transform ``name`` from the streamed moments (standardize, minmax) or the fit sample (yeo-johnson)."""
    if name != "none" and kind not in ("continuous", "image"):
        raise UserError(f"data.transform={name}: transforms apply to continuous data only, the data is {kind!r} "
                        f"(use --set data.transform=none)")
    t = make_transform(name)
    if name == "standardize":
        std = np.sqrt(moments.m2 / moments.n)
        t.mean_, t.scale_ = np.asarray(moments.mean, dtype=np.float64), np.where(std > 0, std, 1.0)
    elif name == "minmax":
        span = moments.hi - moments.lo
        t.min_, t.span_ = moments.lo, np.where(span > 0, span, 1.0)
    else:
        t.fit(fit_x)
    return t
