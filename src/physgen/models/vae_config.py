"""Options of the variational autoencoders ``vae`` and ``conv-vae`` (:mod:`physgen.models.vae`) and their checks.

* :class:`VAEConfig` — latent size D, encoder widths (the decoder mirrors them), the KL weight β of the β-ELBO
  (Higgins et al. 2017; β = 1 is the ELBO), the decoder likelihood (``auto``: from the data kind) and its
  Gaussian variance, and the autoregressive decoder on spin lattices (PixelVAE, Gulrajani et al. 2017:
  ``context`` channels per site from the decoder, a causal window of ``ar_kernel`` × ``ar_kernel`` sites);
* :class:`ConvVAEConfig` — the same with ``channels`` per stride-2 convolution stage;
* :func:`check_decoder` — whether the decoder is autoregressive, refused unless the likelihood is Bernoulli or
  spin and the data are lattices ``(H, W)`` or ``(1, H, W)``.

Every bad value is a :class:`~physgen.errors.UserError` naming the ``model.*`` option.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from physgen.config import validate
from physgen.constraints import (FINITE, NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, WIDTHS, Constraint,
                                 Satisfies)
from physgen.errors import UserError
from physgen.models.base import DataSpec
from physgen.models.nets import Activation, image_shape


@dataclass
class VAEConfig:
    """Options of ``vae`` (``--set model.NAME=VALUE``)."""

    latent: int = 16                    # latent dimension D
    hidden: tuple[int, ...] = (256, 256)  # encoder widths (the decoder mirrors them)
    beta: float = 1.0                   # weight of the KL term (β-VAE)
    # auto: from the data kind
    likelihood: Literal["auto", "bernoulli", "spin", "gaussian", "binomial", "categorical"] = "auto"
    learn_variance: bool = True         # Gaussian: decoder predicts log σ² (else fixed sigma)
    sigma: float = 0.1                  # Gaussian: fixed decoder standard deviation
    min_log_var: float = -9.0           # Gaussian: lower clamp of the learned log σ²
    label_dim: int = 0                  # labels: 0 = one-hot concatenation, > 0 = learned embedding size
    act: Activation = "leaky_relu"
    sample_mean: bool = False           # Gaussian: sample() returns m(z) instead of a draw
    decoder: Literal["factorized", "autoregressive"] = "factorized"  # autoregressive: Bernoulli/spin lattices
    context: int = 4                    # autoregressive: context channels per site from the decoder
    ar_kernel: int = 9                  # autoregressive: causal window (odd)
    ar_width: int = 64                  # autoregressive: hidden width of the per-site network
    ar_global: bool = False             # autoregressive: each site also sees the mean of the spins before it
    ar_periodic: bool = False           # autoregressive: the window wraps round a periodic lattice

    constraints: ClassVar[dict[str, Constraint]] = {
        "latent": POSITIVE_INT, "hidden": WIDTHS, "beta": NON_NEGATIVE, "sigma": POSITIVE, "min_log_var": FINITE,
        "label_dim": NON_NEGATIVE_INT, "context": POSITIVE_INT, "ar_width": POSITIVE_INT,
        "ar_kernel": Satisfies(lambda k: POSITIVE_INT.accepts(k) and k >= 3 and k % 2 == 1, "an odd integer >= 3")}

    def __post_init__(self) -> None:
        validate(self, "model")
        self.hidden = tuple(int(h) for h in self.hidden)


@dataclass
class ConvVAEConfig(VAEConfig):
    """Options of ``conv-vae``: ``channels`` per stride-2 stage (H and W must divide by 2**len)."""

    channels: tuple[int, ...] = (32, 64)
    hidden: tuple[int, ...] = (256,)

    constraints: ClassVar[dict[str, Constraint]] = {"channels": WIDTHS}

    def __post_init__(self) -> None:
        super().__post_init__()
        self.channels = tuple(int(c) for c in self.channels)


def check_decoder(config: VAEConfig, spec: DataSpec, likelihood: str) -> bool:
    """Whether the decoder is autoregressive; UserError where it cannot be (not Bernoulli, not a lattice)."""
    if config.decoder == "autoregressive":
        if likelihood not in ("bernoulli", "spin"):
            raise UserError("model.decoder=autoregressive needs a Bernoulli or spin likelihood "
                            f"(spins or binary data), got {likelihood!r}")
        error = "model.decoder=autoregressive needs lattices of shape (H, W) or (1, H, W), got {shape}"
        if image_shape(spec, error)[0] != 1:
            raise UserError(error.format(shape=tuple(spec.shape)))
    return config.decoder == "autoregressive"
