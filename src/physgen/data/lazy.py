"""A dataset file opened without reading its samples: for files larger than memory.

:func:`peek` reads and checks everything but ``/samples`` (whose shape and dtype it checks from the header):
the small per-row arrays (conditions, labels, 8 bytes a row each) and the attributes.  The samples are read
in row blocks (:meth:`LazyDataset.read`), each checked like :func:`physgen.data.load` checks a whole file.
Blocks follow the file's HDF5 chunking (:func:`block_rows`): a block read touches each chunk once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from physgen.data import io
from physgen.errors import UserError
from physgen.memory_guard import array_bytes, require
from physgen.streams import STREAMS

BLOCK_BYTES = 1 << 20          # rows per block of an unchunked file: about 1 MiB
CACHE_BYTES = 8 << 20          # HDF5 chunk cache while reading blocks (a file chunk read in parts)


@dataclass
class LazyDataset:
    """The parts of a :class:`physgen.data.Dataset` that are not the samples, plus the samples' header.

    Duck-types ``Dataset`` for ``kind``, ``shape``, ``conditions``, ``labels``, ``attrs``, ``feature_names``
    and ``len``; ``read(start, stop)`` returns samples ``(stop - start, *shape)``."""

    path: Path
    n: int
    shape: tuple[int, ...]
    dtype: np.dtype
    kind: str
    conditions: dict[str, np.ndarray] = field(default_factory=dict)
    labels: np.ndarray | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    chunk_rows: int = 1
    mask: np.ndarray | None = None   # kind pointcloud: /mask (N, P), read whole (one byte a particle slot)

    def __len__(self) -> int:
        return self.n

    @property
    def feature_names(self) -> list[str] | None:
        names = self.attrs.get("feature_names")
        return list(names) if names is not None else None

    @property
    def nbytes(self) -> int:
        """Bytes of the stored samples."""
        return self.n * int(np.prod(self.shape)) * self.dtype.itemsize

    def open(self) -> h5py.Dataset:
        """The ``/samples`` dataset of a freshly opened file (with a chunk cache for block reads)."""
        try:
            return h5py.File(self.path, "r", rdcc_nbytes=CACHE_BYTES)["samples"]
        except OSError as exc:
            raise UserError(f"{self.path}: not a readable HDF5 dataset file ({io._short(exc)})") from None

    def read(self, start: int, stop: int, samples: h5py.Dataset | None = None) -> np.ndarray:
        """Rows ``start:stop`` of ``/samples``, value-checked (spins ±1, binary 0/1, finite floats)."""
        try:
            x = (samples if samples is not None else self.open())[start:stop]
        except (OSError, ValueError) as exc:
            raise UserError(f"{self.path}: cannot read /samples rows {start}:{stop} ({io._short(exc)})") from None
        io._validate_values(x, self.kind, f"{self.path} (rows {start}:{stop})")
        return x


def peek(path: str | Path) -> LazyDataset:
    """Open ``path`` and check it like :func:`physgen.data.load` does, without reading ``/samples``."""
    path = io.existing_file(path)
    try:
        with h5py.File(path, "r") as f:
            return _header(f, path)
    except UserError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise UserError(f"{path}: not a readable HDF5 dataset file ({io._short(exc)})") from None


def _header(f: h5py.File, path: Path) -> LazyDataset:
    where = io.shown(path)
    if "samples" not in f or not isinstance(f["samples"], h5py.Dataset):
        raise UserError(f"{where}: missing dataset /samples")
    attrs = {k: io._attr_from_h5(v) for k, v in f.attrs.items()}
    kind = attrs.pop("kind", None)
    if kind is None:
        raise UserError(f"{where}: missing root attribute 'kind'")
    s = f["samples"]
    conditions = {name: f["conditions"][name][()] for name in f["conditions"]} if "conditions" in f else {}
    labels = f["labels"][()] if "labels" in f else None
    mask = f["mask"][()] if "mask" in f else None
    if len(s.shape) < 2 or s.shape[0] < 1:
        raise UserError(f"{where}: /samples has shape {s.shape}, expected (N, ...) with N >= 1")
    n = int(s.shape[0])
    # the per-row bookkeeping of a streamed pass (permutations, split masks: ~4 int64 per row) must fit
    require(array_bytes((n, 4), 8), what=f"{where}: /samples has {n:,} rows; their indices",
            reduce="use a file with fewer samples")
    for name, values in conditions.items():
        if values.shape != (n,):
            raise UserError(f"{where}: /conditions/{name} has shape {values.shape}, expected ({n},)")
    if labels is not None and labels.shape != (n,):
        raise UserError(f"{where}: /labels has shape {labels.shape}, expected ({n},)")
    # everything but the sample values, checked on a one-row stand-in (ones are valid for every kind)
    stand_in = io.Dataset(np.ones((1, *s.shape[1:]), dtype=s.dtype), str(kind),
                          {k: v[:1] for k, v in conditions.items()}, None if labels is None else labels[:1], attrs,
                          None if mask is None else np.ones((1, *mask.shape[1:]), mask.dtype))
    stand_in.validate(where)
    if mask is not None and (mask.shape != tuple(s.shape[:2]) or not np.all((mask == 0) | (mask == 1))):
        raise UserError(f"{where}: /mask has shape {mask.shape}, expected {tuple(s.shape[:2])} of 0/1")
    for name, values in conditions.items():
        if not np.all(np.isfinite(values)):
            raise UserError(f"{where}: /conditions/{name} contains NaN or Inf")
    return LazyDataset(path, n, tuple(s.shape[1:]), np.dtype(s.dtype), str(kind),
                       {k: np.asarray(v, dtype=np.float64) for k, v in conditions.items()}, labels, attrs,
                       block_rows(s), mask)


def block_rows(samples: h5py.Dataset) -> int:
    """Rows per read block: the HDF5 chunk's row count for a chunked ``/samples``, else about
    :data:`BLOCK_BYTES` of rows."""
    if samples.chunks is not None:
        return int(samples.chunks[0])
    row = max(1, int(np.prod(samples.shape[1:])) * samples.dtype.itemsize)
    return max(1, min(int(samples.shape[0]), BLOCK_BYTES // row))


SUBSAMPLE_SEED = STREAMS["file-subsample"]
WORKING_BYTES = 16      # bytes per value beyond the stored ones that evaluate/analyze work with (float64 copies)


def load_within(path: str | Path, max_memory: int, seed: int) -> tuple[io.Dataset, dict[str, Any] | None]:
    """The dataset at ``path``, whole when it fits in ``max_memory`` bytes (stored values plus
    :data:`WORKING_BYTES` a value), else a seeded uniform subsample of as many rows as fit, read block by block.

    Returns ``(dataset, record)``; ``record`` is None for the whole file, else what a protocol records: the
    file's row count, the rows used, the seed (``[seed, SUBSAMPLE_SEED]``, NumPy ``default_rng``, rows drawn
    without replacement and kept in file order), and the exact per-feature mean and standard deviation of the
    whole file (first 64 features) from the same pass (Chan, Golub & LeVeque's pairwise update)."""
    source = peek(path)
    per_row = int(np.prod(source.shape)) * (source.dtype.itemsize + WORKING_BYTES)
    cap = max(2, int(max_memory) // per_row)
    if len(source) <= cap:
        return io.load(path), None
    rows = np.sort(np.random.default_rng([seed, SUBSAMPLE_SEED]).choice(len(source), cap, replace=False))
    x = np.empty((cap, *source.shape), dtype=source.dtype)
    n, mean, m2 = 0, 0.0, 0.0
    samples = source.open()
    try:
        for start in range(0, len(source), source.chunk_rows):
            stop = min(start + source.chunk_rows, len(source))
            block = source.read(start, stop, samples)
            a, b = np.searchsorted(rows, [start, stop])
            x[a:b] = block[rows[a:b] - start]
            v = block.reshape(len(block), -1)[:, :64].astype(np.float64)
            bm = v.mean(axis=0)
            delta, total = bm - mean, n + len(v)
            m2 = m2 + ((v - bm) ** 2).sum(axis=0) + delta ** 2 * n * len(v) / total
            mean, n = mean + delta * len(v) / total, total
    finally:
        samples.file.close()
    ds = io.Dataset(x, source.kind, {k: v[rows] for k, v in source.conditions.items()},
                    None if source.labels is None else source.labels[rows], dict(source.attrs),
                    None if source.mask is None else source.mask[rows])
    record = {"file_rows": len(source), "rows": cap, "seed": [int(seed), SUBSAMPLE_SEED], "max_memory": int(max_memory),
              "file_mean": [float(m) for m in mean], "file_std": [float(s) for s in np.sqrt(m2 / n)]}
    return ds, record
