"""The ``van`` family's description: the class constants :class:`~physgen.models.van.VAN` inherits.

:class:`VANCard` holds what describes the family rather than computes: its registry name, the one-line
description, the config dataclass, the data kinds it models (spin lattices and binary data), the data it is
usually run on, that it also trains on a Hamiltonian alone, the size keys ``physgen tune`` searches, and the
config overlays the trainer reads (:meth:`~physgen.models.base.GenerativeModel.defaults`): Adam with a cosine
decay, per data kind the symmetrised model and the lattice-symmetry augmentation on spins and the step
budgets (benchmarks/records/van.md), and the overlay of a run on the Ising Hamiltonian (docs/van.md).
``VAN`` lists it before :class:`~physgen.models.base.GenerativeModel`, so these values win over the base
class's defaults by ordinary attribute lookup.
"""
from __future__ import annotations

from typing import Any, ClassVar

from physgen.models.base import DataSpec, budget, overlay
from physgen.models.van_config import VANConfig


class VANCard:
    """Constants of the ``van`` family (class attributes only, no state)."""

    name: ClassVar[str] = "van"
    description: ClassVar[str] = ("variational autoregressive network (MADE; exact log q, i.i.d. samples; "
                                  "trains on data or on the Ising Hamiltonian alone)")
    config_class: ClassVar[type] = VANConfig
    kinds: ClassVar[tuple[str, ...]] = ("spins", "binary", "categorical")
    default_spec: ClassVar[DataSpec] = DataSpec("spins", (16, 16))
    capabilities: ClassVar[frozenset[str]] = frozenset({"hamiltonian"})
    size_keys: ClassVar[dict[str, tuple[str, ...]] | None] = {"any": ("hidden",)}
    default_config: ClassVar[dict] = {"train": {"batch_size": 128, "lr": 3e-3, "schedule": "cosine"}}
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {
        # Ising lattices: the symmetric model q = [q0(s) + q0(-s)]/2 and batches moved by the lattice's symmetries
        # (data.augment; the spin flip left out for data made at h != 0, where model.z2=off is also needed):
        # 1,000 lattices per temperature are few for a network that sees whole lattices (benchmarks/records/van.md)
        "spins": overlay({"model": {"z2": "on"}, "data": {"augment": "lattice"}}, budget(8000)),
        "binary": overlay({"model": {"act": "relu", "hidden": [256]}}, budget(2000)),
        # q-state (Potts) lattices: the model symmetric under every relabelling of the states and the lattice's
        # symmetries with random relabellings, as for spins
        "categorical": overlay({"model": {"z2": "on"}, "data": {"augment": "lattice"}}, budget(8000)),
    }
    #: the free energy: the REINFORCE gradient is noisier than a likelihood's, so more steps at the same rate
    #: (docs/van.md, "Measured"); the data defaults' symmetrisation gives way to z2 = auto (on at h = 0)
    hamiltonian_defaults: ClassVar[dict[str, Any]] = overlay({"model": {"z2": "auto"}, "data": {"augment": "none"}},
                                                             budget(8000))
    #: lattices of more than 32×32 sites: 12,000 steps, which the reverse-KL gradient needs on 64×64 at β_c
    #: before the proposal draws the lattices of small |m| often enough for ``--mcmc`` (benchmarks/records/exact.md)
    hamiltonian_size_defaults: ClassVar[dict[int, dict[str, Any]]] = {32 * 32: budget(12000)}
    #: a spin glass or a frustrated magnet (physgen.lattice): β-annealing over the first ~1,000 steps, as Wu, Wang &
    #: Zhang (PRL 122, 080602, 2019) anneal, so that the reverse-KL gradient does not settle in one valley of a
    #: rugged landscape before it has seen the others (benchmarks/records/lattice.md)
    lattice_model_defaults: ClassVar[dict[str, Any]] = {"model": {"anneal": 1000.0}}
    #: a q-state (Potts) model: 256 hidden units for its q inputs and logits per site, and 1,024 draws a step, whose
    #: less noisy gradient reaches a lower F_q than a wider or deeper network at 256 draws
    #: (benchmarks/records/lattice.md)
    q_state_model_defaults: ClassVar[dict[str, Any]] = {"model": {"hidden": [256], "samples": 1024}}
