"""Training on a file larger than memory: a chunk-aware shuffled stream of row blocks.

The file's rows are read in blocks (``chunk_rows`` rows, the HDF5 chunk: :func:`physgen.data.lazy.block_rows`).
Epoch ``e`` visits the blocks in a random order (a permutation seeded by ``(seed, e)``), groups
``buffer_chunks`` consecutive blocks of that order into a *buffer* and shuffles the rows within each buffer
(a permutation seeded by ``(seed, e, k)`` for buffer ``k``): the "shuffle buffer" of chunked data loaders
(e.g. WebDataset, tf.data's ``shuffle``), made deterministic.  The concatenated buffers are the epoch's
*stream*, a permutation of the training rows; like :class:`physgen.training.data.BatchOrder`, a checkpoint
needs only ``(epoch, batch)`` for an exact resume.

Under ``torchrun`` (``world`` W > 1) the stream is cut into W contiguous segments, one per rank, sized so that
global batch ``b`` is made of every rank's ``b``-th local batch with the sizes ``BatchOrder`` gives them; each
rank therefore reads only the buffers of its segment (disjoint rows, about 1/W of the file).  The global batch
is a different set of rows than a single-process run's (the in-memory path's global batches match it), while
every row is still used once per epoch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from physgen.data import Dataset
from physgen.data.lazy import LazyDataset
from physgen.data.transforms import Transform
from physgen.errors import UserError
from physgen.streams import entropy
from physgen.training.data import TensorData, to_model_space


TRANSFORM_BYTES = 32 << 20   # float64 working values of one transform call while reading a buffer


def _seed(*values: int) -> int:
    return int(np.random.SeedSequence([int(v) for v in values]).generate_state(1, np.uint64)[0] >> 1)


def local_size(size: int, rank: int, world: int) -> int:
    """Rank ``rank``'s share of ``size`` rows (``torch.tensor_split``'s sizes: the first ``size % world`` ranks
    get one more)."""
    return size // world + (1 if rank < size % world else 0)


class ChunkOrder:
    """Seeded, chunk-aware batch order over the training rows of a streamed file.

    ``counts`` ``(n_chunks,)``: training rows in each block (block ``c``'s rows are training rows
    ``offsets[c]:offsets[c + 1]``, numbered in file order).  ``batches_per_epoch`` follows
    :class:`~physgen.training.data.BatchOrder` (same ``drop_last`` and world-size rules).
    """

    def __init__(self, counts: np.ndarray, batch_size: int, *, buffer_chunks: int, seed: int,
                 drop_last: bool = False, world: int = 1):
        self.counts = np.asarray(counts, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.counts)])
        n = int(self.offsets[-1])
        if n < 1:
            raise UserError("training data: no rows to train on")
        if batch_size < world:
            raise UserError(f"train.batch_size={batch_size} is smaller than the {world} processes sharing it")
        if drop_last and n < batch_size:
            raise UserError(f"train.batch_size={batch_size} with train.drop_last=true leaves no batch of {n} rows")
        self.n, self.batch_size, self.seed, self.world = n, batch_size, int(seed), world
        self.buffer_chunks = max(1, int(buffer_chunks))
        full, rest = divmod(n, batch_size)
        self.full = full
        self.batches_per_epoch = full + (1 if rest >= world and not drop_last else 0)
        self.last = rest if self.batches_per_epoch > full else 0
        if self.batches_per_epoch == 0:
            raise UserError(f"training data: {n} rows cannot be shared by {world} processes")
        self._plan: tuple[int, np.ndarray, np.ndarray] | None = None

    # --- the epoch's stream ------------------------------------------------------------------
    def plan(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """``(chunks, starts)``: the epoch's block order ``(n_chunks,)`` and the stream position where each
        buffer starts ``(n_buffers + 1,)``."""
        if self._plan is None or self._plan[0] != epoch:
            gen = torch.Generator().manual_seed(_seed(*entropy("stream-order", self.seed, epoch)))
            chunks = torch.randperm(len(self.counts), generator=gen).numpy()
            per_buffer = np.add.reduceat(self.counts[chunks], np.arange(0, len(chunks), self.buffer_chunks))
            self._plan = (epoch, chunks, np.concatenate([[0], np.cumsum(per_buffer)]))
        return self._plan[1], self._plan[2]

    def buffer_chunks_of(self, epoch: int, k: int) -> np.ndarray:
        """Block ids of buffer ``k`` of ``epoch``, in stream order."""
        chunks, _ = self.plan(epoch)
        return chunks[k * self.buffer_chunks:(k + 1) * self.buffer_chunks]

    def buffer_perm(self, epoch: int, k: int) -> torch.Tensor:
        """``(rows_k,)`` int64 shuffle of buffer ``k``'s rows (seeded by seed, epoch and k)."""
        _, starts = self.plan(epoch)
        gen = torch.Generator().manual_seed(_seed(*entropy("stream-block", self.seed, epoch, k)))
        return torch.randperm(int(starts[k + 1] - starts[k]), generator=gen)

    # --- a rank's batches ----------------------------------------------------------------------
    def span(self, b: int, rank: int = 0, world: int = 1) -> tuple[int, int]:
        """Stream positions ``[p0, p1)`` of rank ``rank``'s share of global batch ``b``."""
        f = lambda r: local_size(self.batch_size, r, world) * self.full + local_size(self.last, r, world)  # noqa: E731
        start = sum(f(r) for r in range(rank))
        p0 = start + local_size(self.batch_size, rank, world) * min(b, self.full)
        size = local_size(self.batch_size if b < self.full else self.last, rank, world)
        return p0, p0 + size

    def pieces(self, epoch: int, p0: int, p1: int) -> list[tuple[int, int, int]]:
        """``[(k, j0, j1), ...]``: stream positions ``[p0, p1)`` as ranges of buffer-local positions."""
        _, starts = self.plan(epoch)
        out, k = [], int(np.searchsorted(starts, p0, side="right")) - 1
        while p0 < p1:
            stop = min(p1, int(starts[k + 1]))
            out.append((k, p0 - int(starts[k]), stop - int(starts[k])))
            p0, k = stop, k + 1
        return out

    def buffer_rows(self, epoch: int, k: int) -> np.ndarray:
        """Training-row ids of buffer ``k`` in block order (before the shuffle)."""
        chunks = self.buffer_chunks_of(epoch, k)
        return np.concatenate([np.arange(self.offsets[c], self.offsets[c + 1]) for c in chunks])

    def rows(self, epoch: int, b: int, rank: int = 0, world: int = 1) -> np.ndarray:
        """Training-row ids of rank ``rank``'s share of batch ``b`` of ``epoch`` (for tests and tools)."""
        out = []
        for k, j0, j1 in self.pieces(epoch, *self.span(b, rank, world)):
            out.append(self.buffer_rows(epoch, k)[self.buffer_perm(epoch, k)[j0:j1].numpy()])
        return np.concatenate(out)


@dataclass
class _Buffer:
    key: tuple[int, int]
    data: TensorData
    perm: torch.Tensor


class StreamingData:
    """Training rows ``rows`` (sorted file-row ids) of ``source`` read buffer by buffer in model space, in blocks
    of ``chunk_rows`` rows (the HDF5 chunk, or a part of it where a chunk is large against the memory budget).

    ``all()`` and ``x`` are the *fit sample*, a seeded subsample of the training rows held in memory (what a
    model's ``on_fit_start`` sees: data ranges, means); ``batch_at(order, epoch, b, rank, world)`` is rank
    ``rank``'s share of batch ``b`` as a batch dict.  At most the buffers of one batch are held (two, as a
    buffer holds at least one batch)."""

    streamed = True

    def __init__(self, source: LazyDataset, rows: np.ndarray, transform: Transform, condition: str | None,
                 fit_sample: TensorData, *, chunk_rows: int, buffer_chunks: int):
        self.source, self.rows, self.transform, self.condition = source, np.asarray(rows), transform, condition
        self.fit_sample, self.chunk_rows, self.buffer_chunks = fit_sample, chunk_rows, buffer_chunks
        c = chunk_rows
        self.counts = np.bincount(self.rows // c, minlength=-(-source.n // c))
        self.device, self.dtype = torch.device("cpu"), torch.float32
        self._buffers: list[_Buffer] = []
        self._samples = None
        cond = source.conditions.get(condition) if condition not in (None, "labels") else None
        self._cond = None if cond is None else torch.from_numpy(np.asarray(cond, dtype=np.float32)[:, None])
        self._labels = (torch.from_numpy(np.asarray(source.labels, dtype=np.int64)) if condition == "labels"
                        else None)

    def __len__(self) -> int:
        return int(len(self.rows))

    @property
    def x(self) -> torch.Tensor:
        return self.fit_sample.x

    def all(self) -> dict[str, torch.Tensor]:
        return self.fit_sample.all()

    def to(self, device: torch.device, dtype: torch.dtype) -> "StreamingData":
        self.device, self.dtype = torch.device(device), dtype
        self.fit_sample = self.fit_sample.to(device, dtype)
        self._buffers = []
        return self

    def order(self, batch_size: int, *, seed: int, drop_last: bool = False, world: int = 1) -> ChunkOrder:
        return ChunkOrder(self.counts, batch_size, buffer_chunks=self.buffer_chunks, seed=seed,
                          drop_last=drop_last, world=world)

    def batch_at(self, order: ChunkOrder, epoch: int, b: int, rank: int = 0, world: int = 1) -> dict[str, torch.Tensor]:
        """Rank ``rank``'s share of global batch ``b`` of ``epoch``, on the device."""
        pieces = order.pieces(epoch, *order.span(b, rank, world))
        keep = {(epoch, k) for k, _, _ in pieces}
        self._buffers = [buf for buf in self._buffers if buf.key in keep]
        parts = []
        for k, j0, j1 in pieces:
            buf = self._buffer(order, epoch, k)
            parts.append(buf.data.batch(buf.perm[j0:j1]))
        if len(parts) == 1:
            return parts[0]
        return {key: torch.cat([p[key] for p in parts]) for key in parts[0]}

    def _buffer(self, order: ChunkOrder, epoch: int, k: int) -> _Buffer:
        for buf in self._buffers:
            if buf.key == (epoch, k):
                return buf
        buf = _Buffer((epoch, k), self._read(order.buffer_chunks_of(epoch, k)),
                      order.buffer_perm(epoch, k).to(self.device))
        self._buffers.append(buf)
        return buf

    def _read(self, chunks: np.ndarray) -> TensorData:
        """Model-space tensors of the training rows of blocks ``chunks`` (in that order).

        The stored rows of all blocks are gathered first and transformed in slices of about
        :data:`TRANSFORM_BYTES` of float64 values: a transform's cost per call grows with the number of
        features (the quantile transform calls its interpolation and normal quantile once per feature), so
        small blocks of wide rows would otherwise pay it block by block.  Transforms act row by row, so the
        values do not depend on the slicing."""
        c, src = self.chunk_rows, self.source
        if self._samples is None:
            self._samples = src.open()
        file_rows = [self.rows[np.searchsorted(self.rows, i * c):np.searchsorted(self.rows, (i + 1) * c)]
                     for i in chunks]
        total = sum(len(r) for r in file_rows)
        raw = np.empty((total, *src.shape), dtype=src.dtype)
        at = 0
        for i, rows in zip(chunks, file_rows):
            if len(rows) == 0:
                continue
            block = src.read(int(i) * c, min((int(i) + 1) * c, src.n), self._samples)
            raw[at:at + len(rows)] = block[rows - int(i) * c]
            at += len(rows)
        x = torch.empty((total, *src.shape), dtype=torch.float32)
        step = max(1, TRANSFORM_BYTES // (8 * max(1, int(np.prod(src.shape)))))
        for a in range(0, total, step):
            x[a:a + step] = torch.from_numpy(to_model_space(raw[a:a + step], src.kind, self.transform))
        del raw
        index = torch.from_numpy(np.concatenate(file_rows)) if total else torch.zeros(0, dtype=torch.int64)
        cond = None if self._cond is None else self._cond.index_select(0, index)
        labels = None if self._labels is None else self._labels.index_select(0, index)
        return TensorData(x, cond, labels).to(self.device, self.dtype)


def as_dataset(source: LazyDataset, samples: np.ndarray, rows: np.ndarray) -> Dataset:
    """An in-memory :class:`Dataset` of file rows ``rows`` whose samples ``samples`` were read already."""
    mask = getattr(source, "mask", None)
    return Dataset(samples, source.kind, {k: v[rows] for k, v in source.conditions.items()},
                   None if source.labels is None else source.labels[rows], dict(source.attrs),
                   None if mask is None else mask[rows])
