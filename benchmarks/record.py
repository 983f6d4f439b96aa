"""Write a benchmark's markdown table into a document, between a named pair of marker comments.

The markers are ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` on lines of their own; everything
between them is replaced, the rest of the document is kept byte for byte.  A document without the pair
is an error (the markers are placed by hand where the table belongs).
"""
from __future__ import annotations

from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def replace_between(text: str, name: str, body: str) -> str:
    """``text`` with the lines between the ``name`` markers replaced by ``body``; ValueError without them."""
    begin, end = markers(name)
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        raise ValueError(f"no {begin} ... {end} pair")
    return text[: i + len(begin)] + "\n" + body.rstrip("\n") + "\n" + text[j:]


def record(path: Path, name: str, body: str) -> None:
    """Replace the ``name`` section of the document at ``path`` (atomically)."""
    from physgen.atomic import write_text

    write_text(path, replace_between(path.read_text(encoding="utf-8"), name, body))
