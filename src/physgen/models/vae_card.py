"""The ``vae`` and ``conv-vae`` families' descriptions: the class constants :class:`~physgen.models.vae.VAE` and
:class:`~physgen.models.vae.ConvVAE` inherit.

:class:`VAECard` holds what describes the MLP ``vae`` rather than computes: its registry name, the one-line
description, the config dataclass, the data it is usually run on, the size keys ``physgen tune`` searches and
the config overlays per data kind the trainer reads (:meth:`~physgen.models.base.GenerativeModel.defaults`):
latent sizes, on spin lattices an autoregressive decoder (PixelVAE, Gulrajani et al. 2017), and the step
budgets (benchmarks/records/vae.md).  :class:`ConvVAECard` subclasses it as ``ConvVAE`` subclasses ``VAE``: the
convolutional family's name, data kinds, size keys and defaults.  Each model lists its card first, so these
values win by ordinary attribute lookup; only ``demo`` stays on ``VAE`` itself: the demo reads a family's stage
from the class that declares it.
"""
from __future__ import annotations

from typing import Any, ClassVar

from physgen.models.base import DataSpec, budget, overlay
from physgen.models.vae_config import ConvVAEConfig, VAEConfig


class VAECard:
    """Constants of the ``vae`` family (class attributes only, no state)."""

    name: ClassVar[str] = "vae"
    size_keys: ClassVar[dict[str, tuple[str, ...]] | None] = {"any": ("latent", "hidden")}
    description: ClassVar[str] = "MLP variational autoencoder (Bernoulli/spin/Gaussian likelihood, ELBO and IWAE scores)"
    config_class: ClassVar[type] = VAEConfig
    default_spec: ClassVar[DataSpec] = DataSpec("binary", (28, 28))
    # per data kind (Adam 1e-3, batch 64, MLP 256-256; benchmarks/records/vae.md):
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {
        # L=16 Ising: latent 8, an autoregressive decoder (PixelVAE, Gulrajani et al. 2017) with the running mean
        # of the earlier spins (ar_global: no second domain), its window wrapped round the torus (ar_periodic:
        # the boundary bonds stay correlated) and a cosine decay that makes the end state reproducible
        # (benchmarks/records/vae.md)
        "spins": overlay({"model": {"latent": 8, "decoder": "autoregressive", "ar_global": True, "ar_periodic": True},
                          "train": {"schedule": "cosine"}}, budget(9_000)),
        # Pythia tt̄ (s, t, y), latent 3 on Gaussianised features (data.transform=auto: quantile;
        # benchmarks/records/vae.md)
        "continuous": overlay({"model": {"latent": 3}}, budget(220_000)),
        # binarized 8x8 digits, latent 8: at the real-vs-real floors (benchmarks/records/vae.md)
        "binary": overlay({"model": {"latent": 8}}, budget(14_000)),
        # grey 8x8 digits (docs/scoreboard.md)
        "image": budget(70_000),
    }


class ConvVAECard(VAECard):
    """Constants of the ``conv-vae`` family (class attributes only, no state); the rest is :class:`VAECard`'s."""

    name: ClassVar[str] = "conv-vae"
    size_keys: ClassVar[dict[str, tuple[str, ...]] | None] = {"any": ("latent", "channels")}
    description: ClassVar[str] = "convolutional VAE for images and spin lattices (periodic padding for spins)"
    config_class: ClassVar[type] = ConvVAEConfig
    kinds: ClassVar[tuple[str, ...]] = ("spins", "binary", "image")
    default_spec: ClassVar[DataSpec] = DataSpec("binary", (28, 28))
    # the MLP vae's latent sizes; on spins the autoregressive decoder, which keeps the bonds that a factorised
    # decoder breaks (benchmarks/records/vae.md)
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {
        "spins": overlay({"model": {"latent": 8, "decoder": "autoregressive"}}, budget(2_500)),
        "binary": overlay({"model": {"latent": 8}}, budget(4_000)),
    }
