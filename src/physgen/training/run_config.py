"""A run's configuration: the family's defaults for the data, under the user's layers (``--config``, ``--set``,
flags), for a fresh run; the saved ``config.toml`` under the user's resumable changes, for a resumed one.
Precedence: family defaults <- ``--config`` <- ``--set`` <- flags (:func:`physgen.config.resolve`)."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from physgen import config as C
from physgen.budget import Budget
from physgen.data.memory import resolve_max_memory
from physgen.data.transforms import resolve_transform
from physgen.errors import UserError, as_written
from physgen.models.base import DataSpec, overlay
from physgen.paths import as_path
from physgen.training import rundir as R
from physgen.training.checkpoint import latest
from physgen.train_options import layer


def fresh_config(model_name, cls, ds, config_file, sets, flags, *, hamiltonian: bool = False) -> C.RunConfig:
    """Family defaults for this data (``cls.defaults(spec)``, for a run on a Hamiltonian with the family's
    ``hamiltonian_defaults`` over them and its ``hamiltonian_size_defaults`` of smaller sizes than the lattice's
    over those, and for a lattice model other than the Ising ferromagnet its
    ``lattice_model_defaults`` over those, and for a q-state model its ``q_state_model_defaults`` over all; for data
    of a spin glass its ``quenched_data_defaults``) <- ``--config``
    <- ``--set`` <- flags.  The user's layers are read once (:func:`physgen.config.user_layers`); the data spec
    takes its condition from them.
    ``data.transform = "auto"`` is resolved for the data's kind; the ``[model]`` choices once the data are read
    (:func:`resolved`)."""
    user = C.user_layers(config_file, sets, layer(**flags))
    spec = DataSpec.from_dataset(ds, C.condition_of(user))
    defaults = cls.defaults(spec)
    if hamiltonian:
        defaults = overlay(defaults, cls.hamiltonian_defaults)
        for sites, extra in sorted(cls.hamiltonian_size_defaults.items()):
            if spec.n_features > sites:
                defaults = overlay(defaults, extra)
        if ds.attrs.get("hamiltonian", "ising") != "ising":
            defaults = overlay(defaults, getattr(cls, "lattice_model_defaults", {}))
        if spec.kind == "categorical":
            defaults = overlay(defaults, getattr(cls, "q_state_model_defaults", {}))
    elif _quenched(ds.attrs):
        defaults = overlay(defaults, getattr(cls, "quenched_data_defaults", {}))
    base = yield_to_user(cls, defaults, C.dotted_keys(user))
    cfg = C.resolve_layers(model_name, cls.config_class, user, base=base,
                           where=str(config_file) if config_file is not None else "config")
    cls.check_given(cfg.model, cfg.given)
    cfg.data.transform = resolve_transform(cfg.data.transform, spec.kind, spec.n_features)  # config.toml records it
    cfg.data.max_memory = resolve_max_memory(cfg.data.max_memory)          # and the memory limit
    return cfg


def resolved(cls, cfg: C.RunConfig, spec: DataSpec) -> C.RunConfig:
    """``cfg`` with its ``[model]`` choices resolved for data like ``spec`` by the family
    (:meth:`~physgen.models.base.GenerativeModel.resolve`): ``config.toml`` records the concrete choices."""
    cls.check_kind(spec)
    return dataclasses.replace(cfg, model=cls.resolve(cfg.model, spec))


def yield_to_user(cls, defaults: dict[str, Any], given: frozenset[str]) -> dict[str, Any]:
    """The family ``defaults`` without the values that contradict a ``[model]`` key the user set (``given``,
    dotted keys; ``cls.default_conflicts``: bare names are ``[model]`` keys, ``section.key`` another section's),
    unless the user set those too.  A dropped value falls back to the family's kind-independent
    ``default_config``."""
    out = {section: dict(values) if isinstance(values, dict) else values for section, values in defaults.items()}
    for key in sorted(k.partition(".")[2] for k in given if k.startswith("model.")):
        for dropped in cls.default_conflicts.get(key, ()):
            section, _, name = dropped.rpartition(".")
            section = section or "model"
            if f"{section}.{name}" in given or not isinstance(out.get(section), dict):
                continue
            base = (cls.default_config or {}).get(section, {})
            if name in base:
                out[section][name] = base[name]
            else:
                out[section].pop(name, None)
    return out


def resume_config(model_name, cls, out: Path, data, config_file, sets, flags):
    R.require_run_dir(out)
    if latest(out / R.CHECKPOINTS) is None:
        raise UserError(f"{out}: has no checkpoint to resume from")
    saved = C.load_toml(out / R.CONFIG)
    if saved.get("model_name") != model_name:
        raise UserError(f"{out}: is a run of model {saved.get('model_name')!r}, not {model_name!r}")
    saved = C.as_saved(cls.config_class, saved)
    before = C.build_config(model_name, cls.config_class, saved, str(out / R.CONFIG))
    saved = Budget.of(before.train).resumed(saved)   # `--resume` alone finishes the plan
    cfg = C.resolve(model_name, cls.config_class, base=saved, config_file=config_file, sets=sets,
                    extra=layer(**flags))
    spec = DataSpec.from_json(R.read_json(out / R.SPEC))   # a run saved with "auto" choices compares resolved
    check_resume_changes(resolved(cls, before, spec), resolved(cls, cfg, spec))
    prev = R.read_json(out / R.SUMMARY)
    data_path = as_path(data) if data is not None else Path(str(prev.get("data", "")))
    if data is None and not data_path.is_file() and (out / R.HAMILTONIAN).is_file():   # a moved Hamiltonian run
        data_path = out / R.HAMILTONIAN
    if data is None and not data_path.is_file():
        raise UserError(f"the run's data file {data_path} is gone; pass {as_written('data')} FILE", key="data")
    return cfg, data_path, prev


def check_resume_changes(before: C.RunConfig, after: C.RunConfig) -> None:
    old, new = before.to_dict(), after.to_dict()
    for section in ("model", "data", "train"):
        for key, value in new[section].items():
            if old[section].get(key) != value and not (section == "train" and key in C.RESUMABLE):
                raise UserError(f"cannot change {section}.{key} of an existing run "
                                f"({old[section].get(key)!r} -> {value!r}); start a new run instead", key="resume")


def _quenched(attrs: dict) -> bool:
    """Whether data come from a lattice model with quenched couplings (a spin glass), whose instance breaks
    every translation: families then drop weights shared across the lattice (``quenched_data_defaults``)."""
    name = attrs.get("hamiltonian", "ising")
    if name == "ising":
        return False
    from physgen.lattice import registry

    try:
        return bool(registry.get(str(name)).quenched)
    except UserError:
        return False
