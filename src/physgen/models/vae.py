"""Variational autoencoders: ``vae`` (MLP) and ``conv-vae`` (convolutional), optionally conditional.

Model (Kingma & Welling 2014; Rezende, Mohamed & Wierstra 2014): prior p(z) = N(0, I_D), encoder
q(z|x, c) = N(μ(x, c), diag σ²(x, c)), decoder p(x|z, c) with a likelihood chosen from the data kind:

=============  =======================================================================
``binary``     Bernoulli on {0, 1}: log p = Σ_i [x_i log π_i + (1 − x_i) log(1 − π_i)]
``spins``      the same on s = (x + 1)/2 for x ∈ {−1, +1} ("spin" likelihood)
``continuous`` Gaussian N(x; m(z), σ²) with a fixed σ (``model.sigma``) or a learned
``image``      per-sample, per-feature log σ² (``model.learn_variance``, the default)
``image`` on   binomial: the pixel counts n = N x of grey levels k/N (``DataSpec.levels``) as
a grid         n ~ Binomial(N, π): log p = Σ_i [log C(N, n_i) + n_i log π_i + (N − n_i) log(1 − π_i)]
               (N independent Bernoulli draws of one π, the binary case counted N times), or
               categorical: one of the N + 1 levels per pixel, log p = Σ_i log softmax(ℓ_i)[n_i]
               (``model.likelihood``; the decoder gives N + 1 logits ℓ_i per pixel)
=============  =======================================================================

On spin lattices the family's defaults make the Bernoulli decoder autoregressive (``model.decoder``):
p(x|z, c) = Π_i p(x_i | x_<i, z, c) in raster order (:mod:`physgen.models.autoregressive`, PixelVAE),
since a factorised decoder's independent per-spin noise breaks bonds at every temperature.

Training minimises the negative β-ELBO (Higgins et al. 2017; β = 1 is the ELBO)::

    −L_β(x) = −E_q[log p(x|z)] + β KL(q(z|x) ‖ N(0, I)),
    KL = ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1)                (closed form),

with the reparameterisation z = μ + σ ⊙ ε, ε ~ N(0, I).  :meth:`VAE.log_prob` scores data with the
ELBO or the importance-weighted bound of Burda, Grosse & Salakhutdinov (2016)::

    IWAE_k(x) = E[ log (1/k) Σ_{i≤k} p(x, z_i) / q(z_i|x) ],   z_i ~ q(z|x),

which satisfies ELBO ≤ IWAE_k ≤ IWAE_{k'} ≤ log p(x) for k < k' (computed with ``logsumexp``).
The options and their checks: :mod:`physgen.models.vae_config`; the families' cards (names, defaults per data
kind): :mod:`physgen.models.vae_card`.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from physgen.errors import UserError
from physgen.models.autoregressive import AutoregressiveHead
from physgen.models.base import DataSpec, GenerativeModel, on_grid
from physgen.models.contract import DemoStage
from physgen.models.nets import ConvDecoder, ConvEncoder, Conditioner, flat_dim, image_shape, mlp
from physgen.models.registry import register
from physgen.models.vae_card import ConvVAECard, VAECard
from physgen.models.vae_config import ConvVAEConfig, VAEConfig, check_decoder
from physgen.samplers.draws import binomial_fraction, categorical

LOG_2PI = math.log(2 * math.pi)


@register
class VAE(VAECard, GenerativeModel):
    """MLP variational autoencoder (Kingma & Welling 2014) with ELBO/IWAE scoring; conditional on
    labels or continuous parameters (temperature) when the run is.  Its card (name, defaults, size keys):
    :class:`physgen.models.vae_card.VAECard`."""

    # declared here, not in VAECard: the demo reads the stage of the class that declares it
    demo: ClassVar[DemoStage | None] = DemoStage("vae", "Variational autoencoder (conditional on T)", 20,
                                                 "06_vae_latent.py", 500)

    @classmethod
    def resolve(cls, config: VAEConfig, spec: DataSpec) -> VAEConfig:
        """The decoder likelihood for data like ``spec`` (``auto``: binary -> bernoulli, spins -> spin, images on
        a grid of grey levels -> categorical, else gaussian); refuses a likelihood the data cannot have.  The
        categorical decoder keeps the point masses of the grid's end levels, which Gaussian draws smear
        (docs/vae.md, benchmarks/records/vae.md)."""
        kind = spec.kind
        grid = "categorical" if spec.levels else "gaussian"
        auto = {"binary": "bernoulli", "spins": "spin", "continuous": "gaussian", "image": grid}[kind]
        lik = auto if config.likelihood == "auto" else config.likelihood
        if lik in ("binomial", "categorical") and not (kind == "image" and spec.levels):
            raise UserError(f"model.likelihood={lik} needs grey images whose pixels lie on a grid k/N "
                            f"(kind 'image'), got kind {kind!r} without such a grid")
        if lik == "spin" and kind != "spins":
            raise UserError(f"model.likelihood=spin needs data of kind 'spins', got {kind!r}")
        if lik == "bernoulli" and kind in ("spins", "continuous"):
            raise UserError(f"model.likelihood=bernoulli needs binary or [0, 1] image data, got {kind!r}")
        return config if lik == config.likelihood else replace(config, likelihood=lik)

    def __init__(self, config: VAEConfig, spec: DataSpec):
        super().__init__(config, spec)
        config = self.config
        self.likelihood = config.likelihood
        self.learned_var = self.likelihood == "gaussian" and config.learn_variance
        self.autoregressive = check_decoder(config, spec, self.likelihood)
        self.cond = Conditioner(spec, config.label_dim)
        self._build(config, spec)
        if self.autoregressive:
            self.head = AutoregressiveHead(config.context, kernel=config.ar_kernel, width=config.ar_width,
                                           act=config.act, global_mean=config.ar_global,
                                           periodic=config.ar_periodic)

    def decoder_channels(self) -> int:
        """Decoder outputs per site: the context map (autoregressive), mean and log σ², or one parameter."""
        if self.autoregressive:
            return self.config.context
        if self.likelihood == "categorical":
            return self.spec.levels + 1
        return 2 if self.learned_var else 1

    def _build(self, config: VAEConfig, spec: DataSpec) -> None:
        d, c, h = flat_dim(spec), self.cond.dim, list(config.hidden)
        self.encoder = mlp([d + c, *h, 2 * config.latent], act=config.act)
        self.decoder = mlp([config.latent + c, *h[::-1], d * self.decoder_channels()], act=config.act)

    # --- networks ---------------------------------------------------------------------------
    def networks(self):
        """One network: the encoder and decoder, called as ``decode(encode(x)[0])``."""
        x, cond, labels = self.dummy_inputs()
        c = self.cond(cond, labels) if self.cond.active else None
        return {"model": ([self], lambda: self.decode(self.encode(x, c)[0], c))}

    def encode(self, x: torch.Tensor, c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (B, *shape)`` -> ``(μ, log σ²)``, each ``(B, D)``."""
        h = x.flatten(1)
        if c is not None:
            h = torch.cat([h, c], 1)
        mu, log_var = self.encoder(h).chunk(2, dim=1)
        return mu, log_var

    def decode(self, z: torch.Tensor, c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``z (B, D)`` -> decoder parameters ``(B, *shape)``: logits (Bernoulli/spin) or the mean
        (Gaussian), and ``log σ² (B, *shape)`` when learned (else None); with the autoregressive
        decoder, the context map ``(B, context, H, W)`` and None."""
        if c is not None:
            z = torch.cat([z, c], 1)
        return self._split(self.decoder(z).reshape(len(z), -1))

    def _split(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.autoregressive:
            return out.reshape(len(out), self.config.context, *image_shape(self.spec)[1:]), None
        shape = (len(out), *self.spec.shape)
        if self.likelihood == "categorical":   # (B, *shape, N + 1) logits of the levels
            return out.reshape(len(out), self.spec.levels + 1, *self.spec.shape).movedim(1, -1), None
        if not self.learned_var:
            return out.reshape(shape), None
        mean, log_var = out.chunk(2, dim=1)
        return mean.reshape(shape), log_var.clamp(min=self.config.min_log_var, max=6.0).reshape(shape)

    # --- likelihood -------------------------------------------------------------------------
    def log_likelihood(self, x: torch.Tensor, params: torch.Tensor, log_var: torch.Tensor | None) -> torch.Tensor:
        """log p(x|z) summed over features: ``(B, *shape)`` -> ``(B,)``."""
        if self.likelihood == "categorical":
            k = (x * self.spec.levels).round().long()
            return torch.distributions.Categorical(logits=params).log_prob(k).flatten(1).sum(1)
        if self.likelihood == "binomial":
            n = (x * self.spec.levels).round()
            return torch.distributions.Binomial(self.spec.levels, logits=params).log_prob(n).flatten(1).sum(1)
        if self.likelihood in ("bernoulli", "spin"):
            target = (x + 1) / 2 if self.likelihood == "spin" else x
            if self.autoregressive:
                params = self.head((2 * target - 1).reshape(len(x), *params.shape[2:]), params).reshape(x.shape)
            return -F.binary_cross_entropy_with_logits(params, target, reduction="none").flatten(1).sum(1)
        if log_var is None:
            log_var = torch.full_like(params, 2 * math.log(self.config.sigma))
        lp = -0.5 * ((x - params) ** 2 * torch.exp(-log_var) + log_var + LOG_2PI)
        return lp.flatten(1).sum(1)

    @staticmethod
    def kl(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
        """KL(N(μ, σ²) ‖ N(0, I)) = ½ Σ (μ² + σ² − log σ² − 1): ``(B, D)`` -> ``(B,)``."""
        return 0.5 * (mu ** 2 + log_var.exp() - log_var - 1).sum(1)

    @staticmethod
    def reparameterize(mu: torch.Tensor, log_var: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """z = μ + σ ⊙ ε with ε ~ N(0, I) drawn from ``generator``."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + (0.5 * log_var).exp() * eps

    # --- training ---------------------------------------------------------------------------
    def elbo_terms(self, x: torch.Tensor, c: torch.Tensor | None, generator) -> tuple[torch.Tensor, torch.Tensor]:
        """One-sample reconstruction term log p(x|z) and the analytic KL, each ``(B,)``."""
        mu, log_var = self.encode(x, c)
        z = self.reparameterize(mu, log_var, generator)
        return self.log_likelihood(x, *self.decode(z, c)), self.kl(mu, log_var)

    def loss(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator
             ) -> tuple[torch.Tensor, dict[str, float]]:
        """Negative β-ELBO per sample, averaged over the batch (nats)."""
        x = batch["x"]
        rec, kl = self.elbo_terms(x, self.cond.from_batch(batch), generator)
        loss = (-rec + self.config.beta * kl).mean()
        rec, kl = rec.detach(), kl.detach()
        return loss, {"elbo": float((rec - kl).mean()), "recon": float(-rec.mean()), "kl": float(kl.mean())}

    def check_batch(self, batch: dict[str, torch.Tensor]) -> None:
        x = batch["x"]
        if self.likelihood in ("bernoulli", "binomial", "categorical") and (x.min() < 0 or x.max() > 1):
            raise UserError(f"model.likelihood={self.likelihood}: data values must lie in [0, 1] "
                            "(use likelihood=gaussian or rescale the data)")
        if self.likelihood in ("binomial", "categorical") and not on_grid(x, self.spec.levels):
            raise UserError(f"model.likelihood={self.likelihood}: the model-space pixels are not on the grid k/"
                            f"{self.spec.levels} (data.transform must be none; or use likelihood=gaussian)")

    # --- scoring ----------------------------------------------------------------------------
    def log_weights(self, x: torch.Tensor, c: torch.Tensor | None, k: int, generator) -> torch.Tensor:
        """``log w_i = log p(x|z_i) + log p(z_i) − log q(z_i|x)`` for k draws z_i ~ q: ``(k, B)``."""
        mu, log_var = self.encode(x, c)
        b, dim = mu.shape
        eps = torch.randn((k, b, dim), generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + (0.5 * log_var).exp() * eps                                     # (k, B, D)
        log_q = -0.5 * (eps ** 2 + log_var + LOG_2PI).sum(-1)                    # (k, B)
        log_pz = -0.5 * (z ** 2 + LOG_2PI).sum(-1)
        rep = lambda t: None if t is None else t.unsqueeze(0).expand(k, *t.shape).reshape(k * b, *t.shape[1:])
        params, lv = self.decode(z.reshape(k * b, dim), rep(c))
        log_px = self.log_likelihood(rep(x), params, lv).view(k, b)
        return log_px + log_pz - log_q

    @torch.no_grad()
    def log_prob(self, x: torch.Tensor, *, method: str = "elbo", generator: torch.Generator | None = None,
                 k: int | None = None, cond: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                 chunk: int | None = None, **options: Any) -> tuple[torch.Tensor, dict[str, Any]]:
        """Per-sample lower bound on log p(x) ``(N,)`` in nats.

        ``method="elbo"``: the mean of log w_i over ``k`` draws (default 1), an unbiased ELBO estimate;
        ``method="iwae"``: logsumexp_i(log w_i) − log k over ``k`` draws (default 100; Burda et al. 2016).
        With the same ``generator`` seed and ``k`` the two use the same draws, so ELBO ≤ IWAE_k holds
        per sample exactly (Jensen's inequality), not only in expectation.
        ``cond (N, n_cond)`` / ``labels (N,)`` are required for conditional runs.
        """
        if method not in ("elbo", "iwae"):
            raise UserError(f"method={method}: model {self.name!r} supports elbo and iwae")
        k = int(k if k is not None else (1 if method == "elbo" else 100))
        if k < 1:
            raise UserError(f"k={k}: must be >= 1")
        chunk = chunk or max(1, 32768 // k)
        out = []
        for s in range(0, len(x), chunk):
            sl = slice(s, s + chunk)
            c = self.cond(None if cond is None else cond[sl], None if labels is None else labels[sl]) \
                if self.cond.active else None
            log_w = self.log_weights(x[sl].float(), c, k, generator)          # (k, b)
            out.append(torch.logsumexp(log_w, 0) - math.log(k) if method == "iwae" else log_w.mean(0))
        return torch.cat(out), {"method": method, "k": k, "bound": "lower"}

    # --- generation -------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator, condition: dict[str, float] | None = None
               ) -> torch.Tensor:
        """``(n, *shape)`` draws x ~ p(x|z, c), z ~ N(0, I): {0,1} (binary), ±1 (spins), reals (Gaussian)."""
        cond, labels = self.cond.for_sampling(n, condition, generator)
        c = self.cond(cond, labels) if self.cond.active else None
        z = torch.randn((n, self.config.latent), generator=generator, device=self.device)
        return self.draw(*self.decode(z, c), generator=generator)

    def proposal(self, condition: dict[str, float] | None = None):
        """Independent draws for exact Boltzmann sampling of spin lattices (:mod:`physgen.samplers.boltzmann`),
        on the extended space of (x, z).

        A draw is z ~ p(z), x ~ p(x|z); on (x, z) the target π(x) r(z|x), with the encoder r as the auxiliary
        conditional, has the marginal π on x and the importance ratio π(x) r(z|x) / (p(z) p(x|z)), so the chain
        reports log q = log p(z) + log p(x|z) − log r(z|x) of the z that made x: a one-draw unbiased estimate of
        log p(x) whose extended-space chain is exact (pseudo-marginal MCMC, Andrieu & Roberts, Ann. Stat. 37,
        697, 2009).  Given states are scored at z ~ r(z|x), an exact draw of the extended target."""
        if self.spec.kind != "spins":
            raise UserError(f"the vae proposes Boltzmann moves on spin lattices, not {self.spec.kind} data")
        condition = {k: v for k, v in (condition or {}).items() if k in self.cond.names} or None
        if self.cond.active and not condition:
            raise UserError("this vae is conditioned: pass a condition (e.g. temperature=T)")

        def log_q(x: torch.Tensor, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
            mu, log_var = self.encode(x, c)
            log_r = -0.5 * ((z - mu) ** 2 * torch.exp(-log_var) + log_var + LOG_2PI).sum(1)
            log_pz = -0.5 * (z ** 2 + LOG_2PI).sum(1)
            return (log_pz + self.log_likelihood(x, *self.decode(z, c)) - log_r).double()

        def conditions(n: int, generator: torch.Generator) -> torch.Tensor | None:
            cond, labels = self.cond.for_sampling(n, condition, generator)
            return self.cond(cond, labels) if self.cond.active else None

        @torch.no_grad()
        def draw(n: int, generator: torch.Generator):
            c = conditions(n, generator)
            z = torch.randn((n, self.config.latent), generator=generator, device=self.device)
            x = self.draw(*self.decode(z, c), generator=generator)
            return x, log_q(x, z, c)

        @torch.no_grad()
        def score(s: torch.Tensor, generator: torch.Generator):
            c = conditions(len(s), generator)
            x = s.to(self.device, torch.float32)
            return log_q(x, self.reparameterize(*self.encode(x, c), generator), c)

        from physgen.samplers.boltzmann import Proposal

        return Proposal(draw, log_q=score)

    def draw(self, params: torch.Tensor, log_var: torch.Tensor | None, *, generator) -> torch.Tensor:
        """A sample of the decoder distribution with the given parameters."""
        if self.likelihood == "categorical":
            return categorical(params, generator).to(params.dtype) / self.spec.levels
        if self.likelihood == "binomial":
            return binomial_fraction(self.spec.levels, torch.sigmoid(params), generator)
        if self.likelihood in ("bernoulli", "spin"):
            if self.autoregressive:
                bits = self.head.sample(params, generator=generator).reshape(len(params), *self.spec.shape)
            else:
                bits = torch.bernoulli(torch.sigmoid(params), generator=generator)
            return 2 * bits - 1 if self.likelihood == "spin" else bits
        if self.config.sample_mean:
            return params
        std = (0.5 * log_var).exp() if log_var is not None else self.config.sigma
        return params + std * torch.randn(params.shape, generator=generator, device=params.device)

    @torch.no_grad()
    def reconstruct_mean(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """Decoder mean E[x|z] ``(B, *shape)`` in model space (for latent grids and traversals). With the
        autoregressive decoder: the conditional means E[x_i | x_<i, z] along one ancestral draw."""
        params, _ = self.decode(z, c)
        if self.autoregressive:
            bits = self.head.sample(params, generator=torch.Generator(params.device).manual_seed(0))
            params = self.head(2 * bits - 1, params).reshape(len(z), *self.spec.shape)
        if self.likelihood in ("bernoulli", "binomial"):
            return torch.sigmoid(params)
        if self.likelihood == "categorical":
            levels = torch.arange(self.spec.levels + 1, device=params.device, dtype=params.dtype) / self.spec.levels
            return params.softmax(-1) @ levels
        if self.likelihood == "spin":
            return torch.tanh(params / 2)  # E[s] = 2π − 1
        return params


@register
class ConvVAE(ConvVAECard, VAE):
    """Convolutional VAE: stride-2 conv encoder, transposed-conv decoder (the course's Keras conv VAE);
    periodic padding on spin lattices.  Its card: :class:`physgen.models.vae_card.ConvVAECard`."""

    def _build(self, config: ConvVAEConfig, spec: DataSpec) -> None:
        shape = image_shape(spec)
        c, h = self.cond.dim, list(config.hidden)
        self.encoder = nn.Sequential(
            ConvEncoder(shape, config.channels, h[0], extra_channels=c, circular=spec.kind == "spins"),
            nn.LeakyReLU(0.2), mlp([*h, 2 * config.latent], act=config.act))
        out_ch = shape[0] * self.decoder_channels()
        self.decoder = nn.Sequential(mlp([config.latent + c, *h[::-1]], act=config.act), nn.LeakyReLU(0.2),
                                     ConvDecoder(h[0], shape, config.channels, out_channels=out_ch))

    def encode(self, x: torch.Tensor, c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.reshape(len(x), *image_shape(self.spec))
        conv, head = self.encoder[0], self.encoder[1:]
        mu, log_var = head(conv(x, c)).chunk(2, dim=1)
        return mu, log_var

    def decode(self, z: torch.Tensor, c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        if c is not None:
            z = torch.cat([z, c], 1)
        out = self.decoder(z)                                   # (B, C·(1|2|N+1) or context, H, W)
        if self.autoregressive:
            return out, None
        if self.likelihood == "categorical":
            return self._split(out.flatten(1))
        if self.learned_var:
            mean, log_var = out.chunk(2, dim=1)
            shape = (len(z), *self.spec.shape)
            return mean.reshape(shape), log_var.clamp(self.config.min_log_var, 6.0).reshape(shape)
        return out.reshape(len(z), *self.spec.shape), None
