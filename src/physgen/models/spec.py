"""What a model knows of its training data: :class:`DataSpec` (saved with every run as JSON), and checks of
data values (finite, on a grey-level grid)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from physgen.errors import UserError


@dataclass(frozen=True)
class DataSpec:
    """What a model needs to know about its training data (saved with the run as JSON)."""

    kind: str
    shape: tuple[int, ...]
    feature_names: tuple[str, ...] | None = None
    condition_names: tuple[str, ...] = ()
    condition_values: dict[str, tuple[float, ...]] = field(default_factory=dict)  # distinct values seen
    n_labels: int | None = None
    levels: int | None = None   # grey images whose pixels all lie on the grid {k/N, k = 0..N}: N (digits: 16)
    n_states: int | None = None   # categorical data: the number of states q (values 0 … q−1)

    @classmethod
    def from_dataset(cls, ds, condition: str | None = None) -> "DataSpec":
        """Spec of a :class:`physgen.data.Dataset`; ``condition`` is a condition name or ``"labels"``."""
        names: tuple[str, ...] = ()
        values: dict[str, tuple[float, ...]] = {}
        n_labels = None
        if condition == "labels":
            if ds.labels is None:
                raise UserError("data.condition=labels: the data file has no /labels")
            n_labels = int(ds.labels.max()) + 1
        elif condition is not None:
            if condition not in ds.conditions:
                have = ", ".join(sorted(ds.conditions)) or "none"
                raise UserError(f"data.condition={condition}: the data file has no /conditions/{condition} (it has: {have})")
            names = (condition,)
            values = {condition: tuple(float(v) for v in np.unique(ds.conditions[condition]))}
        fn = ds.feature_names
        samples = getattr(ds, "samples", None)
        levels = grey_grid(samples) if ds.kind == "image" and isinstance(samples, np.ndarray) else None
        n_states = int(ds.attrs["n_states"]) if ds.kind == "categorical" else None
        return cls(ds.kind, tuple(ds.shape), tuple(fn) if fn else None, names, values, n_labels, levels, n_states)

    @property
    def n_features(self) -> int:
        return int(np.prod(self.shape))

    def condition_range(self, name: str) -> tuple[float, float]:
        vals = self.condition_values[name]
        return min(vals), max(vals)

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["shape"] = list(self.shape)
        if self.n_states is None:
            del d["n_states"]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "DataSpec":
        return cls(d["kind"], tuple(d["shape"]), tuple(d["feature_names"]) if d.get("feature_names") else None,
                   tuple(d.get("condition_names", ())),
                   {k: tuple(v) for k, v in d.get("condition_values", {}).items()}, d.get("n_labels"),
                   d.get("levels"), d.get("n_states"))


def grey_grid(x: np.ndarray, max_steps: int = 255) -> int | None:
    """The smallest ``N <= max_steps`` with every value of ``x`` on the grid ``{k/N : k = 0..N}`` (to 1e-5;
    the 8×8 digits, stored as pixel/16: 16), or None: the levels that the RBM's softmax and binomial units and
    the VAE's categorical and binomial likelihoods model."""
    values = np.unique(x)
    if len(values) > max_steps + 1 or values[0] < 0 or values[-1] > 1:
        return None
    for n in range(1, max_steps + 1):
        if np.abs(values * n - np.round(values * n)).max() <= 1e-5 * n:
            return n
    return None


def all_finite(x: torch.Tensor) -> bool:
    """No NaN/Inf in ``x`` (empty: True), from its minimum and maximum: one pass, and a NaN reaches both."""
    return x.numel() == 0 or bool(torch.isfinite(torch.stack(torch.aminmax(x))).all())


def on_grid(x: torch.Tensor, levels: int) -> bool:
    """Whether every value of ``x`` is one of the grey levels ``k/N``, ``k = 0..N`` (``N`` = ``levels``)."""
    n = x * levels
    return bool(((x >= 0) & (x <= 1)).all()) and float((n - n.round()).abs().max()) <= 1e-4 * levels
