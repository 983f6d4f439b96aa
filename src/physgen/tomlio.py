"""TOML in and out: reading a configuration file (a missing or malformed file is a
:class:`~physgen.errors.UserError` naming it) and writing nested dicts of scalars, lists and tables back, so
that a run's ``config.toml`` round-trips exactly."""
from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any, Mapping

from physgen.errors import UserError
from physgen.paths import refuse_unreachable

def load_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file; missing or malformed files raise UserError naming the file and line."""
    path = Path(path)
    if not path.is_file():
        refuse_unreachable(path, str(path))  # a symlink loop or a denied permission, named
        raise UserError(f"{path}: no such config file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None


def dumps_toml(d: Mapping[str, Any]) -> str:
    """Serialise a nested dict of scalars, lists and tables to TOML.

    TOML has no null: ``None`` is written as the string ``"none"``, which :func:`physgen.coerce.coerce` reads back
    as ``None`` for optional fields, so configs round-trip exactly.
    """
    lines: list[str] = []
    _emit_table(d, [], lines)
    return "\n".join(lines).strip() + "\n"


def _emit_table(d: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in d.items() if not isinstance(v, Mapping)}
    tables = {k: v for k, v in d.items() if isinstance(v, Mapping)}
    if path and (scalars or not tables):
        lines.append(f"\n[{'.'.join(_toml_key(p) for p in path)}]")
    for k, v in scalars.items():
        lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for k, v in tables.items():
        _emit_table(v, path + [str(k)], lines)


def _toml_key(k: str) -> str:
    k = str(k)
    return k if k and all(c.isalnum() or c in "-_" for c in k) else _toml_str(k)


def _toml_str(s: str) -> str:
    out = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{out}"'


def _toml_value(v: Any) -> str:
    if v is None:
        return '"none"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return ("nan" if math.isnan(v) else "inf" if v > 0 else "-inf")
        return repr(v)
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")
