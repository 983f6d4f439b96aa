"""The ``rbm`` family's description: the class constants :class:`~physgen.models.rbm.model.RBM` inherits.

:class:`RBMCard` holds what describes the family rather than computes: its registry name, the one-line
description, the config dataclass, the checkpoint layout version, the data it is usually run on, and the
config overlays the trainer reads (:meth:`~physgen.models.base.GenerativeModel.defaults`): SGD with momentum
and a linearly decaying learning rate (Hinton 2012 guide, §9; Tieleman 2008 for the decay over a PCD run's
step budget), per data kind the weights (translation-invariant filters on spin lattices, Carleo & Troyer
2017; dense hidden layers elsewhere), parallel tempering on grey digits (Desjardins et al. 2010) and the
step budget.  ``RBM`` lists it before :class:`~physgen.models.base.GenerativeModel`, so these values win
over the base class's defaults by ordinary attribute lookup.  Only ``demo`` stays on ``RBM`` itself: the
demo reads a family's stage from the class that declares it.
"""
from __future__ import annotations

from typing import Any, ClassVar

from physgen.models.base import DataSpec, budget, overlay
from physgen.models.rbm.config import RBMConfig


class RBMCard:
    """Constants of the ``rbm`` family (class attributes only, no state)."""

    name: ClassVar[str] = "rbm"
    sampler_field: ClassVar[str | None] = "bipartite"
    # translation-invariant filters (network kind "translation"): their number is the size
    size_keys: ClassVar[dict[str, tuple[str, ...]] | None] = {"mlp": ("n_hidden",), "cnn": ("n_hidden",),
                                                              "translation": ("filters",)}
    description: ClassVar[str] = ("restricted Boltzmann machine: Bernoulli, spin, Gaussian, binomial or softmax visible "
                                  "units; translation-invariant filters on lattices; CD-k, PCD, parallel tempering, "
                                  "global spin flip; exact log Z and AIS")
    config_class: ClassVar[type] = RBMConfig
    checkpoint_version: ClassVar[int] = 2  # 2: persistent chains also carry their hidden units
    #: CD and PCD in closed form (a built model without them, sparse or with learned σ, drops it)
    capabilities: ClassVar[frozenset[str]] = frozenset({"closed-form-gradients"})
    default_spec: ClassVar[DataSpec] = DataSpec("spins", (16, 16))
    kinds: ClassVar[tuple[str, ...]] = ("spins", "binary", "continuous", "image", "categorical")
    # physgen's defaults for RBM runs (config overlay read by the trainer): SGD with momentum (Hinton 2012
    # guide, §9) and a linearly decaying learning rate, which damps the oscillation of the weight of the two
    # Ising modes (docs/rbm.md).  Matrix products at "medium" precision: faster on CPUs with bfloat16 units at
    # float32-level error (docs/training.md); log Z, AIS and the exact likelihood are computed in float64, which
    # the setting never touches (benchmarks/records/rbm.md)
    default_config: ClassVar[dict[str, Any]] = {"train": {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9,
                                                          "schedule": "linear", "batch_size": 64,
                                                          "matmul_precision": "medium"}}
    # per data kind; the linear decay runs over the step budget, which PCD needs (Tieleman 2008; benchmarks/records/
    # rbm.md, budgets.md)
    # a user's n_hidden asks for dense weights: the translation-invariant filters of the spins defaults, and the
    # batch chosen for them, give way; a user's filters ask for translation-invariant weights: the dense width of
    # the binary and continuous defaults gives way
    default_conflicts: ClassVar[dict[str, tuple[str, ...]]] = {"n_hidden": ("filters", "filter_size",
                                                                             "train.batch_size"),
                                                                "filters": ("n_hidden",)}
    #: data of a spin glass (physgen.lattice, quenched couplings): no translation symmetry to share weights over,
    #: so dense weights
    quenched_data_defaults: ClassVar[dict[str, Any]] = {"model": {"filters": 0}}
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {
        # L=16 Ising: translation-invariant weights (Carleo & Troyer 2017), 2 filters on 3×3 windows, which
        # represent nearest-neighbour bonds.  Batches of 256
        # lattices: the data's bond statistics fluctuate most at T_c, and the coupling learned there follows them
        # (benchmarks/records/rbm.md)
        "spins": overlay({"model": {"filters": 2, "filter_size": 3}, "train": {"batch_size": 256}},
                         budget(20_000)),
        # Pythia tt̄ events: Gaussian visible units (visible=auto) on Gaussianised features (data.transform=
        # auto: quantile), 64 hidden (benchmarks/records/rbm.md)
        "continuous": overlay({"model": {"n_hidden": 64}}, budget(100_000)),
        # binarized 8x8 digits: 128 hidden reach the real-vs-real floors (benchmarks/records/rbm.md)
        "binary": overlay({"model": {"n_hidden": 128}}, budget(10_000)),
        # grey 8x8 digits (softmax units over the 17 levels, visible=auto): parallel tempering (Desjardins et al.
        # 2010; 10 replicas, in training and sampling), since persistent Gibbs chains mix too slowly between the
        # digits, weight decay l2 1e-4 (the Hinton guide's usual weight cost, §10) and 300 sampling sweeps
        # (benchmarks/records/rbm.md, with the settings not adopted)
        "image": overlay({"model": {"l2": 1e-4, "method": "pt", "burn_in": 300}}, budget(10_000)),
        # q-state (Potts) lattices: one softmax unit of q states per site, dense weights (visible=auto)
        "categorical": overlay({"model": {"n_hidden": 128}}, budget(20_000)),
    }
