"""ROOT files (TTree or RNTuple, read with uproot): branches to tabular features.

- a flat numeric branch ``b`` becomes one feature ``b``;
- a fixed-size array branch ``b[k]`` becomes ``b_0 … b_{k−1}``;
- a jagged branch (a variable number of entries per event) is refused unless ``pad = N`` is given; then
  it becomes ``b_0 … b_{N−1}`` (truncated to the first N entries, zeros where an event has fewer) and
  the mask ``b_mask_0 … b_mask_{N−1}`` (1 where the entry exists, 0 where it is padding).

Reference: J. Pivarski et al., "uproot" (Zenodo, doi:10.5281/zenodo.4340632).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from physgen.errors import UserError, as_written
from physgen.paths import refuse_unreachable

INSTALL_HINT = "reading ROOT files needs uproot: pip install 'physgen[hep]' (or pip install uproot)"
TREE_CLASSES = ("TTree", "ROOT::RNTuple")


def is_root(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a ROOT file by its suffix."""
    return str(path).lower().endswith(".root")


def _open(path: Path):
    try:
        import uproot
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    if not path.is_file():
        refuse_unreachable(path, str(path))  # a symlink loop or a denied permission, named
        raise UserError(f"{path}: no such file")
    try:
        return uproot.open(path)
    except Exception as exc:  # uproot raises many types for a file that is not ROOT
        raise UserError(f"{path}: not a readable ROOT file ({_one_line(exc)})") from None


def _tree(f, path: Path, name: str | None):
    trees = sorted({k.split(";")[0] for k, c in f.classnames().items() if c in TREE_CLASSES})
    if name is None:
        if len(trees) != 1:
            raise UserError(f"{path} has {len(trees)} trees ({', '.join(trees) or 'none'}); name one", key="tree")
        name = trees[0]
    if name not in trees:
        raise UserError(f"{path} has no tree {name!r}; trees: {', '.join(trees) or 'none'}", key="tree")
    return f[name], name


def _columns(name: str, array, pad: int | None) -> tuple[list[str], list[np.ndarray]]:
    """One branch as feature names and ``(N,)`` float64 columns (rules in the module docstring)."""
    import awkward as ak

    content = array.type.content
    if isinstance(content, ak.types.NumpyType):
        return [name], [_numeric(ak.to_numpy(array), name)]
    if isinstance(content, ak.types.RegularType) and isinstance(content.content, ak.types.NumpyType):
        values = _numeric(ak.to_numpy(array), name)
        return [f"{name}_{i}" for i in range(values.shape[1])], list(values.T)
    if isinstance(content, ak.types.ListType) and isinstance(content.content, ak.types.NumpyType):
        counts = ak.to_numpy(ak.num(array))
        if pad is None:
            raise UserError(f"branch {name!r} is jagged ({counts.min()} to {counts.max()} entries per event); "
                            f"pass {as_written('pad')} N to pad/truncate it to N entries with a mask, or leave it out of "
                            f"{as_written('branches')}",
                            key="pad")
        values = _numeric(ak.to_numpy(ak.fill_none(ak.pad_none(array, pad, clip=True), 0)), name)
        mask = (np.arange(pad)[None, :] < counts[:, None]).astype(np.float64)
        names = [f"{name}_{i}" for i in range(pad)] + [f"{name}_mask_{i}" for i in range(pad)]
        return names, list(values.T) + list(mask.T)
    raise UserError(f"branch {name!r} has type {content}; physgen imports numbers, fixed-size "
                    f"arrays and (with {as_written('pad')}) variable-length lists of numbers", key="branches")


def _check_memory(obj, path: Path, name: str, wanted: Sequence[str], pad: int | None) -> None:
    """Refuse a tree whose import needs more memory than is available, before reading it: per entry, 20 bytes a
    feature (its float64 column, the stacked float64 table and the float32 copy) plus the widest branch as read
    (its stored bytes, or 8 a feature).  Each branch's feature count comes from its first entry."""
    from physgen.memory_guard import require

    n = int(getattr(obj, "num_entries", 0) or 0)
    if n <= 0:
        return
    features, widest = 0, 0
    for b in wanted:
        try:
            width = len(_columns(b, obj.arrays([b], entry_stop=1, library="ak")[b], pad)[0])
        except Exception:  # a jagged branch without --pad, an unreadable one: the full read reports it
            continue
        try:
            stored = int(obj[b].uncompressed_bytes)
        except Exception:  # RNTuple fields do not say
            stored = 0
        features += width
        widest = max(widest, stored, 8 * width * n)
    require(20 * features * n + widest, what=f"{path}: tree {name!r} with {n:,} entries and {features} features",
            reduce=f"import fewer {as_written('branches')} (or split the file)")


def _numeric(values: np.ndarray, name: str) -> np.ndarray:
    if values.dtype.kind not in "biuf":
        raise UserError(f"branch {name!r} holds {values.dtype}, not numbers", key="branches")
    return values.astype(np.float64)


def root_dataset(path: str | os.PathLike, *, tree: str | None = None, branches: Sequence[str] | None = None,
                 pad: int | None = None):
    """Branches of a ROOT tree as a ``continuous`` :class:`~physgen.data.Dataset` ``(N, F)``.

    ``tree`` may be omitted when the file holds one tree; ``branches`` defaults to every branch.
    """
    from physgen.data import Dataset

    path = Path(path)
    if pad is not None and int(pad) < 1:
        raise UserError(f"must be >= 1, got {pad}", key="pad")
    try:
        names, columns, wanted, name = _read(path, tree, branches, pad)
    except UserError:
        raise
    except Exception as exc:  # uproot's errors for a truncated or damaged file (OSError, DeserializationError...)
        raise UserError(f"{path}: not a readable ROOT file ({_one_line(exc)})") from None
    if not columns or len(columns[0]) == 0:
        raise UserError(f"{path}: tree {name!r} has no entries")
    values = np.stack(columns, axis=1)
    attrs = {"source": "root", "source_file": path.name, "tree": name, "branches": wanted, "feature_names": names}
    if pad is not None:
        attrs["pad"] = int(pad)
    return Dataset(values.astype(np.float32), "continuous", attrs=attrs)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160] or type(exc).__name__


def _read(path: Path, tree: str | None, branches: Sequence[str] | None, pad: int | None):
    """``(feature names, (N,) float64 columns, branches read, tree name)`` of :func:`root_dataset`."""
    with _open(path) as f:
        obj, name = _tree(f, path, tree)
        available = list(obj.keys())
        wanted = list(branches) if branches else available
        missing = [b for b in wanted if b not in available]
        if missing:
            raise UserError(f"tree {name!r} has no branch {missing[0]!r}; branches: {', '.join(available)}", key="branches")
        if len(set(wanted)) != len(wanted):
            raise UserError("a branch is named twice", key="branches")
        _check_memory(obj, path, name, wanted, pad)
        names, columns = [], []
        for b in wanted:
            try:
                array = obj.arrays([b], library="ak")[b]
            except Exception as exc:  # a branch uproot cannot deserialise
                raise UserError(f"cannot read branch {b!r} of {path} ({_one_line(exc)})", key="branches") from None
            more_names, more_columns = _columns(b, array, pad)
            names += more_names
            columns += more_columns
    return names, columns, wanted, name


def root_pointcloud(path: str | os.PathLike, *, tree: str | None = None, branches: Sequence[str] | None = None,
                    pad: int | None = None):
    """Jagged branches of a ROOT tree (one entry per particle, the same count in every branch of an event) as a
    ``pointcloud`` :class:`~physgen.data.Dataset` ``(N, P, B)`` with its mask; ``branches`` defaults to every
    jagged numeric branch, ``pad`` (P) to the largest count (events with more particles keep their first P)."""
    import awkward as ak

    from physgen.data.pointcloud import from_arrays

    path = Path(path)
    if pad is not None and int(pad) < 1:
        raise UserError(f"must be >= 1, got {pad}", key="pad")
    with _open(path) as f:
        obj, name = _tree(f, path, tree)
        available = list(obj.keys())
        if branches:
            missing = [b for b in branches if b not in available]
            if missing:
                raise UserError(f"tree {name!r} has no branch {missing[0]!r}; branches: {', '.join(available)}",
                                key="branches")
        try:
            arrays = {b: obj.arrays([b], library="ak")[b] for b in (branches or available)}
        except Exception as exc:
            raise UserError(f"{path}: not a readable ROOT file ({_one_line(exc)})") from None
    jagged = {b: a for b, a in arrays.items() if isinstance(a.type.content, ak.types.ListType)
              and isinstance(a.type.content.content, ak.types.NumpyType)}
    if branches and len(jagged) != len(arrays):
        flat = next(b for b in arrays if b not in jagged)
        raise UserError(f"branch {flat!r} is not a variable-length list of numbers (one per particle)", key="branches")
    if not jagged:
        raise UserError(f"{path}: tree {name!r} has no variable-length numeric branches to read as particles")
    counts = {b: ak.to_numpy(ak.num(a)) for b, a in jagged.items()}
    first = next(iter(counts))
    for b, c in counts.items():
        if not np.array_equal(c, counts[first]):
            raise UserError(f"branches {first!r} and {b!r} have different particle counts", key="branches")
    n_max = int(counts[first].max()) if len(counts[first]) else 0
    if len(counts[first]) == 0 or n_max == 0:
        raise UserError(f"{path}: tree {name!r} has no particles")
    width = int(pad) if pad is not None else n_max
    values = np.stack([_numeric(ak.to_numpy(ak.fill_none(ak.pad_none(a, width, clip=True), 0)), b)
                       for b, a in jagged.items()], axis=2)
    mask = np.arange(width)[None, :] < counts[first][:, None]
    attrs = {"source": "root", "source_file": path.name, "tree": name, "branches": list(jagged), "pad": width}
    return from_arrays(values, mask, names=list(jagged), attrs=attrs, where=str(path))


def write_root(path: str | os.PathLike, ds, *, tree: str = "events", overwrite: bool = False) -> Path:
    """Write a tabular dataset ``(N, F)`` as a ROOT TTree ``tree``: one float32 branch per feature
    (named by ``feature_names``, else ``f0 …``), float64 branches for the conditions, int64 ``labels``.
    A point cloud ``(N, P, F)`` becomes one variable-length float32 branch per particle feature (the masked
    particles only) with the count branch ``n_particles``."""
    from physgen.atomic import atomic_path

    if ds.kind == "pointcloud":
        return _write_root_cloud(path, ds, tree=tree, overwrite=overwrite)
    if ds.samples.ndim != 2:
        raise UserError(f"needs tabular samples (N, features), got shape {ds.samples.shape}", key="format", value="root")
    try:
        import uproot
    except ImportError:
        raise UserError(INSTALL_HINT.replace("reading", "writing")) from None
    names = ds.feature_names or [f"f{j}" for j in range(ds.samples.shape[1])]
    branches = {name: np.ascontiguousarray(ds.samples[:, j]) for j, name in enumerate(names)}
    branches.update({name: values for name, values in ds.conditions.items() if name not in branches})
    if ds.labels is not None and "labels" not in branches:
        branches["labels"] = ds.labels.astype(np.int64)
    with atomic_path(path, overwrite=overwrite) as tmp:
        with uproot.recreate(tmp) as f:
            f.mktree(tree, {name: values.dtype for name, values in branches.items()})
            f[tree].extend(branches)
    return Path(path)


def _write_root_cloud(path, ds, *, tree: str, overwrite: bool) -> Path:
    import awkward as ak

    from physgen.atomic import atomic_path

    try:
        import uproot
    except ImportError:
        raise UserError(INSTALL_HINT.replace("reading", "writing")) from None
    names = ds.feature_names or [f"f{j}" for j in range(ds.samples.shape[2])]
    mask = ds.mask.astype(bool)
    counts = mask.sum(axis=1)
    order = np.argsort(~mask, axis=1, kind="stable")     # the particles first, in slot order
    x = np.take_along_axis(ds.samples, order[..., None], axis=1)
    particles = {name: ak.unflatten(x[..., j][np.arange(x.shape[1])[None] < counts[:, None]].astype(np.float32),
                                    counts) for j, name in enumerate(names)}
    data = {name: values for name, values in ds.conditions.items()}
    if ds.labels is not None:
        data["labels"] = ds.labels.astype(np.int64)
    data["particles"] = ak.zip(particles)
    with atomic_path(path, overwrite=overwrite) as tmp:
        with uproot.recreate(tmp) as f:
            f.mktree(tree, {k: (v.type if k == "particles" else v.dtype) for k, v in data.items()},
                     counter_name=lambda counted: "n_particles", field_name=lambda outer, inner: inner)
            f[tree].extend(data)
    return Path(path)
