"""MLP GANs: ``gan`` (the course's vanilla GAN, Raschka et al. 2022, ch. 17) and ``wgan-gp``.

Vanilla GAN (sizes follow the data; 784 = 28×28 in the course)::

    G: z ∈ U[−1, 1]^20 → Linear(20, 100) → LeakyReLU(0.01) → Linear(100, d) → tanh
    D: x ∈ [−1, 1]^d   → Linear(d, 100, bias=False) → LeakyReLU(0.01) → Dropout(0.5) → Linear(100, 1) → sigmoid

trained with BCE, Adam (lr 1e-3) and batch 64; the generator minimises the non-saturating loss by
default (``model.g_loss=minimax`` for the original game).  ``wgan-gp`` is an MLP generator and critic
(3 × 128 LeakyReLU(0.2); no normalisation in the critic, as the gradient penalty requires) trained with
the WGAN-GP loss (Gulrajani et al. 2017), λ = 10, ``n_critic`` = 5; defaults tuned for tabular data:
Gaussianised features (``data.transform=auto``) and a linear output, Adam 5·10⁻⁴ β = (0.5, 0.9), batch 256,
weight EMA 0.999 (``model.output=tanh`` with ``data.transform=minmax`` is the thesis' choice).
``model.arch=conv`` swaps in the translation-equivariant conv generator and critic of
:mod:`physgen.models.gan.conv_lattice` (spin lattices with periodic padding, and images).
"""
from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

import torch
from torch import nn

from physgen.models.base import DataSpec
from physgen.models.contract import DemoStage, Hook
from physgen.models.gan.base import GAN
from physgen.models.gan.card import VanillaGANCard, WGANGPCard
from physgen.models.gan.config import VanillaGANConfig
from physgen.errors import UserError
from physgen.models.gan.conv_lattice import LatticeCritic, LatticeGenerator, lattice_shape
from physgen.models.gan.observables import ObservableMatching
from physgen.models.gan.reweighted import ReweightedReals
from physgen.models.gan.wgan_config import ARCH_OPTIONS, ConvArch, MLPArch, WGANGPConfig  # noqa: F401  (MLPArch, ConvArch: re-exported)
from physgen.models.nets import BondFeatures, FlatConditional, Prepend, flat_dim, mlp
from physgen.models.registry import register


def raschka_generator(sizes: list[int], slope: float) -> nn.Sequential:
    """``Linear → LeakyReLU`` blocks then ``Linear`` (tanh applied by the model), names as in the book."""
    net = nn.Sequential()
    for i, (a, b) in enumerate(zip(sizes[:-2], sizes[1:-1])):
        net.add_module(f"fc_g{i}", nn.Linear(a, b))
        net.add_module(f"relu_g{i}", nn.LeakyReLU(slope))
    net.add_module(f"fc_g{len(sizes) - 2}", nn.Linear(sizes[-2], sizes[-1]))
    return net


def raschka_discriminator(sizes: list[int], slope: float, dropout: float) -> nn.Sequential:
    """``Linear(no bias) → LeakyReLU → Dropout`` blocks then ``Linear(·, 1)`` (a logit; sigmoid in the loss)."""
    net = nn.Sequential()
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        net.add_module(f"fc_d{i}", nn.Linear(a, b, bias=False))
        net.add_module(f"relu_d{i}", nn.LeakyReLU(slope))
        net.add_module(f"dropout_d{i}", nn.Dropout(dropout))
    net.add_module(f"fc_d{len(sizes) - 1}", nn.Linear(sizes[-1], 1))
    return net


@register
class VanillaGAN(VanillaGANCard, GAN):
    """The course's vanilla GAN (Raschka ch. 17).  Its card: :class:`physgen.models.gan.card.VanillaGANCard`."""

    def build(self, config: VanillaGANConfig, spec: DataSpec) -> None:
        d, c = flat_dim(spec), self.cond.dim
        self.gen = FlatConditional(raschka_generator([config.latent + c, *config.hidden_g, d], config.slope),
                                   spec.shape)
        self.disc = FlatConditional(raschka_discriminator([d + c, *config.hidden_d], config.slope, config.dropout),
                                    ())


def check_options(config: WGANGPConfig, spec: DataSpec, conditioned: bool) -> None:
    """Every cross-option check of ``wgan-gp`` in one place: options of the other architecture left on,
    and options that need a kind or shape of data (``conditioned``: the run has a condition or labels);
    ``config`` resolved for ``spec`` (:meth:`WGANGP.resolve`)."""
    other = "conv" if config.arch == "mlp" else "mlp"
    for option in ("global_pool", "projection", "group_stats", "bond_features"):
        if option in ARCH_OPTIONS[other] and getattr(config, option):
            raise UserError(f"model.{option}: only for model.arch={other}"
                            + (" (a conv critic sees the bonds itself)" if option == "bond_features" else ""))
    if config.match_fluctuations and not config.match_observables:
        raise UserError("model.match_fluctuations: needs model.match_observables > 0 (the penalty's weight)")
    if config.bond_features and len(spec.shape) != 2:
        raise UserError(f"model.bond_features: needs lattice data of shape (L, L), got {tuple(spec.shape)}")
    if config.arch != "conv":
        return
    shape = lattice_shape(spec)
    if config.projection and not conditioned:
        raise UserError("model.projection: the projection critic needs a conditioned run (data.condition)")
    for option in ("lattice_stats", "group_stats"):
        if getattr(config, option) and spec.kind != "spins":
            raise UserError(f"model.{option}: only for spin lattices, the data are {spec.kind!r}")
    if config.padding == "circular":
        for option in ("dilations_g", "dilations_d"):
            if max(getattr(config, option)) > min(shape[1:]) // 2:
                raise UserError(f"model.{option}: dilation {max(getattr(config, option))} wraps more than half "
                                f"way round the periodic {shape[1]}x{shape[2]} lattice (at most {min(shape[1:]) // 2})")


@register
class WGANGP(WGANGPCard, GAN):
    """Wasserstein GAN with gradient penalty (Gulrajani et al. 2017): MLP G and critic, or with
    ``arch=conv`` the periodic conv G and critic of :mod:`physgen.models.gan.conv_lattice`.  Its card (name,
    defaults, size keys): :class:`physgen.models.gan.card.WGANGPCard`."""

    # declared here, not in WGANGPCard: the demo reads the stage of the class that declares it
    demo: ClassVar[DemoStage | None] = DemoStage(
        "gan", "WGAN-GP (conditional on T)", 30, "08_wgan_gp_temperature.py", 1500,
        ("model.arch=mlp", "model.lattice_stats=false", "model.global_pool=false", "model.projection=false",
         "model.bond_features=true", "model.match_observables=30"))

    @classmethod
    def resolve(cls, config: WGANGPConfig, spec: DataSpec) -> WGANGPConfig:
        """The GAN's ``output``, and ``padding = auto``: circular on spin lattices (periodic boundaries), zeros
        otherwise."""
        config = super().resolve(config, spec)
        if config.padding != "auto":
            return config
        return replace(config, padding="circular" if spec.kind == "spins" else "zeros")

    def build(self, config: WGANGPConfig, spec: DataSpec) -> None:
        check_options(config, spec, conditioned=bool(self.cond.dim))
        self.reals = ReweightedReals(spec, config.reweight) if config.reweight else None
        values = None if self.reals is None else self.reals.grid
        self.observables = (ObservableMatching(spec, self.cond, values, fluctuations=config.match_fluctuations)
                            if config.match_observables else None)
        if config.arch == "conv":
            return self._build_conv(config, spec)
        d, c = flat_dim(spec), self.cond.dim
        self.gen = FlatConditional(mlp([config.latent + c, *config.hidden_g, d], act=config.act), spec.shape)
        if config.bond_features:
            self.disc = Prepend(BondFeatures(), mlp([3 * d + c, *config.hidden_d, 1], act=config.act))
        else:
            self.disc = FlatConditional(mlp([d + c, *config.hidden_d, 1], act=config.act), ())

    def _build_conv(self, config: WGANGPConfig, spec: DataSpec) -> None:
        """``model.arch=conv``: :class:`LatticeGenerator` / :class:`LatticeCritic` (periodic on spins)."""
        shape, c = lattice_shape(spec), self.cond.dim
        mode = config.padding
        self.gen = LatticeGenerator(shape, spec.shape, latent=config.latent, cond_dim=c, width=config.width,
                                    dilations=config.dilations_g, noise_channels=config.noise_channels, mode=mode,
                                    global_pool=config.global_pool)
        self.disc = LatticeCritic(shape, cond_dim=c, width=config.width, dilations=config.dilations_d, mode=mode,
                                  stats=config.lattice_stats, projection=config.projection,
                                  group=config.group_stats)

    def on_fit_start(self, data: dict[str, torch.Tensor], *, resumed: bool, generator: torch.Generator) -> None:
        """``model.reweight``: fit the resampling weights to the training lattices (not checkpointed, so on
        fresh and resumed fits alike); fresh runs also fit ``model.match_observables``' targets (buffers)."""
        super().on_fit_start(data, resumed=resumed, generator=generator)
        if self.reals is not None:
            self.reweight_summary = self.reals.fit(data["x"], data["cond"])
        if self.observables is not None and not resumed:
            self.observables.fit(data["x"], data.get("cond"), self.reals)

    def run_hooks(self, x: torch.Tensor) -> list[tuple[str, Hook]]:
        """Also print ``model.reweight``'s summary (grid, effective sample sizes) when training starts."""
        hooks = super().run_hooks(x)
        if self.reals is not None:
            hooks.append(("on_train_start", lambda ctx: ctx.say("physgen: " + self.reweight_summary)))
        return hooks

    def real_batch(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        """With ``model.reweight``: a reweighted real batch of the same size (:mod:`~physgen.models.gan.reweighted`)."""
        return batch if self.reals is None else self.reals.draw(len(batch["x"]), generator)

    def generator_penalty(self, fake: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor | float:
        """``model.match_observables`` × the observable-matching penalty (:mod:`~physgen.models.gan.observables`)."""
        if self.observables is None:
            return 0.0
        return self.config.match_observables * self.observables.penalty(fake, c)

    @property
    def noise_dim(self) -> int:
        """``latent`` (MLP) or ``latent + noise_channels·H·W`` (conv: global latent and per-site field)."""
        return self.config.latent + (self.gen.field_dim if self.config.arch == "conv" else 0)
