"""Combine datasets of one kind and shape into one: the rows concatenated, in order (a new, plain file).

``merge(parts)`` concatenates ``/samples``, every ``/conditions/<name>`` and ``/labels`` (and a point cloud's
``/mask``) along the first axis.  The parts must agree in kind, sample shape, condition names, the
presence of labels and feature names.  Root attributes equal in every part are kept; attributes that
differ are listed part by part under ``shards`` (one dict per part).

Shards of one sharded run (``physgen data ising --workers`` or one file per ``torchrun`` rank) carry
``shard_index`` and ``shard_count``: such a set must be complete (every index ``0 .. count-1`` exactly once)
and is concatenated in index order whatever order the files are given in; the result has ``shard_count``
and no ``shard_index``.  The merged file of a shard set therefore equals the shards concatenated, and the
output of ``--workers W`` equals the merged ``torchrun`` shards of ``W`` ranks.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from physgen.data.io import Dataset
from physgen.errors import UserError

SHARD_KEYS = ("shard_index", "shard_count")


def merge(parts: Sequence[Dataset], names: Sequence[str] | None = None) -> Dataset:
    """One dataset of ``parts`` (``names[i]`` names part ``i`` in errors, e.g. its file)."""
    names = list(names) if names is not None else [f"part {i}" for i in range(len(parts))]
    if not parts:
        raise UserError("merge: no datasets to merge")
    order = _shard_order(parts, names)
    sharded = "shard_index" in parts[0].attrs
    parts, names = [parts[i] for i in order], [names[i] for i in order]
    first = parts[0]
    for ds, name in zip(parts[1:], names[1:]):
        _check_compatible(first, names[0], ds, name)
    samples = np.concatenate([ds.samples for ds in parts])
    conditions = {k: np.concatenate([ds.conditions[k] for ds in parts]) for k in first.conditions}
    labels = None if first.labels is None else np.concatenate([ds.labels for ds in parts])
    mask = None if first.mask is None else np.concatenate([ds.mask for ds in parts])
    return Dataset(samples, first.kind, conditions, labels, _attrs(parts, sharded), mask)


def _shard_order(parts: Sequence[Dataset], names: list[str]) -> list[int]:
    """Part indices in shard order for a shard set (complete, no duplicates), else as given."""
    marked = ["shard_index" in ds.attrs for ds in parts]
    if not any(marked):
        return list(range(len(parts)))
    if not all(marked):
        plain = names[marked.index(False)]
        raise UserError(f"{plain}: not a shard (no shard_index attribute), but {names[marked.index(True)]} is one")
    counts = {_shard_int(ds, "shard_count", name) for ds, name in zip(parts, names)}
    if len(counts) != 1:
        raise UserError(f"{names[0]}: shards of different sets (shard_count {sorted(counts)})")
    total, seen = counts.pop(), {}
    for i, ds in enumerate(parts):
        index = _shard_int(ds, "shard_index", names[i])
        if not 0 <= index < total:
            raise UserError(f"{names[i]}: shard_index {index} is outside 0 .. {total - 1}")
        if index in seen:
            raise UserError(f"{names[i]}: duplicates shard {index} of {total} (also {names[seen[index]]})")
        seen[index] = i
    if len(seen) != total:  # (the first few missing ones: a damaged shard_count may be huge)
        missing = [k for k in range(min(total, len(seen) + 10)) if k not in seen][:10]
        more = ", ..." if total - len(seen) > len(missing) else ""
        raise UserError(f"shard set: missing shard {', '.join(map(str, missing))}{more} of {total} "
                        f"(given {', '.join(map(str, sorted(seen)))})")
    return [seen[k] for k in range(total)]


def _shard_int(ds: Dataset, key: str, name: str) -> int:
    """The integer attribute ``key`` of a shard (``shard_count`` at least 1); UserError naming the file else."""
    value = ds.attrs.get(key)
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise UserError(f"{name}: attribute {key} is {_short(value)}, expected an integer")
    if key == "shard_count" and value < 1:
        raise UserError(f"{name}: attribute {key} is {int(value)}, expected at least 1")
    return int(value)


def _short(value) -> str:
    text = repr(_plain(value))
    return text if len(text) <= 40 else text[:37] + "..."


def _check_compatible(first: Dataset, first_name: str, ds: Dataset, name: str) -> None:
    if ds.kind != first.kind:
        raise UserError(f"{name}: kind {ds.kind!r}, but {first_name} has kind {first.kind!r}")
    if ds.shape != first.shape or ds.samples.dtype != first.samples.dtype:
        raise UserError(f"{name}: samples of shape {ds.shape} ({ds.samples.dtype}), but {first_name} has "
                        f"{first.shape} ({first.samples.dtype})")
    if set(ds.conditions) != set(first.conditions):
        raise UserError(f"{name}: conditions {sorted(ds.conditions) or 'none'}, but {first_name} has "
                        f"{sorted(first.conditions) or 'none'}")
    if (ds.labels is None) != (first.labels is None):
        which = name if ds.labels is not None else first_name
        raise UserError(f"{name}: only {which} has /labels")
    if ds.feature_names != first.feature_names:
        raise UserError(f"{name}: feature names {ds.feature_names}, but {first_name} has {first.feature_names}")


def _attrs(parts: Sequence[Dataset], sharded: bool) -> dict:
    """Attributes equal in every part; the differing ones part by part under ``shards``."""
    keys = [k for k in parts[0].attrs if k not in SHARD_KEYS]
    for ds in parts[1:]:
        keys += [k for k in ds.attrs if k not in keys and k not in SHARD_KEYS]
    same = {k for k in keys if all(k in ds.attrs and _equal(ds.attrs[k], parts[0].attrs[k]) for ds in parts)}
    attrs = {k: parts[0].attrs[k] for k in keys if k in same}
    differing = [k for k in keys if k not in same]
    if differing:
        attrs["shards"] = [{k: ds.attrs[k] for k in differing if k in ds.attrs} for ds in parts]
    if sharded:
        attrs["shard_count"] = _shard_int(parts[0], "shard_count", "part 0")
    return attrs


def _equal(a, b) -> bool:
    """Attribute values compared as stored (numpy arrays and scalars as Python lists and numbers)."""
    a, b = _plain(a), _plain(b)
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b)
                and all(_equal(x, y) for x, y in zip(a, b)))
    return bool(a == b)


def _plain(value):
    return value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value
