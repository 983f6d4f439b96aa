"""The point-cloud families' descriptions: :class:`CloudCard`, what ``epic-fm`` and ``epic-gan`` share, and
:class:`EPiCFMCard`, the class constants :class:`~physgen.models.pointcloud.EPiCFlowMatching` inherits.

:class:`CloudCard` holds the families' data kind (``pointcloud``) and their usual data (30 particles of a jet
with the relative features η, φ and p_T); ``epic-gan``'s card (:class:`physgen.models.gan.card.EPiCGANCard`)
subclasses it too.  :class:`EPiCFMCard` adds the ``epic-fm`` family's registry name, one-line description,
config dataclass, the config overlay the trainer reads (:meth:`~physgen.models.base.GenerativeModel.defaults`:
Adam with a cosine decay, a weight EMA and the step budget) and the samples per call on CPU.  The model
lists its card first, so these values win over the base class's defaults by ordinary attribute lookup.
"""
from __future__ import annotations

from typing import Any, ClassVar

from physgen.models.base import DataSpec
from physgen.models.pointcloud_config import EPiCFMConfig


class CloudCard:
    """Constants shared by the point-cloud families (class attributes only, no state)."""

    kinds: ClassVar[tuple[str, ...]] = ("pointcloud",)
    default_spec: ClassVar[DataSpec] = DataSpec("pointcloud", (30, 3), ("eta_rel", "phi_rel", "pt_rel"))


class EPiCFMCard(CloudCard):
    """Constants of the ``epic-fm`` family (class attributes only, no state)."""

    name: ClassVar[str] = "epic-fm"
    sampler_field: ClassVar[str | None] = "velocity"
    description: ClassVar[str] = ("flow matching on particle clouds (jets) with a permutation-equivariant EPiC "
                                  "network; multiplicity from the data")
    config_class: ClassVar[type] = EPiCFMConfig
    default_config: ClassVar[dict[str, Any]] = {
        "train": {"batch_size": 128, "lr": 1e-3, "schedule": "cosine", "ema": 0.999, "steps": 20_000,
                  "epochs": None, "max_time": None}}
    cpu_sample_chunk: ClassVar[int | None] = 1024
