"""The two-player game shared by every GAN: noise, data-space maps, and one adversarial step.

Losses (D outputs a logit a = logit D(x), so D(x) = σ(a); numerically stable BCE with logits):

``bce``      (Goodfellow et al. 2014) discriminator: −E log D(x) − E log(1 − D(G(z)));
             generator ``non-saturating``: −E log D(G(z)) (default), ``minimax``: E log(1 − D(G(z))).
             The optimal discriminator is D* = p_r / (p_r + p_g); at D* the minimax generator loss is
             2 JS(p_r ‖ p_g) − log 4 (vanishing gradients when the supports are disjoint).
``wgan-gp``  (Gulrajani et al. 2017) critic: E f(G(z)) − E f(x) + λ E (‖∇f(x̂)‖₂ − 1)², with
             x̂ = u x + (1 − u) G(z), u ~ U[0, 1] per sample; generator: −E f(G(z)); the critic is
             updated every call, the generator every ``n_critic``-th call.

Logged per step: ``g_loss``, ``d_loss``, ``d_real`` = mean D(x), ``d_fake`` = mean D(G(z)) (probabilities for
``bce``, raw outputs for ``lsgan``, critic values for ``wgan-gp``), and for ``wgan-gp`` also ``w_dist`` =
E f(x) − E f(G(z)) and ``gp``.
A non-finite loss skips that player's update and is logged as NaN so the trainer rolls back.
"""
from __future__ import annotations

import math
from dataclasses import replace

import torch
from torch import nn
from torch.nn import functional as F

from physgen.errors import UserError
from physgen.models.base import DataSpec, GenerativeModel
from physgen.models.contract import Hook
from physgen.models.gan.card import GANCard
from physgen.models.gan.config import GANConfig
from physgen.models.nets import Conditioner
from physgen.models.spaces import from_signed

class GAN(GANCard, GenerativeModel):
    """Base of the GAN family; subclasses build ``self.gen`` and ``self.disc`` in :meth:`build`.

    ``self.gen(z, c) -> (B, *spec.shape)`` pre-activation; ``self.disc(x, c) -> (B,)`` logits/critic values,
    with ``x`` in the GAN's internal space: spins ±1; binary data, and images under a tanh output, mapped from
    [0, 1] to [−1, 1]; continuous data, and images under a linear or clipped output (e.g. in logit space), as
    given (after the run's preprocessing).  The GANs' shared card: :class:`physgen.models.gan.card.GANCard`; the
    options every GAN shares: :class:`physgen.models.gan.config.GANConfig`.
    """

    @classmethod
    def resolve(cls, config: GANConfig, spec: DataSpec) -> GANConfig:
        """``output = auto``: tanh on spins, binary data and [0, 1] image intensities, else the family's
        :attr:`default_output`."""
        if config.output != "auto":
            return config
        squashed = spec.kind in ("spins", "binary", "image")
        return replace(config, output="tanh" if squashed else cls.default_output)

    def __init__(self, config: GANConfig, spec: DataSpec):
        super().__init__(config, spec)
        config = self.config
        self.cond = Conditioner(spec, config.label_dim, config.cond_map)
        self.build(config, spec)
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))  # adversarial steps taken
        self.register_buffer("lo", -torch.ones(spec.shape))  # data range (output=clip), set at train start
        self.register_buffer("hi", torch.ones(spec.shape))
        self.register_buffer("last_g", torch.full((2,), math.nan))  # last generator loss and D(G(z))

    def build(self, config: GANConfig, spec: DataSpec) -> None:
        raise NotImplementedError

    def networks(self):
        """The generator (with a learned label embedding) and the discriminator, each with its forward call."""
        x, cond, labels = self.dummy_inputs()
        c = self.cond(cond, labels) if self.cond.active else None
        z = self.noise(len(x), None)
        return {"generator": ([self.gen, self.cond], lambda: self.generate(z, c)),
                "discriminator": ([self.disc], lambda: self.disc(self.to_internal(x), c))}

    @property
    def device(self) -> torch.device:
        """The device of the model's buffers (cheap: called for every noise draw)."""
        return self.calls.device

    # --- spaces -----------------------------------------------------------------------------
    @property
    def output_kind(self) -> str:
        """``tanh`` (always for spins/binary; images unless ``output`` is linear or clip), ``linear`` or ``clip``
        (continuous data, images)."""
        return "tanh" if self.spec.kind in ("spins", "binary") else self.config.output

    @property
    def squash(self) -> bool:
        """True when the generator ends in tanh."""
        return self.output_kind == "tanh"

    def on_fit_start(self, data: dict[str, torch.Tensor], *, resumed: bool, generator: torch.Generator) -> None:
        """Fresh runs: record the per-feature range of the training data (model space) for ``output=clip``
        (checkpointed buffers)."""
        if resumed:
            return
        x = data["x"].flatten(1)
        self.lo.copy_(x.min(0).values.view_as(self.lo))
        self.hi.copy_(x.max(0).values.view_as(self.hi))

    def to_internal(self, x: torch.Tensor) -> torch.Tensor:
        return 2 * x - 1 if self.spec.kind == "binary" or (self.spec.kind == "image" and self.squash) else x

    def generate(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """G(z, c) in the internal space, ``(B, *shape)`` (differentiable).  ``clip`` is a hard clamp to
        the data range (zero gradient outside it), which lets G put point masses on the boundary."""
        out = self.gen(z, c)
        kind = self.output_kind
        if kind == "tanh":
            return torch.tanh(out)
        if kind == "clip":
            return torch.maximum(torch.minimum(out, self.hi), self.lo)
        return out

    def to_data(self, y: torch.Tensor) -> torch.Tensor:
        """Internal space -> model space of the data kind: spins sign(y), binary 1[y > 0], image (y + 1)/2
        under tanh (else as generated)."""
        if self.spec.kind == "image":
            return ((y + 1) / 2).clamp(0, 1) if self.squash else y
        return from_signed(y, self.spec.kind)

    @property
    def noise_dim(self) -> int:
        """Columns of the generator's noise ``z`` (``latent``; more for a per-site noise field)."""
        return self.config.latent

    def noise(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """``(n, noise_dim)`` noise: U[−1, 1] (the course) or N(0, I)."""
        shape, dev = (n, self.noise_dim), self.device
        if self.config.noise == "uniform":
            return torch.rand(shape, generator=generator, device=dev) * 2 - 1
        return torch.randn(shape, generator=generator, device=dev)

    def training_noise(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The noise of a generated batch compared with the real batch ``x`` (model space): by default
        :meth:`noise` of ``len(x)`` rows, independent of ``x``."""
        return self.noise(len(x), generator)

    # --- training ---------------------------------------------------------------------------
    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Generator (incl. a learned label embedding) and discriminator parameters, for two optimizers."""
        gen = [p for p in self.gen.parameters() if p.requires_grad] + list(self.cond.parameters())
        return {"generator": gen, "discriminator": [p for p in self.disc.parameters() if p.requires_grad]}

    def adversarial_step(self, batch: dict[str, torch.Tensor], optimizers: dict[str, torch.optim.Optimizer],
                         *, generator: torch.Generator) -> dict[str, float]:
        """One discriminator/critic update and, on every ``n_critic``-th call starting with the first, one
        generator update; the last generator values (a checkpointed buffer) are repeated in between."""
        batch = self.real_batch(batch, generator)
        x = self.to_internal(batch["x"].float())
        c = self.cond.from_batch(batch)
        logs = self._d_step(x, None if c is None else c.detach(), optimizers["discriminator"], generator)
        if int(self.calls) % self.config.n_critic == 0:
            c = self.cond.from_batch(batch)  # fresh graph: a learned label embedding trains with G
            g = self._g_step(x, c, optimizers["generator"], generator)
            self.last_g.copy_(torch.tensor([g["g_loss"], g["d_fake_g"]]))
        self.calls += 1
        g_loss, d_fake_g = self.last_g.tolist()
        return {**logs, "g_loss": g_loss, "d_fake_g": d_fake_g}

    def _d_step(self, x, c, opt, generator) -> dict[str, float]:
        with torch.no_grad():
            fake = self.generate(self.training_noise(x, generator), c)
        real_out, fake_out = self.disc(x, c), self.disc(fake, c)
        if self.config.loss == "bce":
            loss = (F.binary_cross_entropy_with_logits(real_out, torch.ones_like(real_out))
                    + F.binary_cross_entropy_with_logits(fake_out, torch.zeros_like(fake_out)))
            logs = {"d_real": torch.sigmoid(real_out).mean(), "d_fake": torch.sigmoid(fake_out).mean()}
        elif self.config.loss == "lsgan":
            loss = 0.5 * ((real_out - 1) ** 2).mean() + 0.5 * (fake_out ** 2).mean()
            logs = {"d_real": real_out.mean(), "d_fake": fake_out.mean()}
        else:
            gp = self.gradient_penalty(x, fake, c, generator)
            w = real_out.mean() - fake_out.mean()
            loss = -w + self.config.gp_weight * gp
            logs = {"d_real": real_out.mean(), "d_fake": fake_out.mean(), "w_dist": w, "gp": gp}
        return {"d_loss": _apply(loss, opt), **{k: float(v.detach()) for k, v in logs.items()}}

    def _g_step(self, x, c, opt, generator) -> dict[str, float]:
        fake = self.generate(self.training_noise(x, generator), c)
        out = self.disc(fake, c)
        if self.config.loss == "wgan-gp":
            loss = -out.mean()
        elif self.config.loss == "lsgan":
            loss = 0.5 * ((out - 1) ** 2).mean()
        elif self.config.g_loss == "non-saturating":
            loss = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
        else:  # minimax: minimise E log(1 − D(G(z))) = −BCE(D(G(z)), 0)
            loss = -F.binary_cross_entropy_with_logits(out, torch.zeros_like(out))
        d_fake = torch.sigmoid(out).mean() if self.config.loss == "bce" else out.mean()   # raw for lsgan
        return {"g_loss": _apply(loss + self.generator_penalty(fake, c), opt), "d_fake_g": float(d_fake.detach())}

    def real_batch(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        """The real batch the critic sees this step (and whose conditions G is asked for); the data's by default."""
        return batch

    def generator_penalty(self, fake: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor | float:
        """Extra generator loss on the generated batch ``fake`` (internal space); none by default."""
        return 0.0

    def gradient_penalty(self, x: torch.Tensor, fake: torch.Tensor, c: torch.Tensor | None,
                         generator: torch.Generator | None) -> torch.Tensor:
        """E (‖∇_x̂ f(x̂)‖₂ − 1)² at x̂ = u x + (1 − u) x̃, u ~ U[0, 1] per sample (Gulrajani et al. 2017)."""
        u = torch.rand((len(x),) + (1,) * (x.dim() - 1), generator=generator, device=x.device)
        xh = (u * x + (1 - u) * fake).requires_grad_(True)
        grad, = torch.autograd.grad(self.disc(xh, c).sum(), xh, create_graph=True)
        return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()

    def run_hooks(self, x: torch.Tensor) -> list[tuple[str, Hook]]:
        """With ``model.diagnostics``: the hooks of :class:`~physgen.models.diagnostics.GANDiagnostics` (loss
        curves, fixed-noise samples, warnings under ``RUN_DIR/diagnostics``)."""
        if not self.config.diagnostics:
            return []
        from physgen.models.diagnostics import GANDiagnostics

        return GANDiagnostics(self, x, epochs=self.config.sample_epochs).hooks()

    def check_batch(self, batch: dict[str, torch.Tensor]) -> None:
        x = batch["x"]
        if self.spec.kind == "continuous" and self.squash and (x.min() < -1 or x.max() > 1):
            raise UserError(f"model {self.name!r} ends in tanh but the (preprocessed) data leave [−1, 1] "
                            f"(range {float(x.min()):.3g}..{float(x.max()):.3g}); use data.transform=minmax "
                            "or model.output=linear")
        if self.spec.kind == "image" and self.squash and (x.min() < 0 or x.max() > 1):
            raise UserError(f"model {self.name!r} maps image intensities in [0, 1] through tanh but the "
                            f"(preprocessed) data leave [0, 1] (range {float(x.min()):.3g}..{float(x.max()):.3g}); "
                            "use model.output=linear (e.g. with data.transform=logit)")

    # --- generation -------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator, condition: dict[str, float] | None = None,
               z: torch.Tensor | None = None) -> torch.Tensor:
        """``(n, *shape)`` samples G(z, c) mapped to the data kind (``z`` given: use it, e.g. a fixed grid)."""
        cond, labels = self.cond.for_sampling(n, condition, generator)
        c = self.cond(cond, labels) if self.cond.active else None
        z = self.noise(n, generator) if z is None else z.to(self.device)
        return self.to_data(self.generate(z, c))


def _apply(loss: torch.Tensor, opt: torch.optim.Optimizer) -> float:
    """Backpropagate and step unless ``loss`` is not finite; returns its value (NaN kept for rollback)."""
    value = float(loss.detach())
    opt.zero_grad(set_to_none=True)
    if math.isfinite(value):
        loss.backward()
        opt.step()
    return value
