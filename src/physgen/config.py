"""Typed run configuration: dataclasses validated at construction, TOML in and out (:mod:`physgen.tomlio`),
``--set`` overrides coerced to the declared types (:mod:`physgen.coerce`).

A run's configuration has three sections::

    model_name = "rbm"          # which registered model (top-level key)
    [model]                     # the model's own config dataclass (``cls.config_class``)
    [train]                     # :class:`TrainConfig`
    [data]                      # :class:`DataConfig`

Every field can be overridden from the command line as ``--set section.key=value``; the text is
coerced to the field's declared type (``int``, ``float``, ``bool``, ``str``, ``Literal[...]``,
``X | None``, ``list[X]``, ``tuple[X, ...]``, ``dict[str, X]``).  Unknown sections or keys raise
:class:`~physgen.errors.UserError` naming them.  The style follows pythae's typed configs and
scikit-learn's declared parameter constraints, checked once.
"""
from __future__ import annotations

import dataclasses
import functools
import types
import typing
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Mapping, Sequence

from physgen.budget import Budget
from physgen.coerce import coerce
from physgen.constraints import Constraint, Each, Interval, Satisfies, declared, require
from physgen.errors import UserError
from physgen.tomlio import dumps_toml, load_toml  # noqa: F401  (part of this module's API)

Optimizer = Literal["sgd", "adam", "adamw"]
Schedule = Literal["constant", "cosine", "linear", "step", "exponential"]
Transform = Literal["auto", "none", "standardize", "minmax", "yeo-johnson", "logit", "quantile"]


def literal_choices(tp: Any) -> tuple[Any, ...] | None:
    """The allowed values of a ``Literal[...]`` (or ``Literal[...] | None``) annotation; None for other types."""
    if typing.get_origin(tp) is Literal:
        return typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and typing.get_origin(args[0]) is Literal:
            return (*typing.get_args(args[0]), None)
    return None


@functools.cache
def _choice_fields(cls: type) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, choices) for f in dataclasses.fields(cls)
                 if (choices := literal_choices(hints[f.name])) is not None)


def validate(obj: Any, section: str | None) -> None:
    """Check the options dataclass ``obj``: its ``Literal`` choices and registered samplers (:func:`check_choices`),
    then each constraint it declares (:func:`physgen.constraints.declared`).  Keys are ``section.field`` (the bare
    field name without a section)."""
    check_choices(obj, section)
    for name, constraint in declared(type(obj)):
        require(getattr(obj, name), constraint, f"{section}.{name}" if section else name)


def check_choices(obj: Any, section: str | None) -> None:
    """Every ``Literal``-typed field of the dataclass ``obj`` holds one of its declared values, and every sampler
    field (:func:`physgen.samplers.registry.option`) names a registered sampler, else a UserError naming the
    config key (``section.field``): the one check of the choice options, whether the config came from TOML,
    ``--set`` or the Python API."""
    def key(name: str) -> str:
        return f"{section}.{name}" if section else name

    for name, choices in _choice_fields(type(obj)):
        value = getattr(obj, name)
        if value not in choices:
            shown = " | ".join("none" if c is None else str(c) for c in choices)
            raise UserError(f"{value!r} is not one of {shown}", key=key(name))
    for f in dataclasses.fields(obj):
        if "sampler_field" in f.metadata:
            from physgen.samplers import registry

            registry.check(f.metadata["sampler_field"], getattr(obj, f.name), key(f.name))
        if "choices_from" in f.metadata:
            names = registered_choices(f)
            if getattr(obj, f.name) not in names:
                raise UserError(f"{getattr(obj, f.name)!r} is not one of {' | '.join(names)}", key=key(f.name))


def registry_choice(default: str, names: str) -> Any:
    """A field whose value is one of the names a registry lists: ``names`` is ``"module:function"`` of a function
    returning them (e.g. the lattice models, found through entry points; :func:`check_choices` checks it)."""
    return field(default=default, metadata={"choices_from": names})


def registered_choices(f: dataclasses.Field) -> list[str]:
    """The names a :func:`registry_choice` field accepts."""
    from physgen import plugins

    return list(plugins.load(f"the choices of {f.name}", f.metadata["choices_from"])())


def resumable(default: Any) -> Any:
    """A ``[train]`` field that ``--resume`` may change (a budget, a cadence, bookkeeping): its dataclass field,
    marked in its metadata (:data:`RESUMABLE` lists them)."""
    return field(default=default, metadata={"resumable": True})


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping settings shared by every model (the ``[train]`` section)."""

    batch_size: int = 64                 # global batch (split across ranks under torchrun)
    # The budget (physgen.budget): steps (or epochs) is the plan, max_time a cap of wall-time seconds per
    # invocation; max_time alone is a time budget; none of the three falls back to FALLBACK_EPOCHS epochs.
    epochs: int | None = resumable(None)
    steps: int | None = resumable(None)             # the plan: this many optimizer steps (overrides epochs)
    max_time: float | None = resumable(None)        # the cap: seconds of wall time per invocation
    until: Literal["budget", "floor"] = resumable("budget")  # floor: stop early once the held-out probe is at its floor
    patience: float | None = resumable(None)        # seconds of training without a better validation score -> converged
    optimizer: Optimizer = "adam"
    lr: float = 1e-3
    group_lr: dict[str, float] = field(default_factory=dict)  # per parameter-group learning rates
    momentum: float = 0.0                # sgd only
    betas: tuple[float, float] = (0.9, 0.999)  # adam/adamw
    weight_decay: float = 0.0
    schedule: Schedule = "constant"
    warmup_steps: int = 0
    step_size: int = 1000                # schedule "step": multiply by gamma every step_size steps
    gamma: float = 0.5                   # schedule "step"/"exponential" factor
    grad_clip: float | None = None       # max global gradient norm
    ema: float | None = None             # EMA decay of the weights (e.g. 0.999); sampling uses EMA
    seed: int = 0
    device: str = resumable("auto")                 # auto | cpu | cuda | cuda:N | mps
    dtype: Literal["float32", "float64"] = "float32"
    # float32 matrix products during fit (torch.set_float32_matmul_precision): "highest" is plain float32;
    # "medium" allows bfloat16-based kernels on CPU (oneDNN) and TF32 on CUDA: faster, relative error up to
    # ~4e-3 (a bfloat16 mantissa; docs/training.md, benchmarks/records/training.md); float64 is never affected
    matmul_precision: Literal["highest", "high", "medium"] = "highest"
    drop_last: bool = False
    log_every: int = resumable(10)                  # steps between metrics.csv rows
    checkpoint_every: int = resumable(0)            # steps between checkpoints (0: at each epoch end only)
    checkpoint_interval: float = resumable(30.0)    # checkpoint_every = 0: an epoch-end checkpoint is written to disk only
                                         # when >= this many seconds passed since the last one (0: every epoch)
    guard_every: int = 100               # divergence guard: the parameters are checked for NaN/Inf at the first
                                         # metrics row, and (checkpoint_every = 0) the rollback point is
                                         # snapshotted in memory at the first epoch end, >= this many steps after
                                         # the last check / snapshot (1: every row and epoch end); losses: always
    keep_last: int = resumable(3)
    preview_every: int = resumable(0)               # steps between preview images (0: at the end only)
    val_every: int = resumable(0)                   # steps between validation passes (0: with each quality probe, or at
                                         # each epoch end where the run has no probe)
    on_divergence: Literal["stop", "retry"] = resumable("stop")
    retry_lr_factor: float = resumable(0.1)
    max_retries: int = resumable(3)
    progress: bool = resumable(True)
    tensorboard: bool = resumable(False)

    #: the declared range of each numeric option (:mod:`physgen.constraints`)
    constraints: ClassVar[dict[str, Constraint]] = {
        **{key: Interval(int, 1, None) for key in ("batch_size", "log_every", "keep_last", "step_size",
                                                   "guard_every")},
        **{key: Interval(int, 0, None) for key in ("warmup_steps", "checkpoint_every", "preview_every",
                                                   "val_every", "max_retries")},
        "seed": Interval(int, 0, 2**63, closed="left"),
        "epochs": Interval(int, 0, None, none=True),
        "steps": Interval(int, 0, None, none=True),
        "checkpoint_interval": Interval(float, 0, None),
        "max_time": Interval(float, 0, None, closed="neither", none=True),
        "patience": Interval(float, 0, None, closed="neither", none=True),
        "lr": Interval(float, 0, None, closed="neither"),
        "group_lr": Each(Interval(float, 0, None, closed="neither")),
        "momentum": Interval(float, 0, 1, closed="left"),
        "betas": Satisfies(lambda b: len(b) == 2 and Each(Interval(float, 0, 1, closed="left")).accepts(b),
                           "two numbers in [0, 1)"),
        "weight_decay": Interval(float, 0, None),
        "gamma": Interval(float, 0, 1, closed="right"),
        "grad_clip": Interval(float, 0, None, closed="neither", none=True),
        "ema": Interval(float, 0, 1, closed="neither", none=True),
        "retry_lr_factor": Interval(float, 0, 1, closed="neither"),
        "device": Satisfies(lambda d: d == "auto" or d.split(":")[0] in ("cpu", "cuda", "mps"),
                            "auto | cpu | cuda | cuda:N | mps"),
    }

    def __post_init__(self) -> None:
        self.steps, self.epochs, self.max_time = dataclasses.astuple(Budget.of(self).completed())
        validate(self, "train")


#: the ``[train]`` keys a resumed run may change (the fields declared with :func:`resumable`)
RESUMABLE = frozenset(f.name for f in dataclasses.fields(TrainConfig) if f.metadata.get("resumable"))


@dataclass
class DataConfig:
    """How the dataset file becomes training tensors (the ``[data]`` section)."""

    # auto: standardize continuous (tabular) data, leave spins, binary and images untouched; config.toml
    # records the resolved choice
    transform: Transform = "auto"
    condition: str | None = None         # condition name (e.g. "temperature") or "labels"
    # training batches moved by random symmetries of a periodic spin lattice (physgen.training.augment)
    augment: Literal["none", "lattice"] = "none"
    val_fraction: float = 0.1            # held out (seeded by train.seed) for the quality probe and validation
    # memory for the training data: a file whose in-memory footprint exceeds it is streamed from disk in
    # shuffled chunks (docs/training.md); "auto" is half the available RAM, config.toml records the resolved size
    max_memory: str = "auto"

    constraints: ClassVar[dict[str, Constraint]] = {"val_fraction": Interval(float, 0, 1, closed="left")}

    def __post_init__(self) -> None:
        validate(self, "data")
        if str(self.max_memory).strip().lower() != "auto":
            from physgen.data.memory import parse_bytes

            parse_bytes(self.max_memory, "data.max_memory")


@dataclass
class RunConfig:
    """The full resolved configuration of one run (saved as ``config.toml``)."""

    model_name: str
    model: Any
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)
    #: the dotted keys (``model.n_hidden``) the user set in a config file, a ``--set`` or a flag; not saved.
    #: Conflicts between options are decided on this record, never by comparing a value with its default
    given: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "model": to_dict(self.model),
                "train": to_dict(self.train), "data": to_dict(self.data)}

    def to_toml(self) -> str:
        return dumps_toml(self.to_dict())


# --- dataclass <-> dict ------------------------------------------------------------------------
def to_dict(obj: Any) -> dict[str, Any]:
    """Dataclass -> plain dict of scalars/lists/dicts (tuples become lists)."""
    if not dataclasses.is_dataclass(obj):
        return dict(obj or {})
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _plain(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    return v


def from_dict(cls: type, values: Mapping[str, Any], section: str) -> Any:
    """Build dataclass ``cls`` from ``values``, coercing each to its declared type.

    Unknown keys raise ``UserError`` about those keys (``section.key``, listing the known ones); invalid values
    raise from the coercion or from ``cls.__post_init__``.
    """
    if not dataclasses.is_dataclass(cls):
        if values:
            raise UserError(f"[{section}]: this model takes no options (got {', '.join(values)})")
        return None
    try:
        hints = typing.get_type_hints(cls)
    except NameError as exc:  # a developer error (annotation names not importable), not a user error
        raise RuntimeError(f"{cls.__qualname__}: field annotations cannot be resolved ({exc})") from None
    values = renamed(cls, values, section)
    known = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = [k for k in values if k not in known]
    if unknown:
        raise UserError(f"not a key of [{section}]{' for this model' if section == 'model' else ''} "
                        f"(known: {', '.join(known)})", key="/".join(f"{section}.{k}" for k in unknown))
    kwargs = {k: coerce(v, hints[k], f"{section}.{k}") for k, v in values.items()}
    try:
        return cls(**kwargs)
    except UserError:
        raise
    except (TypeError, ValueError) as exc:
        raise UserError(f"[{section}]: {exc}") from None


# --- overrides and resolution ------------------------------------------------------------------
SECTIONS = ("model", "train", "data")


def parse_set(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``["model.n_hidden=64", "train.group_lr.d=1e-4"]`` -> nested dict of raw strings."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        if "=" not in item:
            raise UserError("expected section.key=value", key="sets", value=item)
        key, value = item.split("=", 1)
        parts = [p.strip() for p in key.strip().split(".")]
        if len(parts) < 2 or parts[0] not in SECTIONS or not all(parts):
            raise UserError(f"key must be section.key with section one of {', '.join(SECTIONS)}", key="sets", value=item)
        node = out.setdefault(parts[0], {})
        for p in parts[1:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise UserError(f"{key} conflicts with another --set", key="sets", value=item)
        node[parts[-1]] = value.strip()
    return out


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive dict merge: ``over`` wins; tables merge key by key."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def renamed(cls: type, values: Mapping[str, Any], section: str = "model", *, note: bool = True) -> dict[str, Any]:
    """``values`` with the earlier names of ``cls``'s keys (its ``renamed`` map: earlier -> current) replaced by
    the current ones; with ``note``, a one-line FutureWarning for each earlier name the user wrote.  Both
    names at once are refused."""
    out = dict(values)
    for old, new in getattr(cls, "renamed", {}).items():
        if old in out:
            if new in out:
                raise UserError(f"is the earlier name of {section}.{new}: give one of them", key=f"{section}.{old}")
            out[new] = out.pop(old)
            if note:
                warnings.warn(f"{section}.{old} is now called {section}.{new} (the earlier name still works)",
                              FutureWarning, stacklevel=3)
    return out


def as_saved(model_config_class: type, raw: Mapping[str, Any]) -> dict[str, Any]:
    """A run's saved config ``raw`` with its keys' earlier names replaced (:func:`renamed`) and the ``[model]``
    options it predates set to the values the code that wrote it used: the config class's ``predating`` map
    (option -> that value), for an option whose default has since changed."""
    before = getattr(model_config_class, "predating", {})
    model = renamed(model_config_class, raw.get("model", {}), note=False)
    return {**raw, "model": {**{k: v for k, v in before.items() if k not in model}, **model}}


def build_config(model_name: str, model_config_class: type, raw: Mapping[str, Any],
                 where: str = "config") -> RunConfig:
    """Validate a raw nested dict (TOML + overrides) into a :class:`RunConfig`."""
    unknown = [k for k in raw if k not in SECTIONS and k != "model_name"]
    if unknown:
        raise UserError(f"{where}: unknown section(s) {', '.join(unknown)} (known: model_name, {', '.join(SECTIONS)})")
    named = raw.get("model_name", model_name)
    if named != model_name:
        raise UserError(f"{where}: model_name is {named!r} but the command trains {model_name!r}")
    for s in SECTIONS:
        if not isinstance(raw.get(s, {}), Mapping):
            raise UserError(f"{where}: {s} must be a table [{s}]")
    return RunConfig(model_name, from_dict(model_config_class, raw.get("model", {}), "model"),
                     from_dict(TrainConfig, raw.get("train", {}), "train"),
                     from_dict(DataConfig, raw.get("data", {}), "data"))


def resolve(model_name: str, model_config_class: type, *, config_file: str | Path | None = None,
            sets: Sequence[str] = (), extra: Mapping[str, Any] | None = None,
            base: Mapping[str, Any] | None = None) -> RunConfig:
    """Defaults <- ``base`` (family defaults or a saved run) <- ``config_file`` <- ``--set`` items <- ``extra``
    (CLI flags), each layer's budget over the one below as :mod:`physgen.budget` says (:func:`stacked`)."""
    return resolve_layers(model_name, model_config_class, user_layers(config_file, sets, extra), base=base,
                          where=str(config_file) if config_file is not None else "config")


def user_layers(config_file: str | Path | None = None, sets: Sequence[str] = (),
                extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The user's layers read once, as one raw overlay: ``config_file`` <- ``--set`` items <- ``extra`` (the
    named options).  Its keys are what the user set (:func:`dotted_keys`)."""
    user = stacked(load_toml(config_file) if config_file is not None else {}, parse_set(sets))
    return stacked(user, extra or {})


def stacked(below: Mapping[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    """``layer`` merged over ``below``, a plan it gives replacing the budget below whole
    (:meth:`physgen.budget.Budget.over`)."""
    return merge(merge(dict(below), layer), Budget.over(layer))


def resolve_layers(model_name: str, model_config_class: type, user: Mapping[str, Any], *,
                   base: Mapping[str, Any] | None = None, where: str = "config") -> RunConfig:
    """The run config of the user's overlay ``user`` (:func:`user_layers`) over ``base``, recording the keys the
    user set (``given``)."""
    raw = stacked(base or {}, user)
    return dataclasses.replace(build_config(model_name, model_config_class, raw, where), given=dotted_keys(user))


def condition_of(user: Mapping[str, Any]) -> str | None:
    """``data.condition`` as the user's overlay sets it (None: not set, or set to none)."""
    data = user.get("data", {})
    value = data.get("condition") if isinstance(data, Mapping) else None
    return coerce(value, typing.get_type_hints(DataConfig)["condition"], "data.condition")


def dotted_keys(tables: Mapping[str, Any]) -> frozenset[str]:
    """``{"model": {"n_hidden": 8}}`` -> ``{"model.n_hidden"}``: the keys of a nested overlay, one level deep."""
    return frozenset(f"{section}.{key}" for section, values in tables.items() if isinstance(values, Mapping)
                     for key in values)
