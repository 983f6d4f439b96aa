"""Coercion of configuration values to their declared types: a TOML value or the text of ``--set key=value``
becomes the ``int``, ``float``, ``bool``, ``str``, ``Literal[...]``, ``X | None``, ``list[X]``,
``tuple[X, ...]`` or ``dict[str, X]`` that a configuration dataclass declares; a value that does not fit
raises :class:`~physgen.errors.UserError` naming its key."""
from __future__ import annotations

import math
import types
import typing
from typing import Any, Literal, Mapping, Sequence

from physgen.errors import UserError

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def coerce(value: Any, tp: Any, key: str) -> Any:
    """Convert ``value`` (TOML value or ``--set`` text) to type ``tp``; UserError names ``key``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(value, args, key)
    if origin is Literal:
        text = value if not isinstance(value, str) else value.strip()
        if text not in args:
            raise UserError(f"{value!r} is not one of {' | '.join(map(str, args))}", key=key)
        return text
    if origin in (list, tuple, Sequence) or tp in (list, tuple):
        return _coerce_seq(value, origin or tp, args, key)
    if origin is dict or tp is dict:
        return _coerce_dict(value, args, key)
    return _coerce_scalar(value, tp, key)


def _coerce_union(value: Any, args: tuple, key: str) -> Any:
    is_null = value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null", ""))
    if type(None) in args and is_null:
        return None
    errors = []
    for arg in args:
        if arg is type(None):
            continue
        try:
            return coerce(value, arg, key)
        except UserError as exc:
            errors.append(exc)
    raise errors[0] if errors else UserError(f"invalid value {value!r}", key=key)


def _coerce_seq(value: Any, origin: Any, args: tuple, key: str) -> Any:
    if isinstance(value, str):
        text = value.strip().strip("[]()")
        value = [part.strip().strip("'\"") for part in text.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)):
        raise UserError(f"{value!r} is not a list", key=key)
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        if len(value) != len(args):
            raise UserError(f"expected {len(args)} values, got {len(value)}", key=key)
        return tuple(coerce(v, a, key) for v, a in zip(value, args))
    item = args[0] if args else Any
    items = [coerce(v, item, key) for v in value]
    return tuple(items) if origin is tuple else items


def _coerce_dict(value: Any, args: tuple, key: str) -> dict:
    if isinstance(value, str):  # "a=1,b=2"
        pairs = [p.split("=", 1) for p in value.split(",") if p.strip()]
        if any(len(p) != 2 for p in pairs):
            raise UserError(f"{value!r} is not a table (write name=value,name=value)", key=key)
        value = {k.strip(): v.strip() for k, v in pairs}
    if not isinstance(value, Mapping):
        raise UserError(f"{value!r} is not a table", key=key)
    vt = args[1] if len(args) == 2 else Any
    return {str(k): coerce(v, vt, f"{key}.{k}") for k, v in value.items()}


def _coerce_scalar(value: Any, tp: Any, key: str) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise UserError(f"{value!r} is not a boolean (true/false)", key=key)
    if tp is int:
        if isinstance(value, bool):
            raise UserError(f"{value!r} is not an integer", key=key)
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())  # exact for big integers (seeds)
        except ValueError:
            pass
        try:
            f = float(value)  # "1e3" or 64.0
            if f != int(f):
                raise ValueError
            return int(f)
        except (TypeError, ValueError, OverflowError):
            raise UserError(f"{value!r} is not an integer", key=key) from None
    if tp is float:
        try:
            if isinstance(value, bool):
                raise ValueError
            f = float(value)
        except (TypeError, ValueError):
            raise UserError(f"{value!r} is not a number", key=key) from None
        if not math.isfinite(f):
            raise UserError(f"{value!r} is not finite", key=key)
        return f
    if tp is str:
        if isinstance(value, (dict, list)):
            raise UserError(f"{value!r} is not a string", key=key)
        return str(value)
    return value
