"""The GAN families' descriptions: the class constants the GAN models inherit.

:class:`GANCard` holds what every GAN shares (two players: ``adversarial``; the generator output on continuous
data under ``output = auto``); each family's card subclasses it, as its model subclasses
:class:`~physgen.models.gan.base.GAN`, with the family's registry name, one-line description, config
dataclass, data kinds, usual data, size keys for ``physgen tune`` and the config overlays the trainer reads
(:meth:`~physgen.models.base.GenerativeModel.defaults`): ``gan`` (the course's settings, Raschka et al. 2022,
ch. 17), ``wgan-gp`` (Gulrajani et al. 2017; a weight EMA after Yazıcı et al. 2019, the conv nets on spin
lattices and the projection critic of Miyato & Koyama 2018 on conditioned ones), ``dcgan`` (Radford, Metz &
Chintala 2016), ``thesis-dcgan``, ``sgan`` (Salimans et al. 2016; also a classifier) and ``epic-gan`` (Buhmann,
Kasieczka & Thaler 2023; also :class:`~physgen.models.pointcloud_card.CloudCard`'s point-cloud kind and data),
with the step budgets of benchmarks/records/.  Each model lists its card first, so these values win by
ordinary attribute lookup; only ``demo`` stays on ``WGANGP`` itself: the demo reads a family's stage from the
class that declares it.
"""
from __future__ import annotations

from typing import Any, ClassVar

from physgen.models.base import DataSpec, budget, overlay
from physgen.models.gan.config import DCGANConfig, EPiCGANConfig, SGANConfig, ThesisDCGANConfig, VanillaGANConfig
from physgen.models.gan.wgan_config import WGANGPConfig
from physgen.models.pointcloud_card import CloudCard


class GANCard:
    """Constants every GAN family shares (class attributes only, no state)."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"adversarial"})
    default_output: ClassVar[str] = "tanh"     # generator output on continuous data when output=auto (resolve)
    description: ClassVar[str] = "GAN"


class VanillaGANCard(GANCard):
    """Constants of the ``gan`` family (class attributes only, no state)."""

    name: ClassVar[str] = "gan"
    size_keys: ClassVar[dict[str, tuple[str, ...]] | None] = {"any": ("latent", "hidden_g", "hidden_d")}
    description: ClassVar[str] = "the course's vanilla GAN (Raschka ch. 17): MLP 20→100→d, BCE, uniform noise"
    config_class: ClassVar[type] = VanillaGANConfig
    default_spec: ClassVar[DataSpec] = DataSpec("image", (28, 28))
    default_config: ClassVar[dict] = {"train": {"batch_size": 64, "lr": 1e-3, "optimizer": "adam"}}
    # the course's settings on every kind; step budgets converted from time budgets (benchmarks/records/gan.md)
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {
        "spins": budget(14_000), "binary": budget(15_000),
        "continuous": overlay({"data": {"transform": "minmax"}}, budget(50_000))}


class WGANGPCard(GANCard):
    """Constants of the ``wgan-gp`` family (class attributes only, no state)."""

    name: ClassVar[str] = "wgan-gp"
    size_keys: ClassVar[dict[str, tuple[str, ...]] | None] = {"mlp": ("latent", "hidden_g", "hidden_d"),
                                                              "conv": ("latent", "width")}
    description: ClassVar[str] = ("Wasserstein GAN with gradient penalty (λ=10, n_critic=5): MLP tuned for tabular data, "
                                  "or model.arch=conv (periodic conv nets for lattices)")
    config_class: ClassVar[type] = WGANGPConfig
    default_output: ClassVar[str] = "tanh"
    default_spec: ClassVar[DataSpec] = DataSpec("continuous", (3,), ("s", "t", "y"))
    # an EMA of the weights damps the oscillation of WGAN-GP iterates (Yazıcı et al. 2019); tuned on the tt̄
    # events (benchmarks/records/wgan-gp.md)
    default_config: ClassVar[dict] = {"train": {"batch_size": 256, "lr": 5e-4, "optimizer": "adam", "betas": [0.5, 0.9],
                                                "ema": 0.999}}
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {
        # tt̄ (s, t, y): a linear output on Gaussianised features (data.transform=auto: quantile); minmax data
        # with a tanh output came out far from the data (benchmarks/records/wgan-gp.md)
        "continuous": overlay({"model": {"output": "linear"}}, budget(80_000)),
        # L=16 Ising: periodic conv G and critic with lattice statistics and a global-pool generator path; the
        # cosine decay keeps ⟨|m|⟩ at T = 3 right (benchmarks/records/wgan-gp.md, with the options not adopted)
        "spins": overlay({"model": {"arch": "conv", "width": 16, "n_critic": 3, "lattice_stats": True,
                                    "global_pool": True},
                          "train": {"batch_size": 64, "ema": 0.99, "schedule": "cosine"}}, budget(4_000)),
        # binarized 8x8 digits: the MLP reaches the real-vs-real floors (benchmarks/records/wgan-gp.md)
        "binary": budget(20_000),
        # grey 8x8 digits: the MLP in logit space (data.transform=logit) with its output clamped to the training
        # range (model.output=clip), so that G can put whole pixels at 0 and 16/16 (benchmarks/records/wgan-gp.md)
        "image": overlay({"data": {"transform": "logit"}, "model": {"output": "clip"}}, budget(70_000)),
    }

    @classmethod
    def defaults(cls, spec: DataSpec) -> dict[str, Any]:
        """:attr:`defaults_by_kind` (the base's :meth:`physgen.models.card.FamilyCard.defaults`, next in ``WGANGP``'s
        method resolution order), plus the projection critic (Miyato & Koyama 2018) on conditioned spin
        lattices, which keeps the high-temperature magnetisation right (benchmarks/records/wgan-gp.md)."""
        out = super().defaults(spec)
        if spec.kind == "spins" and spec.condition_names:
            out["model"]["projection"] = True
        return out


class DCGANCard(GANCard):
    """Constants of the ``dcgan`` family (class attributes only, no state)."""

    name: ClassVar[str] = "dcgan"
    size_keys: ClassVar[dict[str, tuple[str, ...]] | None] = {"any": ("latent", "channels")}
    description: ClassVar[str] = "deep convolutional GAN for images and spin lattices (sizes configurable)"
    config_class: ClassVar[type] = DCGANConfig
    kinds: ClassVar[tuple[str, ...]] = ("spins", "binary", "image")
    default_spec: ClassVar[DataSpec] = DataSpec("image", (28, 28))
    default_config: ClassVar[dict] = {"train": {"batch_size": 64, "lr": 2e-4, "optimizer": "adam", "betas": [0.5, 0.999]}}
    # budget only; for lattices wgan-gp (model.arch=conv) is the measured choice (benchmarks/records/gan.md)
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {"spins": budget(20_000), "binary": budget(20_000)}


class ThesisDCGANCard(GANCard):
    """Constants of the ``thesis-dcgan`` family (class attributes only, no state)."""

    name: ClassVar[str] = "thesis-dcgan"
    size_keys: ClassVar[dict[str, tuple[str, ...]] | None] = {"any": ("latent",)}
    description: ClassVar[str] = "the thesis DCGAN for tabular LHC events (G 125,835 / D 101,513 parameters)"
    config_class: ClassVar[type] = ThesisDCGANConfig
    default_spec: ClassVar[DataSpec] = DataSpec("continuous", (3,), ("s", "t", "y"))
    default_config: ClassVar[dict] = {"train": {"batch_size": 256, "lr": 2e-4, "optimizer": "adam",
                                                "betas": [0.5, 0.999]}}
    # tanh output, so minmax data; the thesis architecture converges slowly, hence the long budget
    # (benchmarks/records/thesis-dcgan.md).  Other kinds fall back to the trainer's default budget
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {
        "continuous": overlay({"data": {"transform": "minmax"}}, budget(2_000))}


class SGANCard(GANCard):
    """Constants of the ``sgan`` family (class attributes only, no state)."""

    name: ClassVar[str] = "sgan"
    description: ClassVar[str] = ("semi-supervised GAN (Salimans et al. 2016): (K+1)-class discriminator/classifier, "
                                  "feature matching; model.labels_per_class labels, the rest unlabelled")
    config_class: ClassVar[type] = SGANConfig
    default_spec: ClassVar[DataSpec] = DataSpec("image", (8, 8), n_labels=10)
    capabilities: ClassVar[frozenset[str]] = frozenset({"adversarial", "classifier"})
    # Adam with β1 = 0.5 as in the paper, batch 100 (the paper's); the labels must reach the model
    default_config: ClassVar[dict] = {"data": {"condition": "labels"},
                                      "train": {"batch_size": 100, "lr": 1e-3, "optimizer": "adam",
                                                "betas": [0.5, 0.999]}}
    # budget: the step counts of docs/sgan.md's runs (8,000 on the 8x8 digits, 3,000 on Ising phases);
    # benchmarks/records/sgan.md and budgets.md
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {
        "binary": budget(8_000), "spins": budget(3_000),
        "continuous": overlay({"data": {"transform": "minmax"}}, budget(8_000)),
    }


class EPiCGANCard(CloudCard, GANCard):
    """Constants of the ``epic-gan`` family (class attributes only, no state)."""

    name: ClassVar[str] = "epic-gan"
    description: ClassVar[str] = ("EPiC-GAN: permutation-equivariant GAN on particle clouds (jets), least-squares "
                                  "loss; multiplicity from the data")
    config_class: ClassVar[type] = EPiCGANConfig
    default_output: ClassVar[str] = "linear"
    # the paper's optimiser: Adam 10⁻⁴ for both players, batch 128 (arXiv:2301.08128, sec. 3)
    default_config: ClassVar[dict[str, Any]] = {"train": {"batch_size": 128, "lr": 1e-4, "optimizer": "adam"}}
    # step budget: benchmarks/records/jets.md
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {"pointcloud": budget(20_000)}
