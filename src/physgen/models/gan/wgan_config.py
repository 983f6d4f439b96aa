"""Options of ``wgan-gp`` (:mod:`physgen.models.gan.mlp`): :class:`WGANGPConfig` and the records of its two
architectures' options, :class:`MLPArch` and :class:`ConvArch` (:data:`ARCH_OPTIONS` names the keys of each).
The checks that span options or need the data are :func:`physgen.models.gan.mlp.check_options`.

Every bad value is a :class:`~physgen.errors.UserError` naming the ``model.*`` option.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from physgen.constraints import NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE_INT, WIDTHS, Constraint
from physgen.models.gan.config import GANConfig, Loss, Noise
from physgen.models.gan.conv_lattice import Padding
from physgen.models.nets import Activation


Arch = Literal["mlp", "conv"]


@dataclass(frozen=True)
class MLPArch:
    """``model.arch=mlp``: the flat generator and critic (widths per hidden layer, activation), optionally
    with the nearest-neighbour bond products as extra critic inputs on lattices."""

    hidden_g: tuple[int, ...]
    hidden_d: tuple[int, ...]
    act: Activation
    bond_features: bool


@dataclass(frozen=True)
class ConvArch:
    """``model.arch=conv``: the periodic residual conv generator and critic of :mod:`.conv_lattice`."""

    width: int
    dilations_g: tuple[int, ...]
    dilations_d: tuple[int, ...]
    noise_channels: int
    padding: Padding
    lattice_stats: bool
    global_pool: bool
    projection: bool
    group_stats: int


ARCH_OPTIONS = {"mlp": tuple(MLPArch.__dataclass_fields__), "conv": tuple(ConvArch.__dataclass_fields__)}


@dataclass
class WGANGPConfig(GANConfig):
    """``wgan-gp``: MLP widths; defaults tuned on the tt̄ events (see docs/gan.md).

    The architecture's own options are flat keys (``model.width=16``); :attr:`arch_options` groups those
    of the chosen ``arch`` (:class:`MLPArch` or :class:`ConvArch`), and :func:`check_options` holds every
    check that spans options or needs the data.
    """

    latent: int = 32
    noise: Noise = "normal"
    loss: Loss = "wgan-gp"
    n_critic: int = 5
    hidden_g: tuple[int, ...] = (128, 128, 128)
    hidden_d: tuple[int, ...] = (128, 128, 128)
    act: Activation = "leaky_relu"
    bond_features: bool = False       # lattices: the critic also sees nearest-neighbour products s_i s_j
    arch: Arch = "mlp"                # conv: lattices/images, periodic conv G and critic (conv_lattice.py)
    width: int = 32                   # conv: channels of every G and critic layer
    dilations_g: tuple[int, ...] = (1, 2, 4, 1, 2, 1)  # conv: dilation of each residual G block
    dilations_d: tuple[int, ...] = (1, 2, 4, 1)        # conv: dilation of each residual critic block
    noise_channels: int = 2           # conv: per-site noise channels of G (z gains noise_channels·H·W columns)
    padding: Padding = "auto"         # conv: auto is circular for spins, zeros otherwise
    lattice_stats: bool = False       # conv, spins: the critic head also sees m, |m|, m², bond energy per site
    global_pool: bool = False         # conv: each G block also gets a per-channel field from the site mean of h
    projection: bool = False          # conv, conditioned: critic adds ⟨φ(c), pooled features⟩ (projection critic)
    group_stats: int = 0              # conv, spins: critic also sees the spread of m, |m|, m², e over groups of
                                      # this many lattices of its batch, grouped by condition (0 = off)
    match_observables: float = 0.0    # spins: weight of the generator penalty matching ⟨|m|⟩, ⟨m²⟩, ⟨e⟩ per
                                      # trained condition value to the data (observables.py; 0 = off)
    match_fluctuations: bool = False  # with match_observables: also the variances of |m| and e per value (χ, C)
    reweight: int = 0                 # spins conditioned on temperature: real batches at this many temperatures
                                      # over the trained range, Ferrenberg-Swendsen reweighted (reweighted.py)

    constraints: ClassVar[dict[str, Constraint]] = {
        "hidden_g": WIDTHS, "hidden_d": WIDTHS, "width": POSITIVE_INT, "dilations_g": WIDTHS, "dilations_d": WIDTHS,
        "noise_channels": POSITIVE_INT, "group_stats": NON_NEGATIVE_INT, "match_observables": NON_NEGATIVE,
        "reweight": NON_NEGATIVE_INT}

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("hidden_g", "hidden_d", "dilations_g", "dilations_d"):
            setattr(self, name, tuple(int(v) for v in getattr(self, name)))

    @property
    def arch_options(self) -> MLPArch | ConvArch:
        """The options of the chosen architecture, as one frozen record."""
        cls = MLPArch if self.arch == "mlp" else ConvArch
        return cls(**{name: getattr(self, name) for name in ARCH_OPTIONS[self.arch]})
