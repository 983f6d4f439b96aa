"""Input validation and small helpers of the RBM: unit type vs data, condition lookup, data-based init."""
from __future__ import annotations

import torch

from physgen.errors import UserError, as_written
from physgen.models.base import DataSpec, all_finite, on_grid
from physgen.models.rbm.symmetry import Translations

MAX_CONDITIONS = 64
# grey images on a grid k/N (DataSpec.levels): softmax units, one-hot over the N + 1 levels of each pixel; other
# grey images in [0, 1]: Bernoulli units whose data are the pixel intensities read as probabilities (the
# convention of the MNIST RBMs of Hinton & Salakhutdinov 2006), samples E[v | h] (RBM.sample).  Softmax units fit
# the digits' grid far better than Bernoulli or binomial ones: a binomial law reaches 16/16 only when σ(a + Wh) is
# within ~1% of 1 (benchmarks/records/rbm.md)
_AUTO = {"spins": "spin", "binary": "bernoulli", "continuous": "gaussian", "image": "bernoulli",
         "categorical": "softmax"}   # q-state (Potts) lattices: one softmax unit of q states per site
_FIX = {"spin": "model.visible=spin", "bernoulli": "model.visible=bernoulli",
        "gaussian": "model.visible=gaussian"}


def resolve_visible(visible: str, spec: DataSpec) -> str:
    """The visible unit type for data like ``spec``; refuses combinations that cannot be right."""
    kind = spec.kind
    if visible == "auto":
        return "softmax" if kind == "image" and spec.levels else _AUTO[kind]
    if kind == "categorical" and visible != "softmax":
        raise UserError(f"model.visible={visible}: the data are q-state lattices; use model.visible=softmax")
    if visible in ("binomial", "softmax") and not (kind == "image" and spec.levels) and kind != "categorical":
        raise UserError(f"model.visible={visible}: needs grey images whose pixels lie on a grid k/N "
                        f"(kind 'image') or q-state lattices; the data are {kind!r} without such a grid")
    if kind == "spins" and visible == "bernoulli":
        raise UserError("model.visible=bernoulli: the data are ±1 spins; use model.visible=spin")
    if kind == "binary" and visible == "spin":
        raise UserError("model.visible=spin: the data are {0,1} binary; use model.visible=bernoulli")
    if kind == "continuous" and visible != "gaussian":
        raise UserError(f"model.visible={visible}: the data are continuous; use model.visible=gaussian")
    return visible


def check_values(x: torch.Tensor, visible: str, kind: str = "binary", levels: int = 1) -> None:
    """Raise UserError (naming the fix) unless ``x`` suits the visible units: finite, {0,1} (grey images of
    ``kind`` ``image``: [0, 1]), ±1, on the grid k/N of binomial units (``levels`` = N), or for ``kind``
    ``categorical`` the states 0 … N."""
    if not all_finite(x):
        bad = int((~torch.isfinite(x)).sum())
        raise UserError(f"data: {bad} NaN/Inf values; clean the data file before training an RBM")
    if visible == "gaussian":
        return
    if kind == "categorical":
        if not bool(((x >= 0) & (x <= levels) & (x == x.round())).all()):
            raise UserError(f"data: q-state lattices must hold the states 0..{levels}")
        return
    if visible in ("binomial", "softmax"):
        if not on_grid(x, levels):
            raise UserError(f"data: {visible} units need pixels on the grid k/{levels} in [0, 1] (data.transform "
                            f"must be none); use {_FIX['bernoulli']} or {_FIX['gaussian']}")
        return

    def is01() -> bool:   # (each test is one pass over the data: run only where needed)
        return bool(((x >= 0) & (x <= 1)).all()) if kind == "image" else bool(((x == 0) | (x == 1)).all())

    def ispm() -> bool:
        return bool(((x == 1) | (x == -1)).all())

    if visible == "bernoulli" and not is01():
        fix = (f"use {_FIX['spin']}" if ispm()
               else f"binarize the data (e.g. physgen data digits --binarize) or {_FIX['gaussian']}")
        raise UserError(f"data: a Bernoulli RBM needs values in {{0,1}} (got values in "
                        f"[{float(x.min()):g}, {float(x.max()):g}]); {fix}")
    if visible == "spin" and not ispm():
        fix = _FIX["bernoulli"] if is01() else _FIX["gaussian"]
        raise UserError(f"data: a spin RBM needs values in {{-1,+1}} (got values in "
                        f"[{float(x.min()):g}, {float(x.max()):g}]); use {fix}")


def data_bias(v: torch.Tensor, visible: str, eps: float = 0.02) -> torch.Tensor:
    """Visible bias matching the data's marginals (Hinton 2012 guide, §8.1): ``logit p`` (Bernoulli, binomial),
    ``atanh m`` (spin), the mean (Gaussian); marginals clipped away from 0/1 by ``eps``."""
    mean = v.mean(0)
    if visible == "gaussian":
        return mean
    if visible == "softmax":   # log p_k of each level (one-hot groups), unseen levels at log 1e-3
        return torch.log(mean.clamp_min(1e-3))
    if visible == "spin":
        return torch.atanh(mean.clamp(-1 + 2 * eps, 1 - 2 * eps))
    p = mean.clamp(eps, 1 - eps)
    return torch.log(p) - torch.log1p(-p)


def condition_values(spec: DataSpec) -> list[float]:
    """Distinct condition values the run is conditioned on (labels 0..n-1), [] when unconditioned."""
    if spec.condition_names:
        if len(spec.condition_names) != 1:
            raise UserError("data.condition: the rbm supports one discrete condition")
        values = list(spec.condition_values[spec.condition_names[0]])
        if len(values) > MAX_CONDITIONS:
            raise UserError(f"data.condition={spec.condition_names[0]}: {len(values)} distinct values; the rbm trains "
                            f"one RBM per value and accepts at most {MAX_CONDITIONS}")
        return values
    if spec.n_labels:
        return [float(i) for i in range(spec.n_labels)]
    return []


def condition_key(spec: DataSpec) -> str:
    return spec.condition_names[0] if spec.condition_names else "labels"


def condition_index(spec: DataSpec, values: list[float], condition: dict[str, float] | None) -> int:
    """Index of ``condition`` among the trained values (relative tolerance 1e-6); UserError listing them."""
    if not values:
        if condition:
            raise UserError("this run was trained without conditions", key="condition", value=','.join(condition))
        return 0
    name = condition_key(spec)
    trained = ", ".join(f"{v:g}" for v in values)
    if not condition or (name not in condition and not (name == "labels" and "label" in condition)):
        raise UserError(f"this run is conditioned on {name}; pass {as_written('condition')} {name}=VALUE "
                        f"(trained: {trained})", key="condition")
    want = float(condition.get(name, condition.get("label")))
    for i, v in enumerate(values):
        if abs(v - want) <= 1e-6 * max(1.0, abs(v)):
            return i
    raise UserError(f"the run was trained on {name} = {trained} only", key="condition", value=f"{name}={want:g}")


def batch_index(spec: DataSpec, values: list[float], batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """``(B,)`` index of each row's condition value (from ``batch["cond"][:, 0]`` or ``batch["labels"]``)."""
    if spec.condition_names:
        if "cond" not in batch:
            raise UserError(f"data: this run is conditioned on {condition_key(spec)} but the batch has no conditions")
        c = batch["cond"].reshape(len(batch["cond"]), -1)[:, 0].double()
    else:
        c = batch["labels"].double()
    table = torch.tensor(values, dtype=torch.float64, device=c.device)
    dist = (c[:, None] - table[None]).abs()
    idx = dist.argmin(1)
    if bool((dist.min(1).values > 1e-6 * table.abs().clamp(min=1)[idx]).any()):
        raise UserError(f"data: condition values outside the trained set ({', '.join(f'{v:g}' for v in values)})")
    return idx


def translations(filters: int, spec: DataSpec, visible: str, size: int = 0) -> Translations | None:
    """The lattice's translation group for ``model.filters`` > 0 (None for 0); refuses units it does not fit."""
    if not filters:
        return None
    if visible not in ("spin", "bernoulli"):
        raise UserError(f"model.filters={filters}: translation-invariant weights need spin or Bernoulli visible units "
                        f"(visible={visible}); use model.filters=0")
    return Translations(spec.shape, filters, size)
