"""The built-in search space of each family, centred on the config ``physgen train`` would use.

For model ``cls`` on data described by ``spec`` the effective defaults are resolved first (the family's
:meth:`~physgen.models.base.GenerativeModel.defaults` overlay over the config dataclasses), then:

* ``train.lr``: log-uniform over one decade either side of the default, ``[lr/10, 10 lr]``;
* ``train.batch_size``: half, the default and double (capped at the training-set size);
* the size keys of the network the config builds (hidden units, latent dimension, layer widths):
  half, the default and double, every layer scaled together.

A family declares its size keys per network kind on its class
(:attr:`~physgen.models.base.GenerativeModel.size_keys`, :meth:`~physgen.models.base.GenerativeModel.network_kind`);
only keys that exist in the model's config dataclass are used, so a family whose config changes never gets a
space naming a missing key.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from physgen import config as C
from physgen.models.base import DataSpec
from physgen.tune.space import Param, Space


def effective_config(cls, spec: DataSpec) -> C.RunConfig:
    """What ``physgen train`` resolves for ``cls`` on ``spec`` without user settings."""
    return C.resolve(cls.name, cls.config_class, base=cls.defaults(spec))


def default_space(cls, spec: DataSpec, n_train: int | None = None) -> Space:
    """The built-in :class:`Space` of model class ``cls`` for data ``spec`` (``n_train`` caps the batch)."""
    cfg = effective_config(cls, spec)
    lr, batch = cfg.train.lr, cfg.train.batch_size
    params = [Param("train.lr", "float", lr / 10, lr * 10, log=True)]
    batches = sorted({b for b in (max(1, batch // 2), batch, 2 * batch) if n_train is None or b <= n_train} | {batch})
    if len(batches) > 1:
        params.append(Param("train.batch_size", "categorical", choices=tuple(batches)))
    for key in size_keys(cls, cfg.model, spec):
        choices = _scaled(getattr(cfg.model, key))
        if len(choices) > 1:
            params.append(Param(f"model.{key}", "categorical", choices=choices))
    return Space(tuple(params))


def size_keys(cls, model_config: Any, spec: DataSpec) -> tuple[str, ...]:
    """The size keys of the network ``model_config`` builds for ``spec`` (the family's
    :meth:`~physgen.models.base.GenerativeModel.search_size_keys`) that the dataclass has."""
    if not dataclasses.is_dataclass(model_config):
        return ()
    fields = {f.name for f in dataclasses.fields(model_config)}
    return tuple(k for k in cls.search_size_keys(model_config, spec) if k in fields)


def _scaled(value: Any) -> tuple:
    """Half, the value and double (every element of a tuple scaled together), distinct and >= 1."""
    def scale(f: float):
        if isinstance(value, (list, tuple)):
            return tuple(max(1, int(v * f)) for v in value)
        return max(1, int(value * f))
    if not (isinstance(value, int) or (isinstance(value, (list, tuple)) and value
                                       and all(isinstance(v, int) for v in value))):
        return ()
    return tuple(dict.fromkeys(scale(f) for f in (0.5, 1.0, 2.0)))
