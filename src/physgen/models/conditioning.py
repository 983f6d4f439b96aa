"""Condition vectors for the networks: :class:`Conditioner` turns a batch's conditions into ``c (B, dim)``.

Continuous physical parameters (``"cond" (B, k)``, e.g. the temperature) are mapped affinely from the trained
range [lo, hi] to [−1, 1], c = 2 (T − lo)/(hi − lo) − 1, or with ``cond_map = "energy"`` (:data:`CondMap`;
L×L spin lattices conditioned on temperature) through the exact energy per spin of the finite periodic
lattice, c = 2 (u_L(T) − u_L(lo))/(u_L(hi) − u_L(lo)) − 1 (Kaufman 1949, tabulated by :class:`EnergyMap`).
Labels (``"labels" (B,)``) become one-hot vectors or learned embeddings.  The networks concatenate ``c`` to
their inputs (conditional GAN/VAE: Mirza & Osindero 2014; Sohn, Lee & Yan 2015) or add a projection of it to an
embedding.  :meth:`Conditioner.for_sampling` broadcasts ``--condition`` values, or draws missing ones from the
values seen in training.

Every bad option or missing condition is a :class:`~physgen.errors.UserError`.
"""
from __future__ import annotations

import typing
from typing import Literal

import numpy as np
import torch
from torch import nn

from physgen.errors import UserError
from physgen.physics.kaufman import energy_per_spin


CondMap = Literal["linear", "energy"]   # Conditioner: how a continuous condition enters the networks
COND_MAPS = typing.get_args(CondMap)


class Conditioner(nn.Module):
    """Condition vector ``c`` of shape ``(B, dim)`` from a batch (or from ``--condition`` values).

    Continuous conditions are mapped affinely from the trained range ``[lo, hi]`` to ``[−1, 1]``
    (``c = 2 (T − lo)/(hi − lo) − 1``), so a smooth network interpolates between the trained
    temperatures and accepts any value in between.  With ``cond_map = "energy"`` (spin lattices
    conditioned on temperature) the temperature enters as the exact energy per spin of the finite
    periodic lattice, ``c = 2 (u_L(T) − u_L(lo))/(u_L(hi) − u_L(lo)) − 1`` (Kaufman 1949,
    :mod:`physgen.physics.kaufman`): near T_c the observables are much closer to linear in ``u`` than in
    ``T``, so interpolating between trained temperatures bends the way the physics does.  Labels
    become one-hot vectors (``label_dim = 0``) or learned embeddings of size ``label_dim``.
    """

    def __init__(self, spec, label_dim: int = 0, cond_map: str = "linear"):
        super().__init__()
        self.names = tuple(spec.condition_names)
        self.values = {k: tuple(v) for k, v in spec.condition_values.items()}
        if cond_map not in COND_MAPS:
            raise UserError(f"model.cond_map: {cond_map!r} is not one of {' | '.join(COND_MAPS)}")
        self.energy_map = EnergyMap(spec) if cond_map == "energy" else None
        lo = [self._feature_values(min(spec.condition_values[n])) for n in self.names]
        hi = [self._feature_values(max(spec.condition_values[n])) for n in self.names]
        self.register_buffer("lo", torch.tensor(lo, dtype=torch.float32), persistent=False)
        self.register_buffer("hi", torch.tensor(hi, dtype=torch.float32), persistent=False)
        self.n_labels = spec.n_labels
        self.embed = nn.Embedding(spec.n_labels, label_dim) if spec.n_labels and label_dim > 0 else None
        self.dim = len(self.names) + ((label_dim if label_dim > 0 else spec.n_labels) if spec.n_labels else 0)

    @property
    def active(self) -> bool:
        return self.dim > 0

    def forward(self, cond: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> torch.Tensor | None:
        """``cond (B, n_cond)`` raw physical values, ``labels (B,)`` -> ``(B, dim)`` or None when unconditioned."""
        parts = []
        if self.names:
            if cond is None:
                raise UserError(f"the model is conditioned on {', '.join(self.names)} but no condition was given")
            width = torch.where(self.hi > self.lo, self.hi - self.lo, torch.ones_like(self.hi))
            feature = cond.float() if self.energy_map is None else self.energy_map(cond.float())
            parts.append(2.0 * (feature - self.lo) / width - 1.0)
        if self.n_labels:
            if labels is None:
                raise UserError("the model is conditioned on labels but no labels were given")
            labels = labels.long()
            parts.append(self.embed(labels) if self.embed is not None
                         else nn.functional.one_hot(labels, self.n_labels).float())
        return torch.cat(parts, dim=1) if parts else None

    def _feature_values(self, value: float) -> float:
        return value if self.energy_map is None else float(self.energy_map.exact(value))

    def from_batch(self, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        if not self.active:
            return None
        return self(batch.get("cond"), batch.get("labels"))

    def for_sampling(self, n: int, condition: dict[str, float] | None, generator: torch.Generator
                     ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Raw ``(cond (n, k), labels (n,))`` for :meth:`sample`.

        Given values are broadcast; a missing one is drawn uniformly from the values seen in training
        (labels uniformly from ``0..n_labels−1``), i.e. the model samples its training mixture.
        """
        condition = dict(condition or {})
        unknown = set(condition) - set(self.names) - ({"labels", "label"} if self.n_labels else set())
        if unknown:
            have = ", ".join(self.names + (("labels",) if self.n_labels else ())) or "nothing"
            raise UserError(f"the run is conditioned on {have}", key="condition", value=sorted(unknown)[0])
        dev = self.lo.device
        cond = None
        if self.names:
            cols = []
            for name in self.names:
                if name in condition:
                    cols.append(torch.full((n,), float(condition[name])))
                else:
                    seen = torch.tensor(self.values[name], dtype=torch.float32)
                    idx = torch.randint(len(seen), (n,), generator=_cpu(generator))
                    cols.append(seen[idx])
            cond = torch.stack(cols, 1).to(dev)
        labels = None
        if self.n_labels:
            value = condition.get("labels", condition.get("label"))
            if value is None:
                labels = torch.randint(self.n_labels, (n,), generator=_cpu(generator)).to(dev)
            else:
                if not float(value).is_integer() or not 0 <= int(value) < self.n_labels:
                    raise UserError(f"expected an integer in 0..{self.n_labels - 1}",
                                    key="condition", value=f"labels={value}")
                labels = torch.full((n,), int(value), dtype=torch.long, device=dev)
        return cond, labels


class EnergyMap(nn.Module):
    """``T -> u_L(T)``, the exact energy per spin of the ``L × L'`` periodic Ising lattice at J = 1
    (:func:`physgen.physics.kaufman.energy_per_spin`), tabulated once on ``P`` temperatures spanning
    ``[lo/2, 2 hi]`` and interpolated linearly on the model's device (error < 10⁻⁵ at L = 16; values
    beyond the table are clamped to its ends).  ``(...,) -> (...,)``."""

    def __init__(self, spec, points: int = 4097):
        super().__init__()
        names, shape = tuple(spec.condition_names), tuple(spec.shape)
        if spec.kind != "spins" or len(shape) != 2 or names != ("temperature",):
            raise UserError("model.cond_map=energy: needs L×L spin lattices conditioned on temperature alone "
                            f"(data.condition=temperature); the run has {spec.kind!r} data of shape {shape} "
                            f"conditioned on {', '.join(names) or 'nothing'}")
        values = spec.condition_values["temperature"]
        self.shape = shape
        grid = np.linspace(min(values) / 2, 2 * max(values), points)
        self.register_buffer("t", torch.tensor(grid, dtype=torch.float32), persistent=False)
        self.register_buffer("u", torch.tensor(self.exact(grid), dtype=torch.float32), persistent=False)

    def exact(self, T):
        return energy_per_spin(self.shape[0], T, cols=self.shape[1])

    def forward(self, T: torch.Tensor) -> torch.Tensor:
        t, u = self.t, self.u
        i = torch.searchsorted(t, T.contiguous()).clamp_(1, len(t) - 1)
        frac = ((T - t[i - 1]) / (t[i] - t[i - 1])).clamp_(0.0, 1.0)
        return u[i - 1] + frac * (u[i] - u[i - 1])


def _cpu(generator: torch.Generator) -> torch.Generator | None:
    """The generator when it lives on the CPU (index draws are made on the CPU), else None."""
    return generator if generator is not None and generator.device.type == "cpu" else None
