"""Samplers by name: the loops that turn a model's learned field into samples (``physgen sample --sampler NAME``,
``model.sampler``).

A family states what it learned and hands it over as a :class:`Problem`; the sampler it names owns the loop.
The family never branches on the sampler's name (the scheduler/pipeline split of diffusers, von Platen et
al. 2022).  What a family hands over is one of eight *fields*:

* ``vp-eps`` — ε̂(x, t), t ∈ {0, …, T − 1} int64, on a variance-preserving schedule: ``schedule`` is
  ᾱ ``(T,)`` float64 (``ddpm``);
* ``ve-score`` — ∇ log p_t(x), t ∈ (0, 1], on a variance-exploding SDE: ``schedule`` is the
  :class:`~physgen.samplers.ddpm.VESDE` (``score-sde``);
* ``velocity`` — v(x, t) carrying noise at t = 0 to data at t = 1, ``x0`` the noise (``flow-matching``);
* ``bipartite`` — an RBM's energy, block Gibbs and parallel tempering on it (``rbm``);
* ``energy`` — a log-density −E(x | c) and the chains' start ``x0``, Langevin or discrete moves (``ebm``)
  (:mod:`physgen.samplers.markov`);
* ``boltzmann`` — a model's proposal (draws with their log q) and a target e^{−βH}/Z as ``schedule``:
  Metropolis–Hastings chains or importance weights that make the draws exact (every family with a
  ``proposal``; :mod:`physgen.samplers.corrected`);
* ``psi-particles`` and ``psi-spins`` — a wave function ψ whose |ψ|² the walkers ``x0`` sample, particles in
  continuous space (``physgen vmc``) or spin configurations (``physgen nqs``) (:mod:`physgen.quantum.samplers`).
  These loops measure between sweeps, so each also gives its one-sweep ``kernel(settings)``.

A :class:`Sampler` has a ``name``, the ``field`` it consumes and ``run(problem, steps)`` returning the
samples in the model's space, ``(B, *shape)``; ``steps`` None means its default, read from the family's
settings.  Its ``options`` name the settings a user may change when sampling (``physgen sample --set
sampler.eta=0``, ``sample(eta=0)``): each option reads one key of the family's config, which holds its
default, type and range, and :func:`configure` applies them; a sampler whose settings are its own, not a
family's, names their dataclass as ``settings`` (the ``boltzmann`` samplers).  Samplers are found like the model families,
through the ``physgen.samplers`` entry-point group, one entry ``FIELD.NAME = "module:object"`` each
(:mod:`physgen.plugins`): a new sampler is one module plus one entry-point line, and every family with that
field can use it by name.  :func:`register` adds one in-process (tests, notebooks).
"""
from __future__ import annotations

import dataclasses
import functools
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from physgen import plugins
from physgen.errors import UserError

GROUP = "physgen.samplers"
FIELDS = ("vp-eps", "ve-score", "velocity", "bipartite", "energy", "boltzmann", "psi-particles", "psi-spins")


@dataclass(frozen=True)
class Problem:
    """What a family hands a sampler.

    ``field``: ``field(x (B, *shape), t (B,)) -> (B, *shape)`` for the three fields of a generative path, the
    ``BipartiteEnergy`` (``bipartite``) or ``log p(x) (C,)`` (``energy``); ``shape`` includes the batch;
    ``settings`` is the family's config with the call's overrides applied (a sampler reads its own keys from
    it, e.g. ``steps``, ``ddim_eta``, ``noise``); ``clip`` bounds x̂_0 for the VP samplers (a float, a
    (lo, hi) pair of tensors or None) and the states of the ``energy`` field; ``x0`` is the starting noise of
    the ``velocity`` field and the chains' start of the Markov fields (None: a random start); ``chains`` is
    the number of parallel chains (None: one per sample) and ``symmetric`` says the law is even under
    x → −x (a chain may then add the global flip)."""

    field: Callable
    shape: tuple[int, ...]
    generator: Any
    device: Any
    settings: Any
    schedule: Any = None
    clip: Any = None
    x0: Any = None
    chains: int | None = None
    symmetric: bool = False


@dataclass(frozen=True)
class Sampler:
    """A named sampler: ``run(problem, steps)`` -> samples ``(B, *shape)`` in the model's space (or a result that
    carries them with what the sampler measured).  ``options``: its option names -> the keys of the settings they
    set (``{"eta": "ddim_eta"}``), the family's config, or ``settings`` where the sampler has a dataclass of its
    own.  ``kernel(settings)``: one move of every chain, for loops that measure between moves (the walkers)."""

    name: str
    field: str
    run: Callable[[Problem, "int | None"], Any]
    description: str = ""
    aliases: tuple[str, ...] = field(default=())
    options: Mapping[str, str] = field(default_factory=dict, hash=False)
    settings: type | None = None
    kernel: Callable[[Any], Any] | None = None

    def __post_init__(self) -> None:
        if self.field not in FIELDS:
            raise ValueError(f"sampler {self.name!r}: field must be one of {', '.join(FIELDS)}, got {self.field!r}")


_REGISTRY: dict[tuple[str, str], Sampler] = {}


def register(sampler: Sampler) -> Sampler:
    """Make ``sampler`` (and its aliases) available to every family with its field."""
    for name in (sampler.name, *sampler.aliases):
        known = _REGISTRY.get((sampler.field, name))
        if known is not None and known is not sampler:
            raise RuntimeError(f"sampler {sampler.field}.{name} registered twice")
        _REGISTRY[(sampler.field, name)] = sampler
    return sampler


@functools.cache
def _entries() -> dict[tuple[str, str], str]:
    found = {**plugins.source_tree(GROUP), **plugins.installed(GROUP)}
    return {tuple(key.split(".", 1)): target for key, target in found.items() if "." in key}


def _load_all(field_name: str) -> None:
    for (f, name), target in _entries().items():
        if f == field_name and (f, name) not in _REGISTRY:
            obj = plugins.load(f"sampler {f}.{name}", target)
            if not isinstance(obj, Sampler) or (obj.field, obj.name) != (f, name):
                raise UserError(f"sampler {f}.{name}: its entry point {target!r} is not a Sampler named {name!r} "
                                f"for the field {f}")
            register(obj)


def declared(field_name: str) -> list[str]:
    """The samplers of ``field_name`` by their entry-point names and in-process registrations, sorted, without
    importing any (for a command line's choices at start-up)."""
    found = {name for (f, name) in _entries() if f == field_name}
    return sorted(found | {s.name for (f, _), s in _REGISTRY.items() if f == field_name})


def names(field_name: str) -> list[str]:
    """The samplers of ``field_name`` by their main names (aliases left out), sorted."""
    _load_all(field_name)
    return sorted({s.name for (f, _), s in _REGISTRY.items() if f == field_name})


def get(field_name: str, name: str, *, family: str = "") -> Sampler:
    """The sampler ``name`` for ``field_name``, or one UserError listing what ``family`` can use."""
    if (field_name, name) not in _REGISTRY:
        _load_all(field_name)
    try:
        return _REGISTRY[(field_name, name)]
    except KeyError:
        who = f"model {family!r}" if family else f"the field {field_name}"
        raise UserError(f"sampler={name}: {who} supports {', '.join(names(field_name))}") from None


def option(field_name: str, default: str) -> Any:
    """A config field choosing a sampler of ``field_name`` (``model.sampler``): its values are the registered
    samplers, checked by :func:`physgen.config.check_choices` like a ``Literal`` choice."""
    return dataclasses.field(default=default, metadata={"sampler_field": field_name})


def check(field_name: str, name: str, key: str) -> None:
    """A config's ``key`` (e.g. ``model.sampler``) names a sampler of ``field_name``, else a UserError naming it."""
    try:
        get(field_name, name)
    except UserError:
        raise UserError(f"{key}: {name!r} is not one of {' | '.join(names(field_name))}") from None


def configure(sampler: Sampler, settings: Any, options: Mapping[str, Any]) -> Any:
    """The family's ``settings`` (a config dataclass) with the sampler's ``options`` applied, for one call.

    Each option must be one of ``sampler.options``; its value (``--set`` text or a Python value) is coerced to
    the type of the setting it names and checked against that setting's declared range and choices.  A wrong
    one is one UserError keyed ``sampler.NAME``."""
    if not options:
        return settings
    from physgen.coerce import coerce
    from physgen.fields import declaration

    unknown = sorted(set(options) - set(sampler.options))
    if unknown:
        takes = f"takes {', '.join(sorted(sampler.options))}" if sampler.options else "takes no options"
        raise UserError(f"the {sampler.name} sampler {takes}", key=f"sampler.{unknown[0]}")
    hints = typing.get_type_hints(type(settings))
    values = {}
    for name, value in options.items():
        key, setting = f"sampler.{name}", sampler.options[name]
        values[setting] = coerce(value, hints[setting], key)
        span = declaration(type(settings), setting).range
        if span is not None and not span.accepts(values[setting]):
            raise UserError(f"must be {span.describe()}", key=key, value=value)
    return dataclasses.replace(settings, **values)


def options_table() -> str:
    """The Markdown table of every registered sampler's options (docs/diffusion.md holds it; a test compares)."""
    rows = ["| field | sampler | `--set sampler.KEY` (the setting whose value it replaces) |", "|---|---|---|"]
    for field_name in FIELDS:
        for name in names(field_name):
            sampler = get(field_name, name)
            own = sampler.settings and {f.name: f.default for f in dataclasses.fields(sampler.settings)}
            shown = ", ".join(f"`{k}` (default {own[v]})" if own else f"`{k}` (`model.{v}`)"
                              for k, v in sampler.options.items()) or "none"
            rows.append(f"| {field_name} | `{name}` | {shown} |")
    return "\n".join(rows)
