"""Training without data: a run that learns the Boltzmann law of a Hamiltonian from the Hamiltonian alone.

``physgen train van --hamiltonian ising --size L --temperatures T1,T2 [--J J] [--h H] [--open] --out RUN`` (or
``train(..., hamiltonian=HamiltonianTraining(model, temperatures))``, :func:`IsingTraining`) trains a family that declares
the capability ``hamiltonian`` (:data:`physgen.models.card.CAPABILITIES`) by minimising its variational free energy
(``model.objective = "free-energy"``, e.g. :mod:`physgen.models.van`).  The run goes through the same trainer
as every other: its training rows are the temperatures alone, one row per temperature (a placeholder lattice
of +1 and ``/conditions/temperature``), conditioned on temperature, with every row in every batch
(``train.batch_size`` = the number of temperatures; the model draws ``model.samples`` lattices per temperature
and step) and nothing held out.  The rows are saved in the run directory as ``RUN/hamiltonian.h5`` with the
model's attributes (``hamiltonian``, ``hamiltonian_<key>``, ``size``, ``boundary``; for the Ising model also ``J``
and ``h``), so that ``RUN/data.json`` records the Hamiltonian
(``physgen sample RUN --mcmc`` finds its target there) and ``--resume`` finds its data.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from physgen.config import parse_set
from physgen.data import Dataset
from physgen.errors import UserError

#: the config keys a Hamiltonian run sets itself (``section.key``)
SET_BY_HAMILTONIAN = ("model.objective", "model.J", "model.h", "model.boundary", "model.hamiltonian",
                      "model.params", "model.disorder", "model.disorder_seed", "train.batch_size", "data.condition",
                      "data.val_fraction")


@dataclass(frozen=True)
class HamiltonianTraining:
    """A lattice model of :mod:`physgen.lattice` (``model``: its couplings, lattice, boundary and state space) and
    the ``temperatures`` to learn its Boltzmann law at (each > 0, deduplicated and sorted)."""

    model: Any
    temperatures: tuple[float, ...]

    def __post_init__(self) -> None:
        temps = tuple(float(t) for t in np.atleast_1d(np.asarray(self.temperatures, dtype=float)))
        if not temps:
            raise UserError("need at least one temperature", key="temperatures")
        for t in temps:
            if not (math.isfinite(t) and t > 0):
                raise UserError("every temperature must be finite and > 0", key="temperatures", value=f"{t:g}")
        object.__setattr__(self, "temperatures", tuple(sorted(set(temps))))

    @property
    def size(self) -> int:
        return self.model.size

    def dataset(self) -> Dataset:
        """The run's rows: one placeholder lattice ``(K, L, L)`` of +1 per temperature (of state 0 for a q-state
        model), the temperatures as ``/conditions/temperature`` and the model as attributes (and its quenched
        couplings as ``/hamiltonian`` datasets)."""
        k, L, kind = len(self.temperatures), self.size, self.model.space.kind
        attrs = {"source": f"physgen train --hamiltonian {self.model.name}", **self.model.attrs(),
                 "temperatures": list(self.temperatures)}
        rows = np.ones((k, L, L), dtype=np.int8) if kind == "spins" else np.zeros((k, L, L), dtype=np.int8)
        rows = rows.astype(np.float32) if kind == "field" else rows
        return Dataset(rows, kind, {"temperature": np.array(self.temperatures)},
                       None, attrs, hamiltonian=self.model.datasets()).validate("hamiltonian")

    def sets(self) -> list[str]:
        """``--set`` items of the run: the free-energy objective with this model, every temperature in every
        batch, nothing held out, conditioned on temperature."""
        m = self.model
        own = [f"model.params.{k}={v!r}" for k, v in m.values.items() if k not in ("J", "h")]
        if m.quenched:
            own += [f"model.disorder={m.disorder}", f"model.disorder_seed={m.disorder_seed}"]
        return ["model.objective=free-energy", f"model.J={float(m.values.get('J', 1.0))!r}", f"model.h={m.h!r}",
                f"model.boundary={m.boundary}", f"model.hamiltonian={m.name}", *own,
                f"train.batch_size={len(self.temperatures)}", "data.val_fraction=0", "data.condition=temperature"]


def IsingTraining(size: int, temperatures, J: float = 1.0, h: float = 0.0, periodic: bool = True,
                  model: str = "ising", disorder: str | None = None, disorder_seed: int | None = None,
                  params: tuple[tuple[str, float], ...] = ()) -> HamiltonianTraining:
    """The :class:`HamiltonianTraining` of ``physgen train van --hamiltonian NAME --size L --temperatures …``: the
    Ising model E(s) = −J Σ_<ij> s_i s_j − h Σ_i s_i on an L×L lattice (``periodic`` or open), or another model
    of :mod:`physgen.lattice` (``model``: ``potts``, ``ea``, ``triangular``, a plug-in's) with its coupling ``J``,
    field ``h`` where it has one, its other parameters ``params`` (``(("q", 3),)`` for the 3-state Potts model),
    and for a quenched model the ``disorder`` and ``disorder_seed`` of its couplings."""
    from physgen.lattice import registry

    cls = registry.get(model)
    if h and "h" not in cls.params:
        raise UserError(f"{model} has no field h", key="h", value=f"{h:g}")
    values = {k: v for k, v in (("J", J), ("h", h)) if k in cls.params}
    values.update(dict(params))
    lattice = cls(size, boundary="periodic" if periodic else "open", params=values, disorder=disorder,
                  disorder_seed=disorder_seed)
    return HamiltonianTraining(lattice, temperatures)


def check(cls, hamiltonian: HamiltonianTraining, sets, condition: str | None) -> None:
    """Refuse a family that cannot train on a Hamiltonian, and user settings that a Hamiltonian run sets."""
    from physgen.models.card import capabilities_of

    kind, kinds = hamiltonian.model.space.kind, getattr(cls, "hamiltonian_kinds", cls.kinds)
    able = "hamiltonian" in capabilities_of(cls)
    if able and kind not in kinds:
        raise UserError(f"model {cls.name!r} cannot learn {hamiltonian.model.name} from its Hamiltonian ({kind} "
                        f"configurations; it learns {', '.join(kinds)} ones)", key="hamiltonian")
    if not able:
        from physgen.models import registry

        names = [n for n in registry.names() if "hamiltonian" in capabilities_of(registry.get(n))]
        raise UserError(f"model {cls.name!r} trains on data only; families that train on a Hamiltonian: "
                        f"{', '.join(names) or 'none'}", key="hamiltonian")
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
    F/N = −T ln Z / N of its finite lattice (the model's :meth:`~physgen.lattice.model.LatticeModel.exact`: for
    the Ising model enumeration up to 4×4 and Kaufman's partition function on the torus at h = 0, else the
    transfer matrix), one dict per temperature: ``temperature``, ``f_q``, ``exact``,
    ``method``, ``excess`` = F_q/N − F/N (≥ 0 up to the estimate's noise, Gibbs–Bogoliubov) and ``relative`` =
    excess / |F/N|.  Empty where no exact value applies (a lattice beyond the transfer matrix) or the attributes
    record no model."""
    from physgen.lattice import registry

    try:
        model = registry.recorded(attrs)
    except UserError:
        return []
    return [] if model is None else _beside_exact(temperatures, last, model.exact)


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
