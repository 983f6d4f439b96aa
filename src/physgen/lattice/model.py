"""The lattice model: one object that holds a Hamiltonian's couplings, lattice and state space.

An L×L lattice with sites ``(i, j)`` (row i, column j) carries three bond directions, each a coupling array of
shape ``(L, L)`` aligned to the bond's first site:

- ``jx[i, j]`` couples ``(i, j)`` to ``(i, j+1 mod L)`` (along a row);
- ``jy[i, j]`` couples ``(i, j)`` to ``(i+1 mod L, j)`` (along a column);
- ``jd[i, j]`` couples ``(i, j)`` to ``(i+1 mod L, j−1 mod L)`` (the third bond of the triangular lattice; None on
  the square lattice).

Open boundaries are the same arrays with the wrapping bonds set to zero, so the energy, the local energy change
and the transfer matrix need no second code path.  With the state space's bond function ``b`` and site function
``a`` (:mod:`physgen.lattice.space`) the energy of a configuration is

    E(s) = Σ_ij [ jx_ij b(s_ij, s_i,j+1) + jy_ij b(s_ij, s_i+1,j) + jd_ij b(s_ij, s_i+1,j−1) ] + h Σ_ij a(s_ij).

A model family (Ising, Potts, the Edwards–Anderson glass, …) is a subclass of :class:`LatticeModel` that declares
its parameters, its state space, how its couplings follow from the parameters, its observables and its classical
samplers (:mod:`physgen.lattice.registry` finds the families).  Newman & Barkema, *Monte Carlo Methods in
Statistical Physics* (1999), ch. 3–4, for the conventions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from physgen.errors import UserError
from physgen.lattice.space import Spins, States

BOUNDARIES = ("periodic", "open")
# bond direction -> (di, dj) from a bond's first site to its second
DIRECTIONS = {"jx": (0, 1), "jy": (1, 0), "jd": (1, -1)}


@dataclass(frozen=True)
class Param:
    """A scalar parameter of a model: its default, type (``int`` or ``float``), smallest value (None: any) and a
    line of help."""

    default: float
    kind: type = float
    low: float | None = None
    help: str = ""

    def check(self, model: str, key: str, value: Any) -> float:
        """``value`` (a number or its text) converted to ``kind``; a UserError naming ``key`` otherwise."""
        try:
            number = float(value)
            if self.kind is int:
                if not number.is_integer():
                    raise ValueError
                number = int(number)
        except (TypeError, ValueError):
            kind = "an integer" if self.kind is int else "a number"
            raise UserError(f"{model}: parameter {key}={value!r} is not {kind}") from None
        if not math.isfinite(number):
            raise UserError(f"{model}: parameter {key}={value!r} must be finite")
        if self.low is not None and number < self.low:
            raise UserError(f"{model}: parameter {key}={value} must be >= {self.low:g}")
        return number


def roll(x, di: int, dj: int):
    """``x[..., i + di, j + dj]`` at ``[..., i, j]`` (periodic), for NumPy arrays and torch tensors."""
    if isinstance(x, np.ndarray):
        return np.roll(x, (-di, -dj), (-2, -1))
    return x.roll((-di, -dj), (-2, -1))


class LatticeModel:
    """A Hamiltonian on an L×L lattice (see the module docstring).

    Class attributes a family declares: ``name``; ``params`` (key -> :class:`Param`); ``triangular`` (whether it
    has the third bond); ``quenched`` (couplings drawn from a disorder seed and stored in files);
    ``algorithms`` (its classical samplers, Metropolis first); ``symmetry`` (the spatial symmetries of its
    ensemble); ``summary`` (one line).  Instance attributes:
    ``size``, ``boundary``, ``values`` (the checked parameters), ``space``, ``couplings`` (direction -> ``(L, L)``
    float64) and ``h``.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    params: ClassVar[dict[str, Param]] = {}
    triangular: ClassVar[bool] = False
    quenched: ClassVar[bool] = False
    algorithms: ClassVar[tuple[str, ...]] = ("metropolis", "tempering")
    #: the lattice's symmetries for training batches (physgen.training.augment): "square" (translations and the
    #: square's rotations and reflections), "inversion" (translations and r -> -r), "none"
    symmetry: ClassVar[str] = "square"

    def __init__(self, size: int, *, boundary: str = "periodic", params: dict[str, Any] | None = None,
                 couplings: dict[str, np.ndarray] | None = None, disorder: str | None = None,
                 disorder_seed: int | None = None):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 2:
            raise UserError(f"{self.name}: size must be an integer >= 2, got {size!r}")
        if boundary not in BOUNDARIES:
            raise UserError(f"{self.name}: boundary must be one of {', '.join(BOUNDARIES)}, got {boundary!r}")
        self.size, self.boundary = int(size), boundary
        self.values = self.check_params(params or {})
        if (disorder is not None or disorder_seed is not None or couplings is not None) and not self.quenched:
            raise UserError(f"{self.name} has no quenched couplings (models with them: "
                            f"{', '.join(quenched_names()) or 'none'})", key="disorder")
        self.space = self.make_space()
        self.disorder = (disorder or "pm") if self.quenched else None
        self.disorder_seed = (0 if disorder_seed is None else int(disorder_seed)) if self.quenched else None
        base = couplings if couplings is not None else self.make_couplings(disorder, disorder_seed)
        self.couplings = {k: self._checked(k, v) for k, v in base.items()}
        mask = self.boundary_mask()
        self.active = {k: self.couplings[k] * mask[k] for k in self.couplings}
        self.h = float(self.values.get("h", 0.0))

    # --- what a family declares -----------------------------------------------------------------------------
    def make_space(self):
        return Spins()

    def make_couplings(self, disorder: str | None, seed: int | None) -> dict[str, np.ndarray]:
        """Direction -> coupling array ``(L, L)``: uniform ``J`` by default."""
        J = float(self.values.get("J", 1.0))
        keys = ("jx", "jy", "jd") if self.triangular else ("jx", "jy")
        return {k: np.full((self.size, self.size), J) for k in keys}

    def critical_temperature(self) -> float | None:
        """The infinite lattice's transition temperature where one is known exactly, else None."""
        return None

    def order_parameter(self, x: np.ndarray) -> np.ndarray:
        """``(n,)`` per sample: |m| for spins (override for other orders)."""
        return np.abs(x.reshape(len(x), -1).astype(np.float64).mean(1))

    order_name: ClassVar[str] = "abs_magnetization"

    def exact(self, temperature: float) -> dict | None:
        """The finite lattice's exact values per site at ``temperature`` (``method``, ``free_energy``,
        ``energy``, ``entropy``, ``specific_heat``): the transfer matrix (:mod:`physgen.lattice.transfer`), or None
        beyond its size."""
        from physgen.lattice import transfer

        return transfer.exact_values(self, temperature)

    def reference_method(self) -> str | None:
        """The name of the method :meth:`exact` uses on this lattice, or None where it has none."""
        from physgen.lattice import transfer

        return "transfer matrix" if transfer.entries(self) <= transfer.MAX_ENTRIES else None

    def infinite_lattice(self, temperature: float) -> dict | None:
        """The infinite lattice's exact values per site at ``temperature`` where they are known, else None."""
        return None

    # --- derived ---------------------------------------------------------------------------------------------
    @classmethod
    def check_params(cls, given: dict[str, Any]) -> dict[str, float]:
        unknown = sorted(set(given) - set(cls.params))
        if unknown:
            known = ", ".join(sorted(cls.params)) or "none"
            raise UserError(f"{cls.name}: has no parameter {unknown[0]!r} (its parameters: {known})")
        return {k: p.check(cls.name, k, given.get(k, p.default)) for k, p in cls.params.items()}

    @property
    def n_sites(self) -> int:
        return self.size * self.size

    @property
    def shape(self) -> tuple[int, int]:
        return (self.size, self.size)

    def _checked(self, key: str, value: np.ndarray) -> np.ndarray:
        value = np.asarray(value, dtype=np.float64)
        if value.shape != self.shape:
            raise UserError(f"{self.name}: coupling {key} has shape {value.shape}, expected {self.shape}")
        if not np.all(np.isfinite(value)):
            raise UserError(f"{self.name}: coupling {key} has non-finite values")
        return value

    def boundary_mask(self) -> dict[str, np.ndarray]:
        """Direction -> ``(L, L)`` 1/0: 0 where a bond wraps around an open boundary."""
        L = self.size
        out = {}
        for key in self.couplings:
            di, dj = DIRECTIONS[key]
            m = np.ones(self.shape)
            if self.boundary == "open":
                i, j = np.indices(self.shape)
                m[(i + di >= L) | (j + dj >= L) | (j + dj < 0)] = 0.0
            out[key] = m
        return out

    def energy(self, x):
        """Total energy ``(...)`` of configurations ``x (..., L, L)`` (state values; NumPy or torch)."""
        e = 0.0
        for key, J in self.active.items():
            e = e + (self._like(x, J) * self.space.bond(x, roll(x, *DIRECTIONS[key]))).sum((-2, -1))
        if self.h:
            e = e + self.h * self.space.site(x).sum((-2, -1))
        extra = self.potential(x)
        return e if extra is None else e + extra.sum((-2, -1))

    def potential(self, x):
        """``(..., L, L)``: a site term of the energy beyond h a(s) (the φ⁴ potential), None by default."""
        return None

    def neighbours(self) -> list[tuple[int, int, np.ndarray]]:
        """Every site's neighbours: ``(di, dj, J)`` with ``J[i, j]`` the coupling of ``(i, j)`` to
        ``(i + di, j + dj)`` (each bond appears twice, once from each end)."""
        out = []
        for key, J in self.active.items():
            di, dj = DIRECTIONS[key]
            out.append((di, dj, J))
            out.append((-di, -dj, np.roll(J, (di, dj), (0, 1))))
        return out

    def local_energy(self, x: np.ndarray, v: np.ndarray) -> np.ndarray:
        """``(..., L, L)``: the energy of the bonds and the field at each site if it held ``v`` while its
        neighbours keep their values in ``x``; ``local_energy(x, v') − local_energy(x, x)`` is the energy change
        of setting one site to ``v'``."""
        e = self.h * self.space.site(v) if self.h else 0.0
        extra = self.potential(v)
        e = e if extra is None else e + extra
        for di, dj, J in self.neighbours():
            e = e + J * self.space.bond(v, roll(x, di, dj))
        return e

    def colouring(self) -> np.ndarray:
        """``(L, L)`` int: a proper colouring of the bond graph (no two coupled sites share a colour), greedy in
        row-major order; sites of one colour can be updated at once."""
        L = self.size
        colour = -np.ones(self.shape, dtype=np.int64)
        neighbours = self.neighbours()
        for i in range(L):
            for j in range(L):
                taken = {colour[(i + di) % L, (j + dj) % L] for di, dj, J in neighbours if J[i, j] != 0}
                colour[i, j] = min(c for c in range(len(taken) + 1) if c not in taken)
        return colour

    def bond_list(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every active bond once: first sites ``(B,)``, second sites ``(B,)`` (row-major numbers) and couplings."""
        L = self.size
        i, j = np.indices(self.shape)
        a, b, c = [], [], []
        for key, J in self.active.items():
            di, dj = DIRECTIONS[key]
            keep = J != 0
            a.append((i * L + j)[keep])
            b.append((((i + di) % L) * L + (j + dj) % L)[keep])
            c.append(J[keep])
        return np.concatenate(a), np.concatenate(b), np.concatenate(c)

    @staticmethod
    def _like(x, array: np.ndarray):
        if isinstance(x, np.ndarray):
            return array
        import torch

        return torch.as_tensor(array, dtype=torch.float64, device=x.device)

    # --- files -----------------------------------------------------------------------------------------------
    def attrs(self) -> dict[str, Any]:
        """The root attributes a data file records: ``hamiltonian``, ``hamiltonian_<key>``, size, boundary,
        for q-state models ``n_states`` and for quenched models the ``disorder`` and ``disorder_seed`` the
        couplings were drawn with."""
        out: dict[str, Any] = {"hamiltonian": self.name, "size": self.size, "boundary": self.boundary}
        out.update({f"hamiltonian_{k}": v for k, v in self.values.items()})
        if isinstance(self.space, States):
            out["n_states"] = self.space.q
        if self.quenched:
            out.update(disorder=self.disorder, disorder_seed=self.disorder_seed)
        return out

    def datasets(self) -> dict[str, np.ndarray]:
        """The ``/hamiltonian/<name>`` datasets: quenched couplings ``Jx``, ``Jy`` (and ``Jd``), else none."""
        if not self.quenched:
            return {}
        return {"J" + k[1:]: v for k, v in self.couplings.items()}

    def reproducible(self) -> bool:
        """Whether the couplings are those its disorder seed draws (always, for a model without disorder)."""
        if not self.quenched:
            return True
        drawn = self.make_couplings(self.disorder, self.disorder_seed)
        return all(np.array_equal(drawn[k], self.couplings[k]) for k in self.couplings)

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v:g}" for k, v in self.values.items())
        return f"{self.name} {self.size}x{self.size} {self.boundary} ({self.space.describe()}{', ' if shown else ''}{shown})"


def quenched_names() -> list[str]:
    from physgen.lattice import registry

    return [n for n in registry.names() if registry.get(n).quenched]
