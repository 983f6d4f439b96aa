"""Import tabular and array data: CSV/TXT (comment header with feature names), NPY and NPZ.

Text files
----------
One sample per line; fields separated by commas, tabs or runs of whitespace (detected from the first
data line).  Blank lines and ``#`` comments are skipped; the last comment line just before the data
whose field count matches the data (e.g. ``# s t y``) gives the feature names.  A first row made only of
non-numeric fields (``s,t,y``) is read as a header too.  Without a header the names are ``x0, x1, ...``.
The line parser is :mod:`physgen.data.tabular_text`.

Every problem is a one-line :class:`~physgen.errors.UserError` naming the file, the line and the column:
ragged rows, non-numeric fields, NaN/Inf (with how many and the first positions), empty files.

The parser is a small line reader (no pandas); the layout follows the NumPy ``loadtxt`` conventions
(NumPy docs, "numpy.loadtxt") and the ``.npy`` format of NEP 1 (Kern et al., "A simple file format
for NumPy arrays").
"""
from __future__ import annotations

import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from physgen.data.io import KINDS, Dataset
from physgen.data.tabular_text import (col_label, delimiter, split_fields, header_from_comments, header_from_first_row,
                                       split_lines, text_bytes, to_floats)
from physgen.errors import UserError, as_written
from physgen.paths import as_path, refuse_unreachable

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
MAX_POSITIONS = 3  # how many bad positions an error message lists


@dataclass
class Table:
    """Parsed numeric data before kind conversion.

    ``values``: ``(N, *shape)`` array; ``names``: feature names for 2-D tables (else None);
    ``lines``: ``(N,)`` 1-based line numbers of the rows in a text file (None for binary formats);
    ``labels``: ``(N,)`` integers from an NPZ ``labels`` array (else None).
    """

    values: np.ndarray
    names: list[str] | None
    lines: np.ndarray | None = None
    labels: np.ndarray | None = None
    fmt: str = "text"


# ----------------------------------------------------------------------------------------- reading
def read_table(path: str | os.PathLike, *, array: str | None = None) -> Table:
    """Read ``path`` as text, ``.npy`` or ``.npz`` (detected from its first bytes, not its name).

    ``array`` picks the array of an NPZ archive (default: ``samples``, ``x``, ``X`` or its only array).
    """
    path = as_path(path)
    head = _open_head(path)
    if head.startswith(NPY_MAGIC):
        if array is not None:
            raise UserError(f"only used with .npz archives, {path} is a .npy file", key="array")
        return _read_npy(path)
    if head.startswith(ZIP_MAGIC):
        return _read_npz(path, array)
    if array is not None:
        raise UserError(f"only used with .npz archives, {path} is a text file", key="array")
    return read_text(path)


def _open_head(path: Path) -> bytes:
    if not path.exists():
        refuse_unreachable(path, str(path))  # a symlink loop or a denied permission, named
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, expected a data file")
    try:
        with open(path, "rb") as f:
            return f.read(8)
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_text(path: str | os.PathLike) -> Table:
    """Parse a delimited text file into a float64 ``(N, d)`` table with names and line numbers."""
    path = as_path(path)
    _check_memory(path, text_bytes(path), copies=1)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not a UTF-8 text file (byte {exc.start}); expected CSV/TXT, .npy or .npz") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from None
    comments, rows = split_lines(text)
    if not rows:
        what = "is empty" if not text.strip() else "has no data rows (only comments/blank lines)"
        raise UserError(f"{path}: {what}")
    delim = delimiter(rows[0][1])
    fields = [(no, split_fields(line, delim)) for no, line in rows]
    names = header_from_first_row(fields)
    if names is not None:
        fields = fields[1:]
        if not fields:
            raise UserError(f"{path}: has a header row but no data rows")
    else:
        names = header_from_comments(comments, rows[0][0], len(fields[0][1]), delim)
    values, lines = to_floats(path, fields, names)
    return Table(values, names or default_names(values.shape[1]), lines, None, "text")


def default_names(d: int) -> list[str]:
    """``['x0', 'x1', ...]`` for ``d`` features without a header."""
    return [f"x{i}" for i in range(d)]


def _declared_bytes(f) -> int:
    """Bytes of the array whose ``.npy`` header starts at ``f``'s position (its shape × itemsize; 0 when the
    header cannot be read: ``np.load`` then reports the file as unreadable)."""
    from numpy.lib import format as npy

    try:
        version = npy.read_magic(f)
        shape, _, dtype = (npy.read_array_header_1_0(f) if version == (1, 0) else npy.read_array_header_2_0(f))
    except (ValueError, OSError, EOFError, TypeError, SyntaxError):
        return 0
    return math.prod(shape) * dtype.itemsize


def _check_memory(path: Path, declared: int, copies: int = 2) -> None:
    """Refuse arrays that need more memory than is available (``copies``: the array, then its float32 copy)."""
    from physgen.memory_guard import require

    require(copies * declared, what=f"{path}", reduce="import a smaller file (split it into several)")


def _read_npy(path: Path) -> Table:
    try:
        with open(path, "rb") as f:
            _check_memory(path, _declared_bytes(f))
    except OSError:
        pass  # np.load reports it
    try:
        values = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise UserError(f"{path}: not a readable .npy file ({_first_line(exc)})") from None
    values = _numeric(values, f"{path}")
    return Table(values, default_names(values.shape[1]) if values.ndim == 2 else None, fmt="npy")


def _read_npz(path: Path, array: str | None) -> Table:
    try:
        with np.load(path, allow_pickle=False) as archive:
            declared = 0
            for name in archive.zip.namelist():
                with archive.zip.open(name) as member:
                    declared += _declared_bytes(member)
            _check_memory(path, declared)
            arrays = {key: archive[key] for key in archive.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise UserError(f"{path}: not a readable .npz file ({_first_line(exc)})") from None
    key = _npz_key(path, arrays, array)
    values = _numeric(arrays[key], f"{path}[{key}]")
    names = _npz_names(path, arrays, values)
    labels = _npz_labels(path, arrays, len(values)) if key != "labels" else None
    return Table(values, names, None, labels, "npz")


def _npz_key(path: Path, arrays: dict[str, np.ndarray], array: str | None) -> str:
    if array is not None:
        if array not in arrays:
            raise UserError(f"{path} has no array {array!r} (arrays: {', '.join(arrays) or 'none'})", key="array")
        return array
    for key in ("samples", "x", "X"):
        if key in arrays:
            return key
    data = [k for k in arrays if k not in ("labels", "feature_names")]
    if len(data) != 1:
        raise UserError(f"{path}: cannot tell which array holds the samples ({', '.join(arrays) or 'no arrays'}); "
                        f"name it 'samples' or pass {as_written('array')} NAME")
    return data[0]


def _npz_names(path: Path, arrays: dict[str, np.ndarray], values: np.ndarray) -> list[str] | None:
    if values.ndim != 2:
        return None
    if "feature_names" not in arrays:
        return default_names(values.shape[1])
    names = [str(n) for n in np.asarray(arrays["feature_names"]).ravel()]
    if len(names) != values.shape[1]:
        raise UserError(f"{path}[feature_names]: {len(names)} names for {values.shape[1]} columns")
    return names


def _npz_labels(path: Path, arrays: dict[str, np.ndarray], n: int) -> np.ndarray | None:
    if "labels" not in arrays:
        return None
    labels = np.asarray(arrays["labels"])
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise UserError(f"{path}[labels]: shape {labels.shape} dtype {labels.dtype}, expected ({n},) integers")
    return labels.astype(np.int64)


def _numeric(values: np.ndarray, where: str) -> np.ndarray:
    if values.dtype.kind not in "biuf":
        raise UserError(f"{where}: dtype {values.dtype} is not a real number type")
    if values.ndim < 2 or values.shape[0] < 1 or values.size == 0:
        raise UserError(f"{where}: shape {values.shape}, expected (N, ...) with N >= 1 and at least one feature")
    return values


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


# ------------------------------------------------------------------------------------ conversion
def select_columns(table: Table, columns: Sequence[str] | None, where: str) -> Table:
    """Keep ``columns`` (names or 0-based indices, comma lists allowed) of a 2-D table, in that order."""
    if not columns:
        return table
    wanted = [c.strip() for item in columns for c in str(item).split(",") if c.strip()]
    if not wanted:
        raise UserError("no columns given", key="columns")
    if table.values.ndim != 2:
        raise UserError(f"{where} holds arrays of shape {table.values.shape[1:]}, "
                        "columns can only be picked from a 2-D table", key="columns")
    names = table.names or default_names(table.values.shape[1])
    index = [_column_index(c, names, where) for c in wanted]
    dup = {names[i] for i in index if index.count(i) > 1}
    if dup:
        raise UserError(f"column {sorted(dup)[0]!r} of {where} selected more than once", key="columns")
    return Table(table.values[:, index], [names[i] for i in index], table.lines, table.labels, table.fmt)


def _column_index(token: str, names: list[str], where: str) -> int:
    if token in names:
        return names.index(token)
    try:
        index = int(token)
    except ValueError:
        raise UserError(f"unknown column {token!r} in {where} (columns: {', '.join(names)})", key="columns") from None
    if not 0 <= index < len(names):
        raise UserError(f"index {index} out of range for {where} with {len(names)} columns (0..{len(names) - 1})",
                        key="columns")
    return index


def check_finite(table: Table, where: str) -> None:
    """Refuse NaN/Inf, saying how many and where (line/row and column) the first ones are."""
    x = table.values.reshape(len(table.values), -1)
    if x.dtype.kind != "f":
        return
    bad = ~np.isfinite(x)
    count = int(bad.sum())
    if count == 0:
        return
    rows, cols = np.nonzero(bad)
    places = [_place(table, int(r), int(c)) for r, c in zip(rows[:MAX_POSITIONS], cols[:MAX_POSITIONS])]
    more = ", ..." if count > MAX_POSITIONS else ""
    raise UserError(f"{where}: {_count(count, 'NaN/Inf value')} in {_count(len(np.unique(rows)), 'row')} "
                    f"(at {'; '.join(places)}{more})")


def _place(table: Table, r: int, c: int) -> str:
    names = table.names if table.values.ndim == 2 else None
    row = f"line {int(table.lines[r])}" if table.lines is not None else f"row {r}"
    col = col_label(c, names) if table.values.ndim == 2 else f"flat index {c}"
    return f"{row}, column {col}" if table.values.ndim == 2 else f"{row}, {col}"


def convert_kind(table: Table, kind: str, where: str) -> np.ndarray:
    """Cast ``table.values`` to the storage type of ``kind``, refusing invalid values.

    spins: exactly -1/+1 -> int8; binary: exactly 0/1 -> uint8; continuous: float32;
    image: float32, ``uint8`` input scaled by 1/255, a 2-D table of k*k columns reshaped to (N, k, k).
    """
    if kind not in KINDS:
        raise UserError(f"unknown kind {kind!r}, expected one of {', '.join(KINDS)}", key="kind")
    x = table.values
    if kind == "spins":
        _check_allowed(table, (-1, 1), "spins", where)
        return x.astype(np.int8)
    if kind == "binary":
        _check_allowed(table, (0, 1), "binary", where)
        return x.astype(np.uint8)
    check_finite(table, where)
    if kind == "image":
        return _as_image(x)
    return _as_float32(x, where)


def _as_float32(x: np.ndarray, where: str) -> np.ndarray:
    big = np.abs(x.astype(np.float64)) > np.finfo(np.float32).max
    if big.any():
        raise UserError(f"{where}: {_count(int(big.sum()), 'value')} too large for float32 (|x| > 3.4e38)")
    return x.astype(np.float32)


def _as_image(x: np.ndarray) -> np.ndarray:
    scaled = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    if scaled.ndim == 2:
        side = math.isqrt(scaled.shape[1])
        if side > 1 and side * side == scaled.shape[1]:
            scaled = scaled.reshape(len(scaled), side, side)
    return scaled


def _check_allowed(table: Table, allowed: tuple[int, int], kind: str, where: str) -> None:
    x = table.values.reshape(len(table.values), -1)
    bad = ~np.isin(x, allowed)
    count = int(bad.sum())
    if count:
        r, c = (int(v[0]) for v in np.nonzero(bad))
        value = x[r, c]
        raise UserError(f"{where}: {as_written('kind')} {kind} needs values {allowed[0]} and {allowed[1]} only; "
                        f"{_count(count, 'other value')} (first {value:g} at {_place(table, r, c)})")


def _count(n: int, noun: str) -> str:
    """``"1 row"``, ``"3 rows"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


# ------------------------------------------------------------------------------------- top level
def import_file(path: str | os.PathLike, *, kind: str = "continuous", columns: Sequence[str] | None = None,
                array: str | None = None) -> Dataset:
    """Read ``path`` (CSV/TXT, ``.npy``, ``.npz``) into a validated :class:`Dataset` of ``kind``.

    Attributes: ``source`` (absolute path), ``format``, ``feature_names`` (2-D tables), ``columns``.
    """
    if kind not in KINDS:
        raise UserError(f"unknown kind {kind!r}, expected one of {', '.join(KINDS)}", key="kind")
    path = as_path(path)
    where = str(path)
    table = select_columns(read_table(path, array=array), columns, where)
    samples = convert_kind(table, kind, where)
    attrs = {"source": os.path.abspath(path), "format": table.fmt}
    if samples.ndim == 2 and table.names is not None:
        attrs["feature_names"] = list(table.names)
    return Dataset(samples, kind, labels=table.labels, attrs=attrs).validate(where)
