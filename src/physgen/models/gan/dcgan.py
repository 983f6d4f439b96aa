"""``dcgan``: deep convolutional GAN (Radford, Metz & Chintala 2016) for images and spin lattices.

G: [z, c] → Linear → (C₀, H/2ⁿ, W/2ⁿ) → BatchNorm → ReLU → n × [ConvTranspose 4×4 stride 2 → BatchNorm → ReLU]
   → Conv 3×3 → tanh.
D: [x, c broadcast as constant planes] → n × [Conv 4×4 stride 2 → (BatchNorm) → LeakyReLU(0.2)] → Linear → logit.
``channels`` gives the D widths per stage (G mirrors them); H and W must be divisible by 2ⁿ.
Spin lattices use circular (periodic) padding in D.  With ``loss=wgan-gp`` D has no BatchNorm.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from physgen.constraints import WIDTHS, Constraint
from physgen.models.base import DataSpec, budget
from physgen.models.gan.base import GAN, GANConfig, Noise
from physgen.models.nets import ConvCritic, ConvDecoder, FlatConditional, image_shape
from physgen.models.registry import register


@dataclass
class DCGANConfig(GANConfig):
    """``dcgan``: stage widths; normal noise of size 64 by default."""

    latent: int = 64
    noise: Noise = "normal"
    channels: tuple[int, ...] = (32, 64)

    constraints: ClassVar[dict[str, Constraint]] = {"channels": WIDTHS}

    def __post_init__(self) -> None:
        super().__post_init__()
        self.channels = tuple(int(c) for c in self.channels)


@register
class DCGAN(GAN):
    """Convolutional GAN for images and spin lattices."""

    name: ClassVar[str] = "dcgan"
    size_keys: ClassVar[dict[str, tuple[str, ...]] | None] = {"any": ("latent", "channels")}
    description: ClassVar[str] = "deep convolutional GAN for images and spin lattices (sizes configurable)"
    config_class: ClassVar[type] = DCGANConfig
    kinds: ClassVar[tuple[str, ...]] = ("spins", "binary", "image")
    default_spec: ClassVar[DataSpec] = DataSpec("image", (28, 28))
    default_config: ClassVar[dict] = {"train": {"batch_size": 64, "lr": 2e-4, "optimizer": "adam", "betas": [0.5, 0.999]}}
    # budget only; for lattices wgan-gp (model.arch=conv) is the measured choice (benchmarks/records/gan.md)
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {"spins": budget(20_000), "binary": budget(20_000)}

    def build(self, config: DCGANConfig, spec: DataSpec) -> None:
        shape = image_shape(spec)
        c = self.cond.dim
        self.gen = FlatConditional(ConvDecoder(config.latent + c, shape, config.channels, batch_norm=True),
                                   spec.shape)
        self.disc = ConvCritic(shape, config.channels, extra_channels=c, batch_norm=config.loss == "bce",
                               circular=spec.kind == "spins")
