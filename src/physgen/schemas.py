"""Schemas of the files physgen reads back: every field checked for its type and range before use.

A run directory's files (``spec.json``, ``transform.json``, ``summary.json``, ``data.json``, the checkpoint
JSON) may be hand-edited or damaged.  :func:`check` walks a parsed JSON value against a declarative schema and
raises one :class:`~physgen.errors.UserError` naming the file and the field (``state.rng.numpy[2]``) at the
first deviation, so no malformed value reaches code that would fail with a traceback.

A schema is built from a few node types: :class:`Int`, :class:`Num`, :class:`Str`, :class:`Bool`,
:class:`Opt` (the value or null), :class:`List`, :class:`Map` (any keys, one value schema), :class:`Obj`
(named fields, required or optional; unknown fields are allowed, so files written by newer versions with
extra keys still load) and :class:`OneOf`.  ``config.toml`` is validated field by field by
:func:`physgen.config.build_config` against the config dataclasses.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from physgen.errors import UserError

_HEX = set("0123456789abcdef")
_I64 = 2 ** 63   # integers in the files fit in 64 bits (NumPy, HDF5 and torch take no more)


class _Raw(str):
    """A description shown as is in a message (not repr'd)."""


class _Bad(Exception):
    """A deviation at ``path``: ``expected`` says what the field must be."""

    def __init__(self, path: str, expected: str, value: Any):
        self.path, self.expected, self.value = path, expected, value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class Int:
    """An integer (not a bool) in ``[lo, hi]``."""

    lo: int | None = None
    hi: int | None = None

    def check(self, v: Any, path: str) -> None:
        if isinstance(v, bool) or not isinstance(v, int):
            raise _Bad(path, "an integer", v)
        if not -_I64 <= v < _I64:
            raise _Bad(path, "a 64-bit integer", v)
        if (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
            bounds = (f">= {self.lo}" if self.hi is None else f"<= {self.hi}" if self.lo is None
                      else f"in [{self.lo}, {self.hi}]")
            raise _Bad(path, f"an integer {bounds}", v)


@dataclass(frozen=True)
class Num:
    """A finite number (int or float, not a bool) in ``[lo, hi]``; ``positive`` excludes 0."""

    lo: float | None = None
    hi: float | None = None
    positive: bool = False

    def check(self, v: Any, path: str) -> None:
        if (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
                or (isinstance(v, int) and not -_I64 <= v < _I64)):
            raise _Bad(path, "a finite number", v)
        if (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi) or (self.positive and v <= 0):
            bounds = ("> 0" if self.positive else f">= {self.lo}" if self.hi is None else f"<= {self.hi}"
                      if self.lo is None else f"in [{self.lo}, {self.hi}]")
            raise _Bad(path, f"a number {bounds}", v)


@dataclass(frozen=True)
class Str:
    """A string; one of ``choices`` when given; ``hex`` = lowercase hexadecimal of length ``length``."""

    choices: tuple[str, ...] | None = None
    length: int | None = None
    hex: bool = False

    def check(self, v: Any, path: str) -> None:
        if not isinstance(v, str):
            raise _Bad(path, "a string", v)
        if self.choices is not None and v not in self.choices:
            raise _Bad(path, f"one of {', '.join(self.choices)}", v)
        if (self.length is not None and len(v) != self.length) or (self.hex and not set(v) <= _HEX):
            raise _Bad(path, f"{self.length} hexadecimal digits" if self.hex else f"a string of length {self.length}", v)


@dataclass(frozen=True)
class Bool:
    def check(self, v: Any, path: str) -> None:
        if not isinstance(v, bool):
            raise _Bad(path, "true or false", v)


@dataclass(frozen=True)
class Any_:
    """Any JSON value."""

    def check(self, v: Any, path: str) -> None:
        return None


@dataclass(frozen=True)
class Opt:
    """``inner`` or null."""

    inner: Any

    def check(self, v: Any, path: str) -> None:
        if v is not None:
            self.inner.check(v, path)


@dataclass(frozen=True)
class OneOf:
    """The first of ``options`` that accepts the value; else the deviation reported by the first."""

    options: tuple[Any, ...]

    def check(self, v: Any, path: str) -> None:
        first = None
        for option in self.options:
            try:
                return option.check(v, path)
            except _Bad as bad:
                first = first or bad
        raise first


@dataclass(frozen=True)
class List:
    """A list of ``item``; ``min``/``max``/``length`` bound its length."""

    item: Any
    min: int = 0
    max: int | None = None
    length: int | None = None

    def check(self, v: Any, path: str) -> None:
        if not isinstance(v, list):
            raise _Bad(path, "a list", v)
        if self.length is not None and len(v) != self.length:
            raise _Bad(path, f"a list of {self.length} items", _Raw(f"{len(v)} items"))
        if len(v) < self.min or (self.max is not None and len(v) > self.max):
            raise _Bad(path, f"a list of {self.min} to {self.max if self.max is not None else 'any number of'} items",
                       _Raw(f"{len(v)} items"))
        for i, x in enumerate(v):
            self.item.check(x, f"{path}[{i}]")


@dataclass(frozen=True)
class Map:
    """A JSON object with any keys whose values all match ``value``."""

    value: Any

    def check(self, v: Any, path: str) -> None:
        if not isinstance(v, dict):
            raise _Bad(path, "an object", v)
        for k, x in v.items():
            self.value.check(x, f"{path}.{k}" if path else str(k))


@dataclass(frozen=True)
class Obj:
    """A JSON object with ``required`` and ``optional`` fields (name -> schema); other fields are allowed."""

    required: dict[str, Any] = field(default_factory=dict)
    optional: dict[str, Any] = field(default_factory=dict)

    def check(self, v: Any, path: str) -> None:
        if not isinstance(v, dict):
            raise _Bad(path, "an object", v)
        for name, schema in self.required.items():
            where = f"{path}.{name}" if path else name
            if name not in v:
                raise _Bad(where, "present", "missing")
            schema.check(v[name], where)
        for name, schema in self.optional.items():
            if name in v:
                schema.check(v[name], f"{path}.{name}" if path else name)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(text: str, where: str, what: str = "JSON") -> Any:
    """Parse strict JSON (no NaN/Infinity, which physgen never writes); UserError ``"<where>: corrupted <what>
    (<reason>)"`` for anything else."""
    import json

    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise UserError(f"{where}: corrupted {what} (nested too deeply)") from None
    except ValueError as exc:   # JSONDecodeError is a ValueError
        raise UserError(f"{where}: corrupted {what} ({exc})") from None


def check(value: Any, schema: Any, where: str, at: str = "") -> Any:
    """Return ``value`` if it matches ``schema``; else UserError ``"<where>: field <path> must be <...>, got <...>"``
    (``at``: the path of ``value`` in its file)."""
    try:
        schema.check(value, at)
    except _Bad as bad:
        got = bad.value if isinstance(bad.value, _Raw) else _show(bad.value)
        if bad.expected == "present":
            raise UserError(f"{where}: field {bad.path or '(top level)'} is missing") from None
        raise UserError(f"{where}: field {bad.path or '(top level)'} must be {bad.expected}, got {got}") from None
    return value


# --- the run directory's files ----------------------------------------------------------------------------
KINDS = ("spins", "binary", "continuous", "image", "pointcloud", "categorical", "field")
MAX_VALUES = 2 ** 31          # a sample shape with more values than this is not a file physgen wrote
_NAME = Str()
_NUMBERS = List(Num())

SPEC = Obj(required={"kind": Str(KINDS), "shape": List(Int(1, MAX_VALUES), min=1, max=8)},
           optional={"feature_names": Opt(List(_NAME)), "condition_names": List(_NAME, max=16),
                     "condition_values": Map(List(Num(), min=1)), "n_labels": Opt(Int(1, 1 << 20)),
                     "levels": Opt(Int(1, 255))})

TRANSFORM_PARAMS = {"none": {}, "standardize": {"mean": _NUMBERS, "scale": List(Num(positive=True))},
                    "minmax": {"min": _NUMBERS, "span": List(Num(positive=True))},
                    "yeo-johnson": {"lambdas": _NUMBERS, "mean": _NUMBERS, "scale": List(Num(positive=True))},
                    "logit": {"eps": Num(lo=1e-6, hi=0.49)},
                    "quantile": {"quantiles": List(_NUMBERS, min=2), "references": List(Num(), min=2)}}
TRANSFORM = Obj(required={"name": Str(tuple(TRANSFORM_PARAMS))})

SUMMARY = Obj(required={"model": _NAME, "status": _NAME},
              optional={"data": _NAME, "data_sha256": Opt(Str(length=64, hex=True)), "seed": Int(0),
                        "wall_time_s": Num(lo=0), "loop_s": Num(lo=0), "checks_s": Num(lo=0), "started": _NAME,
                        "steps": Int(0)})

_SCALAR = OneOf((Str(), Num(), Bool()))
DATA = Obj(optional={"attrs": Map(OneOf((_SCALAR, List(_SCALAR)))), "conditions": Map(Num()),
                     "levels": List(Num(), min=1, max=256)})

_U32 = Int(0, 2 ** 32 - 1)
_NUMPY_RNG = List(Any_(), length=5)   # name, 624 keys, position, has_gauss, cached gaussian: checked below
_PYTHON_RNG = List(Any_(), length=3)  # version, 625-tuple (624 words + index), cached gaussian
_NUMPY_PARTS = (Str(("MT19937",)), List(_U32, length=624), Int(0, 624), Int(0, 1), Num())
_PYTHON_PARTS = (Int(3, 3), List(_U32, length=625), Opt(Num()))
_HYPER = OneOf((Num(), Bool(), Str(), List(Num()), Opt(Num())))
_GROUP = Obj(required={"params": List(Int(0))}, optional={"lr": Num(lo=0)})
_OPTIMIZER = Obj(required={"param_groups": List(Map(_HYPER), min=1)},
                 optional={"scalars": Map(Map(OneOf((Num(), Bool(), Str(), Opt(Num())))))})

_STATE_REQUIRED = {"step": Int(0), "epoch": Int(0), "position": Int(0), "lr_scale": Num(positive=True),
                   "retries": Int(0), "elapsed": Num(lo=0), "optimizers": Map(_OPTIMIZER)}
_STATE_OPTIONAL = {
    "best": Opt(Num()), "world_size": Int(1), "total_steps": Opt(Int(0)),
    "rng": Obj(optional={"numpy": _NUMPY_RNG, "python": _PYTHON_RNG}),
    "schedule": Obj(optional={"name": Str(), "step": Int(0), "start": Int(0), "horizon": Opt(Int(0)),
                              "timed": Bool(), "ended": Bool()}),
    "quality": Obj(optional={"best": Opt(Map(Num())), "best_step": Opt(Int(0))}),
    "window": Opt(Obj(required={"n": Int(0), "samples": Int(0), "loss": Num(), "lr": Num(), "logs": Map(Num())},
                      optional={"n_loss": Int(0)})),
    "config": Obj(optional={"model": Map(Any_()), "train": Map(Any_())})}
#: a trainer's checkpoint state (:meth:`physgen.training.trainer.Trainer.state`); any checkpoint's state has
#: these fields' types where present
STATE = Obj(required=_STATE_REQUIRED, optional=_STATE_OPTIONAL)
ANY_STATE = Obj(optional={**_STATE_REQUIRED, **_STATE_OPTIONAL})

CHECKPOINT = Obj(required={"format": Str(), "format_version": Int(), "model": Str(), "model_version": Int(),
                           "tensors": Str(), "sha256": Str(length=64, hex=True), "state": ANY_STATE})


def check_checkpoint(meta: Any, where: str, *, trainer: bool = False) -> dict[str, Any]:
    """The checkpoint JSON ``meta`` (``CHECKPOINT``; with ``trainer``, a state with every field a trainer needs,
    ``STATE``), with the RNG states' parts and the optimizer groups' parameter lists checked too."""
    check(meta, CHECKPOINT, where)
    state = meta["state"]
    if trainer:
        check(meta, Obj(required={"state": STATE}), where)
    rng = state.get("rng") or {}
    for name, parts in (("numpy", _NUMPY_PARTS), ("python", _PYTHON_PARTS)):
        if name in rng:
            for i, schema in enumerate(parts):
                check(rng[name][i], schema, where, f"state.rng.{name}[{i}]")
    if "python" in rng and rng["python"][1][-1] > 624:
        raise UserError(f"{where}: field state.rng.python[1][624] must be an integer in [0, 624], "
                        f"got {rng['python'][1][-1]}")
    for name, opt in state.get("optimizers", {}).items():
        for i, group in enumerate(opt["param_groups"]):
            check(group, _GROUP, where, f"state.optimizers.{name}.param_groups[{i}]")
    return meta


def check_transform(d: Any, where: str) -> dict[str, Any]:
    """``transform.json``: a known name and its parameters: lists of finite numbers of one length (scalars for
    ``logit``)."""
    check(d, TRANSFORM, where)
    params = TRANSFORM_PARAMS[d["name"]]
    check(d, Obj(required=params), where)
    lengths = {len(d[k]) for k in params if isinstance(d[k], list)}
    if len(lengths) > 1:
        raise UserError(f"{where}: fields {', '.join(params)} must have one length, got {sorted(lengths)}")
    return d


def check_spec(d: Any, where: str) -> dict[str, Any]:
    """``spec.json``: kind, shape (at most ``MAX_VALUES`` values), feature and condition names that agree."""
    check(d, SPEC, where)
    if math.prod(d["shape"]) > MAX_VALUES:
        raise UserError(f"{where}: field shape {d['shape']} has more than {MAX_VALUES} values")
    names = d.get("feature_names")
    if names and len(names) != d["shape"][-1]:
        raise UserError(f"{where}: field feature_names has {len(names)} names for {d['shape'][-1]} features")
    missing = [n for n in d.get("condition_names", []) if n not in d.get("condition_values", {})]
    if missing:
        raise UserError(f"{where}: field condition_values has no values for condition {missing[0]!r}")
    return d
