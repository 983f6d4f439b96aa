"""Options of the GAN families (``[model]`` section) and their checks: :class:`GANConfig`, the options every GAN
shares (noise, loss, conditioning, generator output, diagnostics), and each family's dataclass over it:
``gan`` (:class:`VanillaGANConfig`), ``dcgan`` (:class:`DCGANConfig`), ``thesis-dcgan``
(:class:`ThesisDCGANConfig`), ``sgan`` (:class:`SGANConfig`) and ``epic-gan`` (:class:`EPiCGANConfig`);
``wgan-gp``'s are in :mod:`physgen.models.gan.wgan_config`.  The models are in the sibling modules
(:mod:`~physgen.models.gan.base`, :mod:`~physgen.models.gan.mlp`, ...).

Every bad value is a :class:`~physgen.errors.UserError` naming the ``model.*`` option.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from physgen.config import validate
from physgen.constraints import NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE_INT, WIDTHS, Constraint
from physgen.errors import UserError
from physgen.models.nets import CondMap


Noise = Literal["uniform", "normal"]
Loss = Literal["bce", "wgan-gp", "lsgan"]


@dataclass
class GANConfig:
    """Options every GAN shares (``--set model.NAME=VALUE``)."""

    latent: int = 20                 # noise dimension
    noise: Noise = "uniform"         # uniform on [−1, 1] | normal N(0, I)
    loss: Loss = "bce"               # lsgan: least squares (Mao et al. 2017)
    g_loss: Literal["non-saturating", "minimax"] = "non-saturating"   # bce only
    gp_weight: float = 10.0          # wgan-gp: λ
    n_critic: int = 1                # critic updates per generator update
    label_dim: int = 0               # labels: 0 = one-hot concatenation, > 0 = learned embedding size
    cond_map: CondMap = "linear"     # how a temperature enters the networks: linear | energy (the exact energy
                                     # per spin u_L(T) of the finite lattice, Kaufman 1949; spin lattices)
    output: Literal["auto", "tanh", "linear", "clip"] = "auto"   # generator output on continuous and image data
                                     # (clip: linear, clamped to the training data's per-feature range; images:
                                     # auto = tanh on [0, 1] intensities, linear/clip for a run in logit space)
    diagnostics: bool = True         # write RUN_DIR/diagnostics (loss curves, fixed-z samples, warnings)
    sample_epochs: tuple[int, ...] = (1, 2, 4, 10, 50, 100)  # epochs whose fixed-z samples are kept

    constraints: ClassVar[dict[str, Constraint]] = {
        "latent": POSITIVE_INT, "n_critic": POSITIVE_INT, "gp_weight": NON_NEGATIVE, "label_dim": NON_NEGATIVE_INT,
        "sample_epochs": WIDTHS}

    def __post_init__(self) -> None:
        validate(self, "model")
        self.sample_epochs = tuple(int(e) for e in self.sample_epochs)


@dataclass
class VanillaGANConfig(GANConfig):
    """``gan``: hidden widths of G and D, LeakyReLU slope, D dropout."""

    hidden_g: tuple[int, ...] = (100,)
    hidden_d: tuple[int, ...] = (100,)
    slope: float = 0.01
    dropout: float = 0.5

    constraints: ClassVar[dict[str, Constraint]] = {
        "hidden_g": WIDTHS, "hidden_d": WIDTHS, "slope": NON_NEGATIVE, "dropout": NON_NEGATIVE}

    def __post_init__(self) -> None:
        super().__post_init__()
        self.hidden_g = tuple(int(h) for h in self.hidden_g)
        self.hidden_d = tuple(int(h) for h in self.hidden_d)


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


@dataclass
class ThesisDCGANConfig(GANConfig):
    latent: int = 100
    slope: float = 0.2
    dropout: float = 0.2

    constraints: ClassVar[dict[str, Constraint]] = {"slope": NON_NEGATIVE, "dropout": NON_NEGATIVE}


@dataclass
class SGANConfig(GANConfig):
    """``sgan``: labelled rows per class, the (K+1)-class discriminator's widths and noise, the generator's."""

    labels_per_class: int = 10            # labelled training rows kept per class (the rest are unlabelled)
    label_seed: int = 0                   # seed of the draw of the labelled rows (the same on every rank)
    latent: int = 32
    hidden_g: tuple[int, ...] = (256, 256)
    hidden_d: tuple[int, ...] = (256, 128, 128)
    slope: float = 0.2                    # LeakyReLU slope of the discriminator
    noise_in: float = 0.3                 # σ of the Gaussian noise added to D's input while training
    noise_hidden: float = 0.5             # σ of the Gaussian noise added to D's hidden layers while training
    unsup_weight: float = 1.0             # w: weight of the unsupervised (real vs fake) term
    g_batchnorm: bool = True              # batch normalisation in the generator (as in the paper)

    constraints: ClassVar[dict[str, Constraint]] = {
        "labels_per_class": POSITIVE_INT, "label_seed": NON_NEGATIVE_INT, "hidden_g": WIDTHS, "hidden_d": WIDTHS,
        **{name: NON_NEGATIVE for name in ("slope", "noise_in", "noise_hidden", "unsup_weight")}}

    def __post_init__(self) -> None:
        super().__post_init__()
        self.hidden_g = tuple(int(h) for h in self.hidden_g)
        self.hidden_d = tuple(int(h) for h in self.hidden_d)
        if self.loss != "bce":
            raise UserError(f"model.loss: sgan trains the (K+1)-class discriminator loss, set model.loss=bce "
                            f"(got {self.loss!r})")


@dataclass
class EPiCGANConfig(GANConfig):
    """``epic-gan``: widths and depths of the EPiC generator and discriminator (``[model]`` section); the
    defaults are those of the authors' public training script (6 generator and 3 discriminator EPiC layers,
    width 128, 10 global and 3 per-point latents, least-squares loss)."""

    latent: int = 10          # global latent z_g
    noise: Noise = "normal"
    loss: Loss = "lsgan"
    point_latent: int = 3     # latent features per point z_i
    hidden: int = 128         # per-point width of both networks
    global_dim: int = 10      # global vector width of both networks
    layers_g: int = 6         # EPiC layers of the generator
    layers_d: int = 3         # EPiC layers of the discriminator
    diagnostics: bool = False  # the image-grid diagnostics of the other GANs do not apply to point clouds

    constraints: ClassVar[dict[str, Constraint]] = {
        key: POSITIVE_INT for key in ("point_latent", "hidden", "global_dim", "layers_g", "layers_d")}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.output not in ("auto", "linear"):
            raise UserError(f"model.output: epic-gan generates standardised features with a linear output "
                            f"(auto or linear), got {self.output!r}")
        if self.diagnostics:
            raise UserError("model.diagnostics: the GAN diagnostics (image grids) are not available for point "
                            "clouds; judge a run with physgen evaluate")
