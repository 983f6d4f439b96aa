"""The physgen dataset file: one HDF5 layout for every command.

Layout
------
``/samples``                 ``(N, *shape)``: ``int8`` ±1 (kind ``spins``), ``uint8`` 0/1 (``binary``),
                             ``int8`` 0 … n_states−1 (``categorical``, with root attribute ``n_states``),
                             ``float32`` (``continuous`` tabular features, ``image`` pixels)
``/conditions/<name>``       ``(N,)`` float64, e.g. ``/conditions/temperature``
``/labels``                  ``(N,)`` int64, optional (digit class, phase, jet type)
``/mask``                    ``(N, P)`` uint8 0/1, kind ``pointcloud`` only: 1 where particle slot ``p`` of a
                             sample ``(P, F)`` holds a particle, 0 where it is padding (padding is zeros)
``/hamiltonian/<name>``      ``(L, L)`` float64, optional: a lattice model's quenched couplings (``Jx[i, j]``
                             couples site (i, j) to (i, j+1 mod L), ``Jy[i, j]`` to (i+1 mod L, j)); the model's
                             name and scalar couplings are the root attributes ``hamiltonian`` and
                             ``hamiltonian_<key>`` (:mod:`physgen.lattice`)
root attributes              ``kind``, ``source``, ``physgen_version``, ``feature_names`` (tabular),
                             and the generator's parameters (JSON-serialisable scalars/lists)

:func:`save` validates and writes atomically; :func:`load` validates and raises
:class:`~physgen.errors.UserError` naming the file and the field for anything malformed.
``/samples`` is written in chunks of whole rows (about :data:`CHUNK_BYTES` each, gzip-compressed unless
``compression=None``), so that a file larger than memory is read efficiently in row blocks
(:mod:`physgen.data.lazy`); files with any other chunking (or none) are read all the same.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import h5py
import numpy as np

from physgen.atomic import check_writable, write_bytes
from physgen.errors import UserError
from physgen.paths import as_path, refuse_unreachable, shown

KINDS = ("spins", "binary", "continuous", "image", "pointcloud", "categorical", "field")
DTYPES = {"spins": np.int8, "binary": np.uint8, "continuous": np.float32, "image": np.float32,
          "pointcloud": np.float32, "categorical": np.int8, "field": np.float32}
CHUNK_BYTES = 1 << 20   # bytes of one /samples chunk (whole rows)


def chunk_shape(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """HDF5 chunk of ``/samples`` ``(N, *shape)``: ``(rows, *shape)`` with rows filling about :data:`CHUNK_BYTES`
    (at least 1, at most N)."""
    row = max(1, int(np.prod(shape[1:])) * itemsize)
    return (max(1, min(int(shape[0]), CHUNK_BYTES // row)), *shape[1:])


@dataclass
class Dataset:
    """In-memory dataset.  ``samples`` is ``(N, *shape)``; ``conditions[name]`` and ``labels`` ``(N,)``;
    ``mask`` ``(N, P)`` for kind ``pointcloud`` (samples ``(N, P, F)``), else None; ``log_weights`` ``(N,)``
    self-normalised importance weights (log w_k, Σ w_k = 1 per temperature; −∞ for a weight of 0) of weighted
    samples, else None; ``hamiltonian`` the quenched couplings of a lattice model (name -> ``(L, L)``)."""

    samples: np.ndarray
    kind: str
    conditions: dict[str, np.ndarray] = field(default_factory=dict)
    labels: np.ndarray | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    mask: np.ndarray | None = None
    log_weights: np.ndarray | None = None
    hamiltonian: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.samples = np.asarray(self.samples)
        self.conditions = {k: np.asarray(v, dtype=np.float64) for k, v in self.conditions.items()}
        if self.labels is not None:
            self.labels = np.asarray(self.labels)
        if self.mask is not None:
            self.mask = np.asarray(self.mask)
        if self.log_weights is not None:
            self.log_weights = np.asarray(self.log_weights, dtype=np.float64)
        self.hamiltonian = {k: np.asarray(v, dtype=np.float64) for k, v in (self.hamiltonian or {}).items()}

    def __len__(self) -> int:
        return int(self.samples.shape[0])

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one sample (without the leading N)."""
        return tuple(self.samples.shape[1:])

    @property
    def feature_names(self) -> list[str] | None:
        names = self.attrs.get("feature_names")
        return list(names) if names is not None else None

    def subset(self, index: np.ndarray | slice) -> "Dataset":
        """Rows ``index`` of every per-sample array; attributes are shared."""
        return Dataset(self.samples[index], self.kind,
                       {k: v[index] for k, v in self.conditions.items()},
                       None if self.labels is None else self.labels[index], dict(self.attrs),
                       None if self.mask is None else self.mask[index],
                       None if self.log_weights is None else self.log_weights[index], dict(self.hamiltonian))

    def validate(self, where: str = "dataset") -> "Dataset":
        """Check the contract; raise UserError naming ``where`` and the field on violation."""
        _validate(self, where)
        return self


def _validate(ds: Dataset, where: str) -> None:
    if ds.kind not in KINDS:
        raise UserError(f"{where}: attribute 'kind' is {ds.kind!r}, expected one of {', '.join(KINDS)}")
    x = ds.samples
    if x.ndim < 2 or x.shape[0] < 1:
        raise UserError(f"{where}: /samples has shape {x.shape}, expected (N, ...) with N >= 1")
    if x.dtype != DTYPES[ds.kind]:
        raise UserError(f"{where}: /samples has dtype {x.dtype}, kind {ds.kind!r} requires {np.dtype(DTYPES[ds.kind])}")
    _validate_values(x, ds.kind, where)
    if ds.kind == "categorical":
        _validate_categorical(x, ds.attrs, where)
    _validate_hamiltonian(ds, where)
    n = x.shape[0]
    for name, values in ds.conditions.items():
        if values.shape != (n,):
            raise UserError(f"{where}: /conditions/{name} has shape {values.shape}, expected ({n},)")
        if not np.all(np.isfinite(values)):
            raise UserError(f"{where}: /conditions/{name} contains NaN or Inf")
    if ds.labels is not None and (ds.labels.shape != (n,) or ds.labels.dtype.kind not in "iu"):
        raise UserError(f"{where}: /labels has shape {ds.labels.shape} dtype {ds.labels.dtype}, expected ({n},) integers")
    names = ds.feature_names
    if names is not None and x.ndim == 2 and len(names) != x.shape[1]:
        raise UserError(f"{where}: attribute feature_names has {len(names)} names for {x.shape[1]} features")
    _validate_mask(ds, where)
    if ds.log_weights is not None and (ds.log_weights.shape != (n,) or np.any(np.isnan(ds.log_weights))
                                       or np.any(ds.log_weights == np.inf)):
        raise UserError(f"{where}: /log_weights has shape {ds.log_weights.shape} or NaN/+Inf values, "
                        f"expected ({n},) numbers or -Inf (weight 0)")
    _validate_physics(ds.attrs, where)


def _validate_mask(ds: Dataset, where: str) -> None:
    """Kind ``pointcloud``: samples ``(N, P, F)``, a 0/1 ``/mask`` ``(N, P)``, padded slots all zero, one
    feature name per particle feature; other kinds have no mask."""
    x, mask = ds.samples, ds.mask
    if ds.kind != "pointcloud":
        if mask is not None:
            raise UserError(f"{where}: /mask is for kind 'pointcloud' only, this file has kind {ds.kind!r}")
        return
    if x.ndim != 3:
        raise UserError(f"{where}: /samples of kind 'pointcloud' has shape {x.shape}, expected (N, P, F)")
    if mask is None:
        raise UserError(f"{where}: kind 'pointcloud' needs /mask of shape {x.shape[:2]}")
    if mask.shape != x.shape[:2] or mask.dtype.kind not in "biu" or not np.all((mask == 0) | (mask == 1)):
        raise UserError(f"{where}: /mask has shape {mask.shape} dtype {mask.dtype}, expected {x.shape[:2]} of 0/1")
    if np.any(x[mask == 0] != 0):
        raise UserError(f"{where}: /samples has non-zero values in padded particle slots (/mask 0)")
    names = ds.feature_names
    if names is not None and len(names) != x.shape[2]:
        raise UserError(f"{where}: attribute feature_names has {len(names)} names for {x.shape[2]} particle features")


def _validate_categorical(x: np.ndarray, attrs: dict[str, Any], where: str) -> None:
    q = attrs.get("n_states")
    if isinstance(q, np.ndarray) and q.shape == ():
        q = q[()]
    if isinstance(q, (bool, np.bool_)) or not isinstance(q, (int, np.integer)) or q < 2:
        raise UserError(f"{where}: kind 'categorical' needs the root attribute n_states, an integer >= 2")
    if x.size and (x.min() < 0 or x.max() >= q):
        raise UserError(f"{where}: /samples of kind 'categorical' must hold states 0..{q - 1} (n_states = {q})")


def _validate_hamiltonian(ds: Dataset, where: str) -> None:
    """Quenched couplings: ``(L, L)`` finite arrays, L the samples' side."""
    for name, values in ds.hamiltonian.items():
        side = ds.samples.shape[-1]
        if values.shape != (side, side):
            raise UserError(f"{where}: /hamiltonian/{name} has shape {values.shape}, expected ({side}, {side})")
        if not np.all(np.isfinite(values)):
            raise UserError(f"{where}: /hamiltonian/{name} has non-finite values")


def _validate_physics(attrs: dict[str, Any], where: str) -> None:
    """The physical attributes that observables and metrics compute with: ``J`` and ``h`` finite numbers,
    ``size`` a positive integer (when present)."""
    for key in ("J", "h", "size"):
        if key not in attrs:
            continue
        value = attrs[key]
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value[()]
        number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
        if key == "size":
            if not (number and float(value).is_integer() and value >= 1):
                raise UserError(f"{where}: attribute size is {_brief(value)}, expected a positive integer")
        elif not (number and np.isfinite(value)):
            raise UserError(f"{where}: attribute {key} is {_brief(value)}, expected a finite number")


def _brief(value: Any) -> str:
    text = repr(value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value)
    return text if len(text) <= 40 else text[:37] + "..."


def _validate_values(x: np.ndarray, kind: str, where: str) -> None:
    if kind == "spins" and not np.all((x == 1) | (x == -1)):
        raise UserError(f"{where}: /samples of kind 'spins' must contain only -1 and +1")
    if kind == "binary" and not np.all((x == 0) | (x == 1)):
        raise UserError(f"{where}: /samples of kind 'binary' must contain only 0 and 1")
    if kind in ("continuous", "image", "field"):
        bad = ~np.isfinite(x)
        if bad.any():
            rows = np.unique(np.nonzero(bad.reshape(len(x), -1))[0])
            raise UserError(f"{where}: /samples has {int(bad.sum())} NaN/Inf values in {len(rows)} rows "
                            f"(first at row {int(rows[0])})")


def _attr_to_h5(value: Any) -> Any:
    """Store scalars and string/number lists natively, anything else (dicts, nested) as JSON text; so is text
    that is not UTF-8 (a path with undecodable bytes: JSON keeps them as ``\\udcNN`` escapes)."""
    if isinstance(value, str):
        return value if _utf8(value) else "json:" + json.dumps(value)
    if isinstance(value, (int, float, bool, np.integer, np.floating, np.bool_)):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value)
        if arr.dtype.kind in "biuf" and arr.ndim == 1:
            return arr
        if arr.ndim == 1 and all(isinstance(v, str) and _utf8(v) for v in value):
            return np.array(value, dtype=h5py.string_dtype())
    return "json:" + json.dumps(value)


def h5_text(value: str) -> str:
    """``value`` as an HDF5 string attribute: itself, or ``json:`` and its JSON text when it is not UTF-8."""
    return value if _utf8(value) else "json:" + json.dumps(value)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _attr_from_h5(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="surrogateescape")
    if isinstance(value, str) and value.startswith("json:"):
        return json.loads(value[5:])
    if isinstance(value, np.ndarray):
        return [v.decode() if isinstance(v, bytes) else v if isinstance(v, str) else v.item() for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def save(ds: Dataset, path: str | Path, *, overwrite: bool = False, compression: str | None = "gzip") -> Path:
    """Validate ``ds`` and write it to ``path`` atomically (:func:`write_h5`)."""
    from physgen import __version__

    ds.validate(shown(path))
    attrs = {"physgen_version": __version__, "source": "unknown", **ds.attrs, "kind": ds.kind}

    def fill(f: h5py.File) -> None:
        f.create_dataset("samples", data=ds.samples, compression=compression,
                         chunks=chunk_shape(ds.samples.shape, ds.samples.dtype.itemsize))
        grp = f.create_group("conditions")
        for name, values in ds.conditions.items():
            grp.create_dataset(name, data=values.astype(np.float64))
        if ds.labels is not None:
            f.create_dataset("labels", data=ds.labels.astype(np.int64))
        if ds.mask is not None:
            f.create_dataset("mask", data=ds.mask.astype(np.uint8), compression=compression)
        if ds.log_weights is not None:
            f.create_dataset("log_weights", data=ds.log_weights.astype(np.float64))
        if ds.hamiltonian:
            group = f.create_group("hamiltonian")
            for name, values in ds.hamiltonian.items():
                group.create_dataset(name, data=values)
        for key, value in attrs.items():
            if value is not None:
                f.attrs[key] = _attr_to_h5(value)

    return write_h5(path, fill, overwrite=overwrite)


def write_h5(path: str | Path, fill: Callable[[h5py.File], None], *, overwrite: bool = False) -> Path:
    """Build an HDF5 file in memory with ``fill(file)``, then write its bytes atomically to ``path``.

    The HDF5 library never touches the file system: a full disk, a read-only directory or a missing
    permission is one :class:`OSError` naming ``path`` from :func:`physgen.atomic.write_bytes` (checked against
    the free space before writing), never an HDF5 error or a crash in the library.  The file image needs
    memory of about the file's size.
    """
    check_writable(path, overwrite=overwrite)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        fill(f)
    write_bytes(path, buffer.getbuffer(), overwrite=overwrite)
    return as_path(path)


def load(path: str | Path) -> Dataset:
    """Read and validate a dataset file; every problem is a one-line UserError naming ``path``."""
    path = existing_file(path)
    try:
        with h5py.File(path, "r") as f:  # (h5py passes the name's bytes: os.fsencode)
            return _read(f, shown(path))
    except UserError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise UserError(f"{shown(path)}: not a readable HDF5 dataset file ({_short(exc)})") from None


def existing_file(path: str | Path) -> Path:
    """``path`` as a Path when it names a file; otherwise a one-line UserError (no such file, a symlink
    loop, a denied permission, a directory)."""
    path = as_path(path)
    if not path.exists():
        refuse_unreachable(path, shown(path))  # a symlink loop or a denied permission, named
        raise UserError(f"{shown(path)}: no such file")
    if path.is_dir():
        raise UserError(f"{shown(path)}: is a directory, expected an HDF5 dataset file")
    return path


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _read(f: h5py.File, where: str) -> Dataset:
    if "samples" not in f or not isinstance(f["samples"], h5py.Dataset):
        raise UserError(f"{where}: missing dataset /samples")
    attrs = {k: _attr_from_h5(v) for k, v in f.attrs.items()}
    kind = attrs.pop("kind", None)
    if kind is None:
        raise UserError(f"{where}: missing root attribute 'kind'")
    _check_memory(f, where)
    samples = f["samples"][()]
    conditions = {}
    if "conditions" in f:
        conditions = {name: f["conditions"][name][()] for name in f["conditions"]}
    labels = f["labels"][()] if "labels" in f else None
    mask = f["mask"][()] if "mask" in f else None
    log_weights = f["log_weights"][()] if "log_weights" in f else None
    hamiltonian = {}
    if isinstance(f.get("hamiltonian"), h5py.Group):
        hamiltonian = {name: f["hamiltonian"][name][()] for name in f["hamiltonian"]}
    return Dataset(samples, str(kind), conditions, labels, attrs, mask, log_weights, hamiltonian).validate(where)


def _check_memory(f: h5py.File, where: str) -> None:
    """Refuse a file whose declared datasets (their shapes, not the file size: compression makes a 6 kB file
    declare terabytes) need more memory than is available: the arrays, conditions widened to float64, and the
    validation's boolean temporaries (~2 bytes per sample value)."""
    from physgen.memory_guard import array_bytes, require

    def declared(node: Any, itemsize: int | None = None) -> int:
        if not isinstance(node, h5py.Dataset):
            return 0
        return array_bytes(node.shape or (1,), itemsize or node.dtype.itemsize)

    samples = f["samples"]
    total = declared(samples) + 2 * array_bytes(samples.shape or (1,), 1)
    if isinstance(f.get("conditions"), h5py.Group):
        total += sum(declared(f["conditions"][name], 8) for name in f["conditions"])
    total += declared(f.get("labels"), 8) + declared(f.get("mask"), 1)
    require(total, what=f"{where}: /samples of shape {samples.shape} {samples.dtype}",
            reduce="use a file with fewer samples")


def describe(ds: Dataset, max_values: int = 12) -> Mapping[str, Any]:
    """Summary used by ``physgen data info``: N, shape, kind, conditions and attributes."""
    conds = {}
    for name, values in ds.conditions.items():
        distinct = np.unique(values)
        conds[name] = {"distinct": int(distinct.size), "min": float(distinct[0]), "max": float(distinct[-1]),
                       "values": [float(v) for v in distinct[:max_values]] if distinct.size <= max_values else None}
    summary = {"n": len(ds), "shape": list(ds.shape), "kind": ds.kind, "dtype": str(ds.samples.dtype),
               "conditions": conds, "attrs": ds.attrs}
    if ds.labels is not None:
        labels, counts = np.unique(ds.labels, return_counts=True)
        summary["labels"] = {int(k): int(c) for k, c in zip(labels, counts)}
    if ds.mask is not None:
        n = ds.mask.sum(axis=1)
        summary["multiplicity"] = {"min": int(n.min()), "mean": float(n.mean()), "max": int(n.max()),
                                   "slots": int(ds.mask.shape[1])}
    return summary
