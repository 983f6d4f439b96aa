"""Name -> model class, for ``physgen train NAME`` and ``physgen models``.

Families are found through the ``physgen.models`` entry-point group (PEP 621
``[project.entry-points."physgen.models"]``): each entry names a model and the class that implements it,
``NAME = "package.module:Class"``.  physgen declares its own families there, and any installed package can
add one the same way: it then appears in ``physgen models`` and trains with ``physgen train NAME``.  A class
may also be registered in-process with :func:`register` (tests, notebooks).  Entry points are loaded on first
use of a name, so ``physgen --help`` imports no family.  Where physgen runs from a source tree that was never
installed (no distribution metadata), its own families are read from that tree's ``pyproject.toml``: a family is
one module plus one entry-point line.
"""
from __future__ import annotations

import functools
from importlib import metadata  # noqa: F401  (tests replace metadata.distribution through this name)
from typing import Any

from physgen import memory_guard, plugins
from physgen.errors import UserError

GROUP = "physgen.models"
_REGISTRY: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise RuntimeError(f"model name {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def entry_points() -> dict[str, str]:
    """Model name -> ``"module:Class"`` of every installed ``physgen.models`` entry point, plus physgen's own
    from its source tree's ``pyproject.toml`` where physgen was never installed (:func:`source_tree_families`)."""
    return {**source_tree_families(), **plugins.installed(GROUP)}


@functools.cache
def source_tree_families() -> dict[str, str]:
    """physgen's own families read from ``pyproject.toml`` beside ``src/`` when its distribution metadata is
    absent (a source tree on ``sys.path``, never installed); empty when physgen is installed."""
    return plugins.source_tree(GROUP)


def _load(name: str, target: str) -> type:
    """Import ``module:Class`` and register the class under ``name``; a broken plug-in is one clear error."""
    obj = plugins.load_named(f"model {name!r}", name, target)
    return register(obj) if _REGISTRY.get(name) is not obj else obj


def names() -> list[str]:
    return sorted(set(entry_points()) | set(_REGISTRY))


def get(name: str) -> type:
    if name not in _REGISTRY:
        target = entry_points().get(name)
        if target is None:
            raise UserError(f"unknown model {name!r} (available: {', '.join(names()) or 'none'})")
        return _load(name, target)
    return _REGISTRY[name]


def build(name: str, config: Any, spec) -> Any:
    """Instantiate model ``name`` with a config dataclass instance (or a dict of its fields)."""
    cls = get(name)
    if isinstance(config, dict):
        config = cls.config_class(**config)
    return instantiate(cls, config, spec)


def instantiate(cls: type, config: Any, spec, *, nbytes: int | None = None) -> Any:
    """``cls(config, spec)`` once its parameters and buffers are known to fit in the memory available.

    ``nbytes``: their size when the caller knows it (a checkpoint's tensors).  Otherwise the model is first
    built on PyTorch's ``meta`` device (shapes only: nothing is allocated and no random number is drawn) to
    add up its tensors' bytes; :func:`physgen.memory_guard.require` checks them.  A family whose constructor
    cannot run there skips the estimate.  An allocation that still fails is one
    :class:`UserError` naming the model, not a traceback."""
    if nbytes is None:
        nbytes = model_bytes(cls, config, spec)
    reduce = "choose a smaller network (the model.* sizes, e.g. n_hidden, hidden, channels, latent)"
    if nbytes is not None:
        memory_guard.require(nbytes, what=f"model {cls.name}", reduce=reduce)
    try:
        return cls(config, spec)
    except MemoryError:
        raise UserError(f"model {cls.name}: out of memory while building it; {reduce}") from None
    except RuntimeError as exc:
        if "allocate" not in str(exc):
            raise
        raise UserError(f"model {cls.name}: {str(exc).splitlines()[0][:200]}; {reduce}") from None


def model_bytes(cls: type, config: Any, spec) -> int | None:
    """Bytes of the parameters and buffers of ``cls(config, spec)``, from a build on the meta device; None
    when the constructor cannot run there."""
    import torch

    try:
        with torch.device("meta"):
            model = cls(config, spec)
    except UserError:
        raise
    except Exception:  # a constructor that reads tensor values (numpy, .item()) cannot run on meta
        return None
    tensors = [*model.parameters(), *model.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)
