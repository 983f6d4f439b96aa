"""Name -> model class, for ``physgen train NAME`` and ``physgen models``."""
from __future__ import annotations

import importlib
from typing import Any

from physgen.errors import UserError

# family modules imported on first use, so `physgen --help` stays fast
_FAMILIES = ("physgen.models.rbm", "physgen.models.vae", "physgen.models.gan",
             "physgen.models.ebm", "physgen.models.diffusion", "physgen.models.dbn")
_REGISTRY: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise RuntimeError(f"model name {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def _load_families() -> None:
    for module in _FAMILIES:
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)


def names() -> list[str]:
    _load_families()
    return sorted(_REGISTRY)


def get(name: str) -> type:
    _load_families()
    if name not in _REGISTRY:
        raise UserError(f"unknown model {name!r} (available: {', '.join(sorted(_REGISTRY)) or 'none'})")
    return _REGISTRY[name]


def build(name: str, config: Any, spec) -> Any:
    """Instantiate model ``name`` with a config dataclass instance (or a dict of its fields)."""
    cls = get(name)
    if isinstance(config, dict):
        config = cls.config_class(**config)
    return cls(config, spec)
