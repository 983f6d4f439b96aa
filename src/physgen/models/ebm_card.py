"""The ``ebm`` family's description: the class constants :class:`~physgen.models.ebm.EBM` inherits.

:class:`EBMCard` holds what describes the family rather than computes: its registry name, the one-line
description, the config dataclass, the checkpoint layout version, the data it is usually run on, the size keys
``physgen tune`` searches, and the config overlays the trainer reads
(:meth:`~physgen.models.base.GenerativeModel.defaults`): Adam with β1 = 0 after Du & Mordatch 2019, per data
kind the sampler settings, a Gaussian base on continuous data (Arbel, Zhou & Gretton 2021) and the step
budget, and for discrete chains (spins, binary data) the :attr:`EBMCard.DISCRETE` overlay
(benchmarks/records/ebm.md).  ``EBM`` lists it before :class:`~physgen.models.base.GenerativeModel`, so these
values win by ordinary attribute lookup; only ``demo`` stays on ``EBM`` itself: the demo reads a family's stage
from the class that declares it.
"""
from __future__ import annotations

from typing import Any, ClassVar

from physgen.models.base import DataSpec, budget, overlay
from physgen.models.ebm_config import EBMConfig


class EBMCard:
    """Constants of the ``ebm`` family (class attributes only, no state)."""

    name: ClassVar[str] = "ebm"
    sampler_field: ClassVar[str | None] = "energy"
    size_keys: ClassVar[dict[str, tuple[str, ...]] | None] = {"mlp": ("hidden",), "cnn": ("channels",)}
    description: ClassVar[str] = ("energy-based model (MLP/CNN energy), contrastive divergence with Langevin or discrete "
                                  "MCMC chains in a replay buffer")
    config_class: ClassVar[type] = EBMConfig
    # 2: the replay buffer keeps each slot's condition; 3: the Gaussian base; 4: pictures' CNN keeps positions
    checkpoint_version: ClassVar[int] = 4
    default_spec: ClassVar[DataSpec] = DataSpec("continuous", (2,))
    # Du & Mordatch / Lippe: Adam with β1 = 0 (no momentum across changing negative samples), small lr
    default_config: ClassVar[dict] = {"train": {"batch_size": 128, "lr": 1e-4, "optimizer": "adam", "betas": [0.0, 0.999]}}
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {
        # Pythia tt̄ (s, t, y) on Gaussianised features (data.transform=auto: quantile), a Gaussian base (Arbel,
        # Zhou & Gretton 2021) that keeps the chains off the walls of the box, conventional Langevin, lr 1e-4
        # (benchmarks/records/ebm.md)
        "continuous": overlay({"model": {"langevin": "conventional", "step_size": 0.02, "k_steps": 30,
                                         "grad_clip": 0.0, "alpha": 0.05, "hidden": [128, 128]}}, budget(35_000)),
        # L=16 Ising, K = 20 discrete steps per update (see DISCRETE below; benchmarks/records/ebm.md)
        "spins": overlay({"model": {"k_steps": 20}}, budget(3_500)),
        # binarized digits (discrete chains, DISCRETE below), K = 20, close to the real-vs-real floors
        # (benchmarks/records/ebm.md).  Grey images (Langevin) share K = 20
        "binary": overlay({"model": {"k_steps": 20}}, budget(1_500)),
        # grey 8x8 digits: Langevin in logit space (data.transform=logit), where the saturated pixel values sit
        # at the ends of the range the chains are clamped to, with the Langevin and real-data noise scaled by
        # that range's width (5.9 instead of 1: s = 0.03 for Du & Mordatch's 0.005), lr 3e-4, CNNEnergy's picture
        # layout; each change alone is not enough (benchmarks/records/ebm.md)
        "image": overlay({"data": {"transform": "logit"}, "model": {"noise": 0.03, "real_noise": 0.03},
                          "train": {"lr": 3e-4}}, budget(4_300)),
    }

    # spins and binary data (discrete chains, which sample p_θ itself rather than a cooled version of it):
    # the energy must span the log-probability range of the data (~270 nats between a random and an ordered
    # L = 16 lattice at T = 1.8), which the family's α = 0.1 on E² forbids; α E² also pulls the energies at one
    # temperature together, so p_θ comes out too flat where the log-probability varies least, hence α = 1e-4 on
    # spins; the binarized digits keep the α = 1e-3 they were measured with (benchmarks/records/ebm.md)
    DISCRETE: ClassVar[dict[str, dict[str, Any]]] = {"spins": {"model": {"alpha": 1e-4}, "train": {"lr": 1e-3}},
                                                     "binary": {"model": {"alpha": 1e-3}, "train": {"lr": 1e-3}}}

    @classmethod
    def defaults(cls, spec: DataSpec) -> dict[str, Any]:
        """The base's per-kind defaults (:meth:`physgen.models.card.FamilyCard.defaults`, next in ``EBM``'s method
        resolution order), with the :attr:`DISCRETE` entry of spins and binary data."""
        base = super().defaults(spec)
        return overlay(base, cls.DISCRETE[spec.kind]) if spec.kind in cls.DISCRETE else base
