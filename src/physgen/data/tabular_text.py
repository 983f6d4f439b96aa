"""Parsing of delimited text files into a numeric table, with errors that name the line and the column.

One sample per line; fields separated by commas, tabs or semicolons (the first of them found in the first
data line) or else by runs of whitespace.  Blank lines and ``#`` comments (whole-line or inline) are
skipped.  A first row made only of non-numeric fields (``s,t,y``) is a header; otherwise the last comment
line before the data whose field count matches the data (e.g. ``# s t y``) gives the feature names.
:func:`to_floats` turns the fields into a float64 ``(N, d)`` array with the 1-based line number of every
row ``(N,)``, refusing ragged rows and non-numeric fields; :func:`text_bytes` estimates the peak memory
of parsing a file from its first bytes.  The conventions follow NumPy's ``loadtxt`` (NumPy docs,
"numpy.loadtxt").
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from physgen.errors import UserError


def split_lines(text: str) -> tuple[dict[int, str], list[tuple[int, str]]]:
    """Return comment lines by line number and data lines ``(line_no, content)`` (1-based)."""
    comments: dict[int, str] = {}
    rows: list[tuple[int, str]] = []
    for no, raw in enumerate(text.split("\n"), start=1):  # "\r" goes with strip()
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            comments[no] = line[1:]
            continue
        line = line.split("#", 1)[0].strip()  # inline comment
        if line:
            rows.append((no, line))
    return comments, rows


def delimiter(first: str) -> str | None:
    """``','``, ``'\\t'`` or ``';'`` (first found in the first data line), else None (runs of whitespace)."""
    for delim in (",", "\t", ";"):
        if delim in first:
            return delim
    return None


def split_fields(line: str, delim: str | None) -> list[str]:
    return line.split() if delim is None else [f.strip() for f in line.split(delim)]


def header_from_first_row(fields: list[tuple[int, list[str]]]) -> list[str] | None:
    """A first row made only of non-numeric, non-empty fields is a header (``s,t,y``)."""
    first = fields[0][1]
    if all(f and parse_float(f) is None for f in first):
        return first
    return None


def header_from_comments(comments: dict[int, str], first_line: int, ncol: int,
                          delim: str | None) -> list[str] | None:
    """Names from the last comment line before the data whose field count is ``ncol``."""
    for no in sorted((n for n in comments if n < first_line), reverse=True):
        for d in (delim, None):
            names = [f for f in split_fields(comments[no].strip(), d) if f]
            if len(names) == ncol:
                return names
    return None


def parse_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def to_floats(path: Path, fields: list[tuple[int, list[str]]], names: list[str] | None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Check that rows are rectangular and numeric; return values ``(N, d)`` and line numbers ``(N,)``."""
    ncol, first_no = len(fields[0][1]), fields[0][0]
    lines = np.array([no for no, _ in fields], dtype=np.int64)
    if all(len(row) == ncol for _, row in fields):
        try:  # fast path; the loop below finds and names the first bad field
            return np.array([row for _, row in fields], dtype=np.float64), lines
        except ValueError:
            pass
    out = np.empty((len(fields), ncol), dtype=np.float64)
    for i, (no, row) in enumerate(fields):
        if len(row) != ncol:
            raise UserError(f"{path}: line {no} has {len(row)} fields, expected {ncol} (as on line {first_no})")
        for j, text in enumerate(row):
            value = parse_float(text)
            if value is None:
                col = col_label(j, names)
                what = "empty field" if not text else f"{text[:40]!r} is not a number"
                raise UserError(f"{path}: line {no}, column {col}: {what}")
            out[i, j] = value
    return out, lines


def col_label(j: int, names: Sequence[str] | None) -> str:
    """``"2 (t)"``: 1-based column number and its name when known."""
    return f"{j + 1} ({names[j]})" if names is not None and j < len(names) else f"{j + 1}"


# Python objects per data line and per field while a text file is parsed (line strings, field lists and
# strings, the float64 table), measured with tracemalloc on comma-separated files of 3 and 30 columns
LINE_BYTES, FIELD_BYTES, SAMPLE_BYTES = 320, 90, 1 << 20


def text_bytes(path: Path) -> int:
    """Peak memory of parsing the text file ``path`` (bytes): twice its size (the bytes and the decoded text)
    plus :data:`LINE_BYTES` per data line and :data:`FIELD_BYTES` per field, the counts extrapolated from its
    first :data:`SAMPLE_BYTES` bytes.  0 when the file cannot be read (reading it then reports why)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(SAMPLE_BYTES)
    except OSError:
        return 0
    if not head:
        return 0
    lines = [line.split(b"#", 1)[0].strip() for line in head.split(b"\n")]
    lines = [line for line in lines if line]
    if not lines:
        return 2 * size
    delim = delimiter(lines[0].decode("utf-8", "replace"))
    fields = sum(len(line.split(delim.encode()) if delim else line.split()) for line in lines)
    scale = size / len(head)
    return int(2 * size + scale * (LINE_BYTES * len(lines) + FIELD_BYTES * fields))
