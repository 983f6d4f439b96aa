"""The ``dbn`` family's description: the class constants :class:`~physgen.models.dbn.model.DBN` inherits.

:class:`DBNCard` holds what describes the family rather than computes: its registry name, the one-line
description, the config dataclass, the data it is usually run on, and the config overlays the trainer reads
(:meth:`~physgen.models.base.GenerativeModel.defaults`): the RBM family's SGD with momentum (the learning-rate
decay is the model's, per layer), per data kind the layer widths, up-down fine-tuning on binarized digits
(Hinton, Osindero & Teh 2006, §5) and the step budget (docs/dbn.md, benchmarks/records/dbn.md).  ``DBN`` lists
it before :class:`~physgen.models.base.GenerativeModel`, so these values win over the base class's defaults by
ordinary attribute lookup.
"""
from __future__ import annotations

from typing import Any, ClassVar

from physgen.models.base import DataSpec, budget, overlay
from physgen.models.dbn.config import DBNConfig


class DBNCard:
    """Constants of the ``dbn`` family (class attributes only, no state)."""

    name: ClassVar[str] = "dbn"
    description: ClassVar[str] = ("deep belief network: stacked RBMs trained greedily layer by layer; Gibbs in the "
                                  "top RBM and a down-pass; variational lower bound with AIS")
    config_class: ClassVar[type] = DBNConfig
    default_spec: ClassVar[DataSpec] = DataSpec("binary", (8, 8))
    #: every layer's CD in closed form (a built model drops it where a layer's RBM does)
    capabilities: ClassVar[frozenset[str]] = frozenset({"closed-form-gradients"})
    # the RBM family's optimiser (SGD with momentum); the learning-rate decay is the model's, per layer
    default_config: ClassVar[dict[str, Any]] = {"train": {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9,
                                                          "schedule": "constant", "batch_size": 64,
                                                          "matmul_precision": "medium"}}
    # the schedule (model.steps_per_layer per layer) ends a run; on binarized digits up-down fine-tuning after the
    # greedy pass (Hinton, Osindero & Teh 2006, §5) raises the held-out bound (docs/dbn.md, benchmarks/records/dbn.md)
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {
        "spins": overlay({"model": {"layers": [64, 64]}}, budget(10_000)),
        "continuous": overlay({"model": {"layers": [64, 64]}, "data": {"transform": "standardize"}}, budget(10_000)),
        "binary": overlay({"model": {"layers": [128, 128], "finetune_steps": 5000}}, budget(15_000)),
    }
