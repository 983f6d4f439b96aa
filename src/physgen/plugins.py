"""Entry points: how physgen finds the parts other packages (and physgen itself) declare.

A group such as ``physgen.models`` or ``physgen.samplers`` maps names to ``"package.module:object"`` (PEP 621
``[project.entry-points."GROUP"]``).  Installed distributions are read through :mod:`importlib.metadata`;
where physgen runs from a source tree that was never installed (no distribution metadata), its own entries
are read from that tree's ``pyproject.toml``, so a new part is one module plus one line there.
"""
from __future__ import annotations

import importlib
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

from physgen.errors import UserError

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"   # of a source tree: src/physgen/


def installed(group: str) -> dict[str, str]:
    """Name -> ``"module:object"`` of every installed distribution's entry point in ``group``."""
    return {ep.name: ep.value for ep in metadata.entry_points(group=group)}


def source_tree(group: str) -> dict[str, str]:
    """physgen's own entries of ``group`` read from ``pyproject.toml`` beside ``src/`` when its distribution
    metadata is absent; empty when physgen is installed (the metadata then lists them)."""
    try:
        metadata.distribution("physgen")
        return {}
    except metadata.PackageNotFoundError:
        pass
    try:
        project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return dict(project.get("project", {}).get("entry-points", {}).get(group, {}))


def load_named(what: str, name: str, target: str) -> Any:
    """:func:`load`, and the object's ``name`` must be ``name``: a class registered under another name is one
    UserError naming ``what``."""
    obj = load(what, target)
    if getattr(obj, "name", None) != name:
        raise UserError(f"{what}: its entry point {target!r} is a class named {getattr(obj, 'name', None)!r}")
    return obj


def load(what: str, target: str) -> Any:
    """The object ``target`` (``"module:qualname"``) names; a broken entry is one UserError naming ``what``."""
    module, _, qualname = target.partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise UserError(f"{what}: its entry point {target!r} cannot be loaded ({exc})") from None
    return obj
