"""``thesis-dcgan``: the thesis's DCGAN for tabular LHC events (Mandelstam s, t and rapidity y of pp → tt̄).

Generator (noise z ~ U[−1, 1]^100)::

    Dense(100 → 200) → BatchNorm → LeakyReLU(0.2) → reshape 10×10×2
    → 4 × [ConvTranspose 3×3, stride 1, same padding, no bias (128, 64, 32, 16 filters) → BatchNorm → LeakyReLU(0.2)]
    → flatten (1600) → Dense(3) → tanh

Discriminator::

    Dense(3 → 200, no bias) → reshape 10×10×2 → Conv 3×3 same (128) → LeakyReLU → Conv (64) → LeakyReLU
    → Conv (32) → LeakyReLU → Conv (16) → flatten → LeakyReLU(0.2) → Dropout(0.2) → Dense(1) → sigmoid

Counted as Keras counts (BatchNorm running mean and variance are non-trainable weights): generator
125,835 parameters of which 124,955 trainable, discriminator 101,513.  BatchNorm uses Keras's defaults
(momentum 0.99, ε = 10⁻³).  The feature count follows the data (3 for s, t, y).
"""
from __future__ import annotations


from torch import nn

from physgen.models.base import DataSpec
from physgen.models.gan.base import GAN
from physgen.models.gan.card import ThesisDCGANCard
from physgen.models.gan.config import ThesisDCGANConfig
from physgen.models.nets import FlatConditional, flat_dim
from physgen.models.registry import register

FILTERS = (128, 64, 32, 16)


def _bn(n: int, dims: int) -> nn.Module:
    cls = nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d
    return cls(n, eps=1e-3, momentum=0.01)  # Keras: momentum 0.99 on the running average


def thesis_generator(n_in: int, n_out: int, slope: float) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(n_in, 200), _bn(200, 1), nn.LeakyReLU(slope), nn.Unflatten(1, (2, 10, 10))]
    prev = 2
    for f in FILTERS:
        layers += [nn.ConvTranspose2d(prev, f, 3, stride=1, padding=1, bias=False), _bn(f, 2), nn.LeakyReLU(slope)]
        prev = f
    layers += [nn.Flatten(), nn.Linear(prev * 100, n_out)]
    return nn.Sequential(*layers)


def thesis_discriminator(n_in: int, slope: float, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(n_in, 200, bias=False), nn.Unflatten(1, (2, 10, 10))]
    prev = 2
    for f in FILTERS[:-1]:
        layers += [nn.Conv2d(prev, f, 3, padding=1), nn.LeakyReLU(slope)]
        prev = f
    layers += [nn.Conv2d(prev, FILTERS[-1], 3, padding=1), nn.Flatten(), nn.LeakyReLU(slope), nn.Dropout(dropout),
               nn.Linear(FILTERS[-1] * 100, 1)]
    return nn.Sequential(*layers)


@register
class ThesisDCGAN(ThesisDCGANCard, GAN):
    """The thesis DCGAN for tabular events (exact architecture and parameter counts).  Its card:
    :class:`physgen.models.gan.card.ThesisDCGANCard`."""

    def build(self, config: ThesisDCGANConfig, spec: DataSpec) -> None:
        d, c = flat_dim(spec), self.cond.dim
        self.gen = FlatConditional(thesis_generator(config.latent + c, d, config.slope), spec.shape)
        self.disc = FlatConditional(thesis_discriminator(d + c, config.slope, config.dropout), ())
