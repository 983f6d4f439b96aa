"""The study's fixed train / held-out split of ``--data``, made once and recorded in ``DIR/data``.

``DIR/data/train.h5`` trains every trial; ``DIR/data/heldout.h5`` (:data:`HELDOUT_FRACTION` of the
rows, never seen in training) scores it.  The rows are a seeded permutation, stratified by the
conditioning column (``--condition``: a temperature, or ``labels``) so every trained value keeps the
same share.  ``DIR/data/split.json`` records the source file's SHA-256, the seed and the sizes; a
resumed study refuses a different source file or seed.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import numpy as np

from physgen.atomic import write_json
from physgen.data import Dataset, load, save
from physgen.errors import UserError
from physgen.streams import rng
from physgen.training.rundir import file_sha256, read_json

HELDOUT_FRACTION = 0.2
TRAIN, HELDOUT, RECORD = "train.h5", "heldout.h5", "split.json"


def heldout_rows(n: int, fraction: float, rng: np.random.Generator, groups: np.ndarray | None = None) -> np.ndarray:
    """Sorted indices of the held-out rows: ``round(fraction * n_g)`` random rows of every group ``g``
    (the whole set is one group when ``groups`` is None), at least one row per group of two or more."""
    keys = np.zeros(n) if groups is None else np.asarray(groups)
    picked = []
    for value in np.unique(keys):
        rows = rng.permutation(np.flatnonzero(keys == value))
        k = int(round(fraction * len(rows)))
        k = min(max(k, 1 if len(rows) >= 2 else 0), len(rows) - 1) if len(rows) else 0
        picked.append(rows[:k])
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)


def _groups(ds: Dataset, condition: str | None) -> np.ndarray | None:
    if condition == "labels":
        return ds.labels
    return ds.conditions.get(condition) if condition else None


def make_split(data: str | Path, directory: str | Path, *, seed: int, condition: str | None,
               warn: Callable[[str], None] | None = None) -> dict:
    """Write (or, when already there, check) the split of ``data`` into ``directory``; returns the record.

    Split files that are missing, truncated or changed since (their SHA-256 in the record) are made again
    from ``data`` (the same rows: the split is a function of the file and the seed), with one line to ``warn``
    (default: standard error)."""
    data, directory = Path(data), Path(directory)
    record_path = directory / RECORD
    digest = file_sha256(data)
    if record_path.is_file():
        record = read_json(record_path)
        if record.get("source_sha256") != digest or record.get("seed") != seed:
            raise UserError(f"the study in {directory.parent} was split from another file or "
                            f"seed ({record.get('source')}, seed {record.get('seed')}); use another output directory",
                            key="data", value=data)
        damaged = _damaged(directory, record)
        if not damaged:
            return record
        (warn or _to_stderr)(f"physgen: warning: {directory / damaged}: missing or damaged; the split is made "
                             f"again from {data}")
    ds = load(data)
    held = heldout_rows(len(ds), HELDOUT_FRACTION, rng("tune-heldout", seed), _groups(ds, condition))
    train = np.setdiff1d(np.arange(len(ds)), held)
    if len(held) < 2 or len(train) < 2:
        raise UserError(f"{len(ds)} samples are too few to hold out {HELDOUT_FRACTION:.0%} for scoring",
                        key="data", value=data)
    save(ds.subset(train), directory / TRAIN, overwrite=True)
    save(ds.subset(held), directory / HELDOUT, overwrite=True)
    record = {"source": str(data.resolve()), "source_sha256": digest, "seed": seed,
              "heldout_fraction": HELDOUT_FRACTION, "stratified_by": condition,
              "n_train": int(len(train)), "n_heldout": int(len(held)),
              "train_sha256": file_sha256(directory / TRAIN), "heldout_sha256": file_sha256(directory / HELDOUT)}
    write_json(record_path, record)
    return record


def _damaged(directory: Path, record: dict) -> str | None:
    """The first split file that is missing, or whose SHA-256 differs from the record's (a record without
    hashes: that does not load), else None."""
    for name, key in ((TRAIN, "train_sha256"), (HELDOUT, "heldout_sha256")):
        path = directory / name
        if not path.is_file():
            return name
        if key in record:
            if file_sha256(path) != record[key]:
                return name
            continue
        try:
            load(path)
        except UserError:
            return name
    return None


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)
