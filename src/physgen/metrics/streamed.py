"""Histogram divergences of two whole dataset files read block by block: for files larger than memory.

The estimator is that of the ``kl`` and ``js`` metrics (:mod:`physgen.metrics.divergences`): per feature,
``bins`` equal-width bins spanning [min, max] of the *real* file plus an underflow and an overflow bin,
pseudo-count ``alpha`` in every bin of both histograms, KL(real‖fake) and JS in nats.  Only the counts are
accumulated, so memory does not grow with the files: one pass over the real file for the range, one over each
file for the counts.  ``physgen evaluate`` records the result when it evaluates a subsample of a file larger
than ``--max-memory`` (continuous data, whose features are the file's columns).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from physgen.data.lazy import LazyDataset, peek
from physgen.metrics.divergences import ALPHA, binned_counts, feature_bins, kl_js_from_counts


def _blocks(source: LazyDataset):
    """``(rows, d)`` float64 blocks of the file, in order."""
    samples = source.open()
    try:
        for start in range(0, len(source), source.chunk_rows):
            block = source.read(start, min(start + source.chunk_rows, len(source)), samples)
            yield block.reshape(len(block), -1).astype(np.float64)
    finally:
        samples.file.close()


def whole_file_divergences(real: str | Path, fake: str | Path, *, bins: int = 50, alpha: float = ALPHA) -> dict:
    """Per-feature histogram KL(real‖fake) and JS(real, fake) over every row of both files.

    Returns ``{"bins", "alpha", "n_real", "n_fake", "kl", "js"}`` (``kl``/``js``: mean over features) and the
    ``kl_per_feature``/``js_per_feature`` lists ``(d,)``."""
    r, f = peek(real), peek(fake)
    lo = hi = None
    for x in _blocks(r):
        lo = x.min(axis=0) if lo is None else np.minimum(lo, x.min(axis=0))
        hi = x.max(axis=0) if hi is None else np.maximum(hi, x.max(axis=0))
    same = lo == hi
    lo, hi = np.where(same, lo - 0.5, lo), np.where(same, hi + 0.5, hi)   # constant features: a unit-wide range
    edges = [np.linspace(a, b, bins + 1) for a, b in zip(lo, hi)]
    counts = []
    for source in (r, f):
        c = np.zeros((len(edges), bins + 2), dtype=np.int64)
        for x in _blocks(source):
            c += binned_counts(feature_bins(x, edges), bins + 2)
        counts.append(c)
    kl, js = kl_js_from_counts(counts[0], counts[1], alpha)
    return {"bins": bins, "alpha": alpha, "n_real": len(r), "n_fake": len(f), "kl": float(kl.mean()),
            "js": float(js.mean()), "kl_per_feature": [float(v) for v in kl], "js_per_feature": [float(v) for v in js]}
