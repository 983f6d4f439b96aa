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
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, expected an HDF5 dataset file")
    try:
        with h5py.File(path, "r") as f:
            return _header(f, path)
    except UserError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise UserError(f"{path}: not a readable HDF5 dataset file ({io._short(exc)})") from None


def _header(f: h5py.File, path: Path) -> LazyDataset:
    where = str(path)
    if "samples" not in f or not isinstance(f["samples"], h5py.Dataset):
        raise UserError(f"{where}: missing dataset /samples")
    attrs = {k: io._attr_from_h5(v) for k, v in f.attrs.items()}
    kind = attrs.pop("kind", None)
    if kind is None:
        raise UserError(f"{where}: missing root attribute 'kind'")
    s = f["samples"]
    conditions = {name: f["conditions"][name][()] for name in f["conditions"]} if "conditions" in f else {}
    labels = f["labels"][()] if "labels" in f else None
    if len(s.shape) < 2 or s.shape[0] < 1:
        raise UserError(f"{where}: /samples has shape {s.shape}, expected (N, ...) with N >= 1")
    n = int(s.shape[0])
    for name, values in conditions.items():
        if values.shape != (n,):
            raise UserError(f"{where}: /conditions/{name} has shape {values.shape}, expected ({n},)")
    if labels is not None and labels.shape != (n,):
        raise UserError(f"{where}: /labels has shape {labels.shape}, expected ({n},)")
    # everything but the sample values, checked on a one-row stand-in (ones are valid for every kind)
    stand_in = io.Dataset(np.ones((1, *s.shape[1:]), dtype=s.dtype), str(kind),
                          {k: v[:1] for k, v in conditions.items()}, None if labels is None else labels[:1], attrs)
    stand_in.validate(where)
    for name, values in conditions.items():
        if not np.all(np.isfinite(values)):
            raise UserError(f"{where}: /conditions/{name} contains NaN or Inf")
    return LazyDataset(path, n, tuple(s.shape[1:]), np.dtype(s.dtype), str(kind),
                       {k: np.asarray(v, dtype=np.float64) for k, v in conditions.items()}, labels, attrs,
                       block_rows(s))


def block_rows(samples: h5py.Dataset) -> int:
    """Rows per read block: the HDF5 chunk's row count for a chunked ``/samples``, else about
    :data:`BLOCK_BYTES` of rows."""
    if samples.chunks is not None:
        return int(samples.chunks[0])
    row = max(1, int(np.prod(samples.shape[1:])) * samples.dtype.itemsize)
    return max(1, min(int(samples.shape[0]), BLOCK_BYTES // row))
