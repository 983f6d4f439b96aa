"""Name -> model class, for ``physgen train NAME`` and ``physgen models``."""
from __future__ import annotations

import importlib
from typing import Any

from physgen import memory
from physgen.errors import UserError

# family modules imported on first use, so `physgen --help` stays fast
_FAMILIES = ("physgen.models.rbm", "physgen.models.vae", "physgen.models.gan",
             "physgen.models.ebm", "physgen.models.diffusion", "physgen.models.dbn",
             "physgen.models.flow", "physgen.models.flow_matching")
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
    return instantiate(cls, config, spec)


def instantiate(cls: type, config: Any, spec) -> Any:
    """``cls(config, spec)`` once its parameters and buffers are known to fit in the memory available.

    The model is first built on PyTorch's ``meta`` device (shapes only: nothing is allocated and no random
    number is drawn) to add up its tensors' bytes, which :func:`physgen.memory.require` checks; a family
    whose constructor cannot run there skips the estimate.  An allocation that still fails is one
    :class:`UserError` naming the model, not a traceback."""
    nbytes = model_bytes(cls, config, spec)
    reduce = "choose a smaller network (the model.* sizes, e.g. n_hidden, hidden, channels, latent)"
    if nbytes is not None:
        memory.require(nbytes, what=f"model {cls.name}", reduce=reduce)
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
