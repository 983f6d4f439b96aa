"""Training without data: a run that learns the Boltzmann law of a Hamiltonian from the Hamiltonian alone.

``physgen train van --hamiltonian ising --size L --temperatures T1,T2 [--J J] [--h H] [--open] --out RUN`` (or
``train(..., hamiltonian=IsingTraining(...))``) trains a family that declares
:attr:`~physgen.models.base.GenerativeModel.trains_on_hamiltonian` by minimising its variational free energy
(``model.objective = "free-energy"``, e.g. :mod:`physgen.models.van`).  The run goes through the same trainer
as every other: its training rows are the temperatures alone, one row per temperature (a placeholder lattice
of +1 and ``/conditions/temperature``), conditioned on temperature, with every row in every batch
(``train.batch_size`` = the number of temperatures; the model draws ``model.samples`` lattices per temperature
and step) and nothing held out.  The rows are saved in the run directory as ``RUN/hamiltonian.h5`` with the
attributes ``J``, ``h``, ``size`` and ``boundary``, so that ``RUN/data.json`` records the Hamiltonian
(``physgen sample RUN --mcmc`` finds its target there) and ``--resume`` finds its data.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from physgen.config import parse_set
from physgen.constraints import FINITE, Constraint, Interval, validate
from physgen.data import Dataset
from physgen.errors import UserError

#: the config keys a Hamiltonian run sets itself (``section.key``)
SET_BY_HAMILTONIAN = ("model.objective", "model.J", "model.h", "model.boundary", "model.hamiltonian",
                      "model.params", "model.disorder", "model.disorder_seed", "train.batch_size", "data.condition",
                      "data.val_fraction")


@dataclass(frozen=True)
class IsingTraining:
    """The Ising model E(s) = −J Σ_<ij> s_i s_j − h Σ_i s_i on an L×L lattice (``periodic`` or open) at the
    ``temperatures`` to learn it at (each > 0, deduplicated and sorted), or another spin model of
    :mod:`physgen.lattice` (``model``: ``potts``, ``ea``, ``triangular``, a plug-in's) with its coupling ``J``, field
    ``h`` where it has one, its other parameters ``params`` (``(("q", 3),)`` for the 3-state Potts model), and for
    a quenched model the ``disorder`` and ``disorder_seed`` of its couplings."""

    size: int
    temperatures: tuple[float, ...]
    J: float = 1.0
    h: float = 0.0
    periodic: bool = True
    model: str = "ising"
    disorder: str | None = None
    disorder_seed: int | None = None
    params: tuple[tuple[str, float], ...] = ()

    constraints: ClassVar[dict[str, Constraint]] = {"size": Interval(int, 2, None), "J": FINITE, "h": FINITE}

    def __post_init__(self) -> None:
        validate(self, None)
        temps = tuple(float(t) for t in np.atleast_1d(np.asarray(self.temperatures, dtype=float)))
        if not temps:
            raise UserError("need at least one temperature", key="temperatures")
        for t in temps:
            if not (math.isfinite(t) and t > 0):
                raise UserError("every temperature must be finite and > 0", key="temperatures", value=f"{t:g}")
        object.__setattr__(self, "size", int(self.size))
        object.__setattr__(self, "temperatures", tuple(sorted(set(temps))))
        if self.model == "ising" and (self.disorder is not None or self.disorder_seed is not None):
            raise UserError("ising has no quenched couplings (disorder is for ea)", key="disorder")
        if self.model == "ising" and self.params:
            raise UserError(f"ising has the parameters J and h only, not {self.params[0][0]}", key="params")
        if self.model != "ising":
            lattice = self.lattice()
            if self.h and "h" not in lattice.params:
                raise UserError(f"{self.model} has no field h", key="h", value=f"{self.h:g}")

    def lattice(self):
        """The :mod:`physgen.lattice` model instance of this Hamiltonian."""
        from physgen.lattice import registry

        cls = registry.get(self.model)
        params = {k: v for k, v in (("J", float(self.J)), ("h", float(self.h))) if k in cls.params}
        params.update(dict(self.params))
        return cls(self.size, boundary=self.boundary, params=params, disorder=self.disorder,
                   disorder_seed=self.disorder_seed)

    @property
    def boundary(self) -> str:
        return "periodic" if self.periodic else "open"

    def dataset(self) -> Dataset:
        """The run's rows: one placeholder lattice ``(K, L, L)`` of +1 per temperature (of state 0 for a q-state
        model), the temperatures as ``/conditions/temperature`` and the Hamiltonian as attributes."""
        k, L = len(self.temperatures), self.size
        if self.model == "ising":
            attrs = {"source": "physgen train --hamiltonian ising", "hamiltonian": "ising", "size": L,
                     "J": float(self.J), "h": float(self.h), "boundary": self.boundary,
                     "temperatures": list(self.temperatures)}
            couplings = {}
        else:
            lattice = self.lattice()
            attrs = {"source": f"physgen train --hamiltonian {self.model}", **lattice.attrs(),
                     "temperatures": list(self.temperatures)}
            couplings = lattice.datasets()
        kind = "spins" if self.model == "ising" else self.lattice().space.kind
        rows = np.ones((k, L, L), dtype=np.int8) if kind == "spins" else np.zeros((k, L, L), dtype=np.int8)
        return Dataset(rows, kind, {"temperature": np.array(self.temperatures)},
                       None, attrs, hamiltonian=couplings).validate("hamiltonian")

    def sets(self) -> list[str]:
        """``--set`` items of the run: the free-energy objective with this Hamiltonian, every temperature in
        every batch, nothing held out, conditioned on temperature."""
        own = []
        if self.model != "ising":
            lattice = self.lattice()
            own = [f"model.hamiltonian={self.model}"]
            own += [f"model.params.{k}={v!r}" for k, v in self.params]
            if lattice.quenched:
                own += [f"model.disorder={lattice.disorder}", f"model.disorder_seed={lattice.disorder_seed}"]
        return ["model.objective=free-energy", f"model.J={float(self.J)!r}", f"model.h={float(self.h)!r}",
                f"model.boundary={self.boundary}", *own, f"train.batch_size={len(self.temperatures)}",
                "data.val_fraction=0", "data.condition=temperature"]


def check(cls, hamiltonian: IsingTraining, sets, condition: str | None) -> None:
    """Refuse a family that cannot train on a Hamiltonian, and user settings that a Hamiltonian run sets."""
    if not getattr(cls, "trains_on_hamiltonian", False):
        from physgen.models import registry

        able = [n for n in registry.names() if getattr(registry.get(n), "trains_on_hamiltonian", False)]
        raise UserError(f"model {cls.name!r} trains on data only; families that train on a Hamiltonian: "
                        f"{', '.join(able) or 'none'}", key="hamiltonian")
    if condition is not None:
        raise UserError("a Hamiltonian run is conditioned on temperature; drop it", key="condition", value=condition)
    given = parse_set(list(sets))
    for key in SET_BY_HAMILTONIAN:
        section, name = key.split(".")
        if name in given.get(section, {}):
            raise UserError(f"{key} is set by the Hamiltonian run (model.samples sets the draws per temperature)",
                            key="sets", value=f"{key}={given[section][name]}")


def exact_free_energies(attrs: dict, temperatures, last: dict) -> list[dict]:
    """The variational free energy per spin F_q/N = mean_q(E + T log q)/N of a run on a Hamiltonian's last logged
    steps (``last``: ``f_q`` of a single temperature, ``f_q[T=t]`` per temperature of several) beside the exact
    F/N = −T ln Z / N of its finite lattice (:func:`physgen.physics.thermo.exact_values`: enumeration up to
    4×4, Kaufman's partition function for a periodic lattice at h = 0; for another model of
    :mod:`physgen.lattice` its transfer matrix), one dict per temperature: ``temperature``, ``f_q``, ``exact``,
    ``method``, ``excess`` = F_q/N − F/N (≥ 0 up to the estimate's noise, Gibbs–Bogoliubov) and ``relative`` =
    excess / |F/N|.  Empty where no exact value applies (e.g. open boundaries with h ≠ 0) or the attributes
    (``size``, ``J``, ``h``, ``boundary``) are missing."""
    from physgen.physics.thermo import exact_values

    if attrs.get("hamiltonian", "ising") != "ising":
        from physgen.lattice import registry, transfer

        model = registry.from_attrs(attrs, where="the run's Hamiltonian")
        return _beside_exact(temperatures, last, lambda t: transfer.exact_values(model, t))
    try:
        L, J, h, periodic = int(attrs["size"]), float(attrs["J"]), float(attrs["h"]), attrs["boundary"] == "periodic"
    except (KeyError, TypeError, ValueError):
        return []
    return _beside_exact(temperatures, last, lambda t: exact_values((L, L), t, J, h, periodic))


def _beside_exact(temperatures, last: dict, exact_at) -> list[dict]:
    """The rows of :func:`exact_free_energies`, ``exact_at(T)`` giving the exact values (or None)."""
    temperatures = [float(t) for t in temperatures]
    rows = []
    for t in temperatures:
        f_q = last.get(f"f_q[T={t:g}]", last.get("f_q") if len(temperatures) == 1 else None)
        exact = exact_at(t) if isinstance(f_q, float) else None
        if exact is None:
            continue
        f = float(exact["free_energy"])
        rows.append({"temperature": t, "f_q": f_q, "exact": f, "method": exact["method"], "excess": f_q - f,
                     "relative": (f_q - f) / abs(f) if f else None})
    return rows
