"""``dcgan``: deep convolutional GAN (Radford, Metz & Chintala 2016) for images and spin lattices.

G: [z, c] → Linear → (C₀, H/2ⁿ, W/2ⁿ) → BatchNorm → ReLU → n × [ConvTranspose 4×4 stride 2 → BatchNorm → ReLU]
   → Conv 3×3 → tanh.
D: [x, c broadcast as constant planes] → n × [Conv 4×4 stride 2 → (BatchNorm) → LeakyReLU(0.2)] → Linear → logit.
``channels`` gives the D widths per stage (G mirrors them); H and W must be divisible by 2ⁿ.
Spin lattices use circular (periodic) padding in D.  With ``loss=wgan-gp`` D has no BatchNorm.
"""
from __future__ import annotations


from physgen.models.base import DataSpec
from physgen.models.gan.base import GAN
from physgen.models.gan.card import DCGANCard
from physgen.models.gan.config import DCGANConfig
from physgen.models.nets import ConvCritic, ConvDecoder, FlatConditional, image_shape
from physgen.models.registry import register


@register
class DCGAN(DCGANCard, GAN):
    """Convolutional GAN for images and spin lattices.  Its card: :class:`physgen.models.gan.card.DCGANCard`."""

    def build(self, config: DCGANConfig, spec: DataSpec) -> None:
        shape = image_shape(spec)
        c = self.cond.dim
        self.gen = FlatConditional(ConvDecoder(config.latent + c, shape, config.channels, batch_norm=True),
                                   spec.shape)
        self.disc = ConvCritic(shape, config.channels, extra_channels=c, batch_norm=config.loss == "bce",
                               circular=spec.kind == "spins")
