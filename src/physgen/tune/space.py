"""The search space: one :class:`Param` per config key, read from TOML or built in (:mod:`.defaults`).

A space file names config keys as ``section.key`` tables, each a range or a list of choices::

    ["train.lr"]
    low = 1e-4
    high = 1e-2
    log = true            # sample log-uniformly (default false)

    ["model.n_hidden"]
    choices = [32, 64, 128]

A range's type follows the key's declared type in the config dataclass (``int`` → integers, ``float`` →
reals; ``step`` optional); every other type (bool, text, tuples such as ``model.hidden``) takes
``choices`` only.  Unquoted tables (``[train.lr]``) mean the same.  Choices that are lists reach Optuna
as their JSON text (Optuna's categorical values are scalars) and are decoded back here.
"""
from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from physgen import config as C
from physgen.errors import UserError, as_written

FIELDS = ("low", "high", "log", "step", "choices")
#: config keys set for every trial by a parameter of :func:`physgen.tune.tune` (config key -> parameter)
RESERVED = {"train.max_time": "trial_time", "train.seed": "seed", "data.condition": "condition"}


@dataclass(frozen=True)
class Param:
    """One searched config key: an ``int``/``float`` range ``[low, high]`` or categorical ``choices``."""

    key: str
    kind: str                      # "int" | "float" | "categorical"
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()

    def labels(self) -> list:
        """Optuna's categorical values: scalars as they are, lists as JSON text."""
        return [_label(c) for c in self.choices]

    def suggest(self, trial) -> Any:
        """Draw this parameter from an Optuna trial; returns the config value."""
        if self.kind == "categorical":
            return self.decode(trial.suggest_categorical(self.key, self.labels()))
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.key, float(self.low), float(self.high), step=self.step, log=self.log)

    def decode(self, raw: Any) -> Any:
        """The config value of Optuna's stored value ``raw`` (a label for categorical params)."""
        if self.kind != "categorical":
            return raw
        labels = self.labels()
        return self.choices[labels.index(raw)] if raw in labels else raw

    def candidates(self) -> list:
        """Values that must all be valid for the model: the range ends, or every choice."""
        return list(self.choices) if self.kind == "categorical" else [self.low, self.high]

    def to_json(self) -> dict[str, Any]:
        d = {"kind": self.kind}
        if self.kind == "categorical":
            d["choices"] = [list(c) if isinstance(c, tuple) else c for c in self.choices]
        else:
            d.update(low=self.low, high=self.high, log=self.log, step=self.step)
        return d


@dataclass(frozen=True)
class Space:
    """An ordered set of :class:`Param`; ``suggest(trial)`` gives ``{key: value}``."""

    params: tuple[Param, ...]

    def __iter__(self) -> Iterator[Param]:
        return iter(self.params)

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.params]

    def suggest(self, trial) -> dict[str, Any]:
        return {p.key: p.suggest(trial) for p in self.params}

    def decode(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Config values of a finished trial's ``trial.params``."""
        by_key = {p.key: p for p in self.params}
        return {k: by_key[k].decode(v) if k in by_key else v for k, v in raw.items()}

    def to_json(self) -> dict[str, Any]:
        return {p.key: p.to_json() for p in self.params}


def set_item(key: str, value: Any) -> str:
    """``--set``-style text of one value: ``("model.hidden", (64, 64))`` -> ``"model.hidden=64,64"``."""
    if isinstance(value, (list, tuple)):
        text = ",".join(_text(v) for v in value)
    else:
        text = _text(value)
    return f"{key}={text}"


def to_sets(values: Mapping[str, Any]) -> list[str]:
    return [set_item(k, v) for k, v in values.items()]


def nested(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"train.lr": 0.01}`` -> ``{"train": {"lr": 0.01}}`` (tuples become lists, as TOML writes them)."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        section, name = key.split(".", 1)
        out.setdefault(section, {})[name] = list(value) if isinstance(value, tuple) else value
    return out


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if isinstance(v, float) else str(v)


def _label(choice: Any) -> Any:
    if isinstance(choice, (list, tuple)):
        return json.dumps(list(choice))
    return choice


# --- reading a space file ------------------------------------------------------------------------
def load_space(path: str | Path, model_config_class: type) -> Space:
    """Parse a TOML space file against the model's config class; every problem is a UserError
    naming ``space_file=PATH`` and the key."""
    try:
        raw = C.load_toml(path)
    except UserError as exc:
        raise _bad(str(path), exc.detail.removeprefix(f"{path}: ")) from None
    return parse_space(raw, model_config_class, str(path))


def _bad(where: str | None, message: str) -> UserError:
    """A problem of the space file ``where`` (the parameter ``space_file``), or of a space given in Python."""
    return UserError(message, key="space_file", value=where) if where else UserError(f"space: {message}")


def parse_space(raw: Mapping[str, Any], model_config_class: type, where: str | None = None) -> Space:
    """A :class:`Space` from the parsed TOML ``raw`` (see the module docstring for the format)."""
    params = [_param(key, table, model_config_class, where) for key, table in _tables(raw, [], where)]
    if not params:
        raise _bad(where, "defines no parameters (write e.g. [\"train.lr\"] with low and high)")
    return Space(tuple(params))


def _tables(raw: Mapping[str, Any], path: list[str], where: str | None) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(dotted key, table)`` for every table holding one of :data:`FIELDS` (nested tables flattened)."""
    for name, value in raw.items():
        key = ".".join(path + [str(name)])
        if not isinstance(value, Mapping):
            raise _bad(where, f"{key}: expected a table with low/high or choices, got {value!r}")
        if any(f in value for f in FIELDS):
            yield key, value
        else:
            yield from _tables(value, path + [str(name)], where)


def field_type(key: str, model_config_class: type, where: str | None = None) -> Any:
    """The declared type of config key ``section.name``; unknown keys raise UserError listing the known."""
    section, _, name = key.partition(".")
    classes = {"model": model_config_class, "train": C.TrainConfig, "data": C.DataConfig}
    cls = classes.get(section)
    if cls is None or not name or "." in name:
        raise _bad(where, f"unknown key {key!r} (write section.key with section one of model, train, data)")
    if key in RESERVED:
        raise _bad(where, f"{key} is set by {as_written(RESERVED[key])}, not searched")
    fields = [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else []
    if name not in fields:
        raise _bad(where, f"unknown key {key!r} (known in [{section}]: {', '.join(fields) or 'none'})")
    return typing.get_type_hints(cls)[name]


def _numeric(tp: Any) -> str | None:
    """``"int"``/``"float"`` for ``int``, ``float`` and their ``X | None`` forms, else None."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        tp = args[0] if len(args) == 1 else None
    return {int: "int", float: "float"}.get(tp)


def _param(key: str, table: Mapping[str, Any], model_config_class: type, where: str | None) -> Param:
    tp = field_type(key, model_config_class, where)
    unknown = [k for k in table if k not in FIELDS]
    if unknown:
        raise _bad(where, f"{key}: unknown field(s) {', '.join(unknown)} (known: {', '.join(FIELDS)})")
    if "choices" in table:
        return _categorical(key, table, tp, where)
    kind = _numeric(tp)
    if kind is None:
        raise _bad(where, f"{key}: a key of this type takes choices = [...], not a range")
    if "low" not in table or "high" not in table:
        raise _bad(where, f"{key}: a range needs both low and high (or give choices)")
    low, high, step = (_number(table.get(f), kind, f"{key}.{f}", where) for f in ("low", "high", "step"))
    log = table.get("log", False)
    if not isinstance(log, bool):
        raise _bad(where, f"{key}.log: {log!r} is not true or false")
    if not low < high:
        raise _bad(where, f"{key}: empty range (low {low!r} must be < high {high!r})")
    if log and low <= 0:
        raise _bad(where, f"{key}: a log range needs low > 0 (got {low!r})")
    if step is not None and (step <= 0 or (log and not (kind == "int" and step == 1))):
        raise _bad(where, f"{key}.step: must be > 0 and cannot be combined with log = true")
    return Param(key, kind, low, high, log, step)


def _categorical(key: str, table: Mapping[str, Any], tp: Any, where: str | None) -> Param:
    extra = [f for f in ("low", "high", "log", "step") if f in table]
    if extra:
        raise _bad(where, f"{key}: give either choices or a range, not both ({', '.join(extra)})")
    choices = table["choices"]
    if not isinstance(choices, list) or not choices:
        raise _bad(where, f"{key}: choices must be a non-empty list")
    values = [C.coerce(c, tp, key) for c in choices]
    values = [tuple(v) if isinstance(v, list) else v for v in values]
    if len({json.dumps(_label(v)) for v in values}) < len(values):
        raise _bad(where, f"{key}: choices repeat a value")
    return Param(key, "categorical", choices=tuple(values))


def _number(value: Any, kind: str, key: str, where: str | None) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(where, f"{key}: {value!r} is not a number")
    if not math.isfinite(value):
        raise _bad(where, f"{key}: {value!r} is not finite")
    if kind == "int":
        if float(value) != int(value):
            raise _bad(where, f"{key}: {value!r} is not an integer")
        return int(value)
    return float(value)


def check_space(space: Space, model_name: str, model_config_class: type, base: Mapping[str, Any],
                where: str | None = None) -> None:
    """Every range end and every choice must give a valid config on its own (over the family's
    defaults ``base``), so that a trial never fails on a value the space itself allows."""
    for p in space:
        for value in p.candidates():
            try:
                C.resolve(model_name, model_config_class, base=base, sets=[set_item(p.key, value)])
            except UserError as exc:
                raise _bad(where, f"{p.key} = {value!r} is not a valid value ({exc})") from None
