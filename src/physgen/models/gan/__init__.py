"""The GAN family: ``gan`` (course vanilla GAN), ``wgan-gp``, ``dcgan`` and ``thesis-dcgan``.

All share :class:`physgen.models.gan.base.GAN` (the capability ``adversarial``, two parameter groups
``generator`` / ``discriminator``, one :meth:`~GAN.adversarial_step` per batch) and are conditional on
labels or continuous parameters when the run is.  What describes each family (name, defaults per data kind,
size keys) is its card in :mod:`physgen.models.gan.card`; the options are in :mod:`physgen.models.gan.config` and
:mod:`physgen.models.gan.wgan_config`.
"""
from physgen.models.gan.base import GAN, GANConfig
from physgen.models.gan.dcgan import DCGAN, DCGANConfig
from physgen.models.gan.mlp import WGANGP, VanillaGAN, VanillaGANConfig, WGANGPConfig
from physgen.models.gan.thesis import ThesisDCGAN, ThesisDCGANConfig
from physgen.models.gan.sgan import SGAN, SGANConfig  # noqa: F401  (registers ``sgan``)

__all__ = ["GAN", "GANConfig", "DCGAN", "DCGANConfig", "VanillaGAN", "VanillaGANConfig", "WGANGP", "WGANGPConfig",
           "ThesisDCGAN", "ThesisDCGANConfig"]
