"""Diffusion models: ``ddpm`` (ε-prediction, Ho et al. 2020) and ``score-sde`` (VE SDE, Song et al. 2021).

``ddpm``
    Forward q(x_t|x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I), t = 0..T−1, linear or cosine β schedule; the network
    ε_θ(x_t, t, c) is trained with L = E ‖ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t, c)‖² (mean over features).
    Sampling (:mod:`physgen.samplers.ddpm`): ``sampler="sde-dpm-solver++"`` (the default) and
    ``"dpm-solver++"``, DPM-Solver++(2M) on the reverse SDE and on the probability-flow ODE (Lu et al. 2022),
    ``"ddpm"`` (ancestral, all T steps, or respaced with ``steps`` < T) or ``"ddim"`` (η = ``ddim_eta``).
    The stochastic solver is the default because an ODE sampler keeps the errors of an imperfect ε_θ that the
    injected noise of the SDE corrects (Karras et al. 2022, §4); docs/diffusion.md has the comparison.
``score-sde``
    Variance-exploding SDE dx = σ^t dW; s_θ(x, t) = net(x, t)/s(t) trained by denoising score matching,
    L = E_t ‖s(t) s_θ(x_0 + s(t) z, t) + z‖² (the course's code after Song et al. 2021, t ~ U(ε, 1)),
    with Gaussian Fourier time features; sampling with DPM-Solver++(2M) on the reverse SDE (the default) or the
    probability-flow ODE, or with Euler–Maruyama, optionally predictor–corrector.

Both use an MLP denoiser with residual blocks for tabular / 2-D data and a small U-Net for images and
spin lattices (circular padding).  Spins are modelled as continuous ±1 values; samples are mapped back with
sign(x).  Conditioning (``--condition temperature`` or ``labels``) adds an embedding of the condition to the
time embedding; with ``p_uncond`` > 0 the condition is dropped during training so that classifier-free
guidance ε̂ = (1 + w) ε_θ(x, t, c) − w ε_θ(x, t, ∅) can be used at sampling (``guidance=w``; Ho & Salimans 2021).
EMA of the weights is the trainer's (``--set train.ema=0.999``): it is checkpointed by the trainer and
:func:`physgen.training.load_run` samples with the averaged weights.
The options and their checks: :mod:`physgen.models.diffusion_config`; the families' cards (names, defaults per
data kind): :mod:`physgen.models.diffusion_card`; the conditional denoiser: :mod:`physgen.models.diffusion_denoiser`.
"""
from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any, ClassVar

import torch
from torch import nn

from physgen.errors import UserError
from physgen.models.base import DataSpec, GenerativeModel
from physgen.models.contract import DemoStage
from physgen.models.diffusion_card import DDPMCard, DiffusionCard, ScoreSDECard
from physgen.models.diffusion_config import DDPMConfig, DiffusionNetConfig, ScoreSDEConfig
from physgen.models.diffusion_denoiser import Denoiser, SinusoidalEmbedding
from physgen.models.diffusion_nets import GaussianFourierFeatures, MLPDenoiser, UNet
from physgen.models.nets import Conditioner, cpu_has_native_bf16
from physgen.models.registry import register
from physgen.models.spaces import from_signed, to_signed
from physgen.randomness import generator_device, rand, randn
from physgen.samplers import ddpm as rev
from physgen.samplers import registry as samplers


class _Diffusion(DiffusionCard, GenerativeModel):
    """Shared machinery: conditioning, data <-> model-space maps, guidance; the shared card:
    :class:`physgen.models.diffusion_card.DiffusionCard`."""

    @classmethod
    def network_kind(cls, config: DiffusionNetConfig, spec: DataSpec) -> str:
        """``model.net``, or with ``auto`` ``mlp`` for tabular data and ``unet`` for lattices and images."""
        kind = super().network_kind(config, spec)
        return "unet" if kind == "cnn" else kind

    @classmethod
    def resolve(cls, config: DiffusionNetConfig, spec: DataSpec) -> DiffusionNetConfig:
        """``net = auto``: ``unet`` for lattices and images, ``mlp`` for tabular data."""
        if config.net != "auto":
            return config
        return replace(config, net="unet" if len(spec.shape) in (2, 3) else "mlp")

    def __init__(self, config: DiffusionNetConfig, spec: DataSpec):
        super().__init__(config, spec)
        self.cond = Conditioner(spec)
        self.denoiser = self._build_denoiser(self.config, spec)
        # per-feature training range in model space (set by on_fit_start; ±inf = unknown)
        self.register_buffer("data_lo", torch.full(tuple(spec.shape), -float("inf")))
        self.register_buffer("data_hi", torch.full(tuple(spec.shape), float("inf")))

    def networks(self):
        """One network: the denoiser, called at t = 0."""
        x, cond, labels = self.dummy_inputs()
        c = self.cond(cond, labels) if self.cond.active else None
        return {"model": ([self], lambda: self.denoiser(x.reshape(len(x), -1), torch.zeros(len(x)), c))}

    def on_fit_start(self, data: dict[str, torch.Tensor], *, resumed: bool, generator: torch.Generator) -> None:
        """Fresh runs: record the per-feature range of the training set (model space) for ``clip_to_data``
        (checkpointed buffers, so a resumed run keeps its range)."""
        if resumed:
            return
        x = self.to_model_space(data["x"])
        self.data_lo.copy_(x.amin(0))
        self.data_hi.copy_(x.amax(0))

    def data_clip(self):
        """``(lo, hi)`` per feature (continuous data with a recorded range), ±1 for spins/binary, else None."""
        if self.spec.kind in ("spins", "binary"):
            return 1.0
        if self.config.clip_to_data and bool(torch.isfinite(self.data_lo).all()):
            return self.data_lo, self.data_hi
        return None

    def _time_embed(self, config) -> nn.Module:
        raise NotImplementedError

    def _build_denoiser(self, config: DiffusionNetConfig, spec: DataSpec) -> Denoiser:
        kind = config.net
        e = config.emb_dim
        if kind == "unet":
            if len(spec.shape) not in (2, 3):
                raise UserError(f"model.net=unet: data of shape {spec.shape} is not an image or lattice")
            img = (1, *spec.shape) if len(spec.shape) == 2 else tuple(spec.shape)
            net = UNet(img[0], config.channels, e, hw=img[1:], circular=spec.kind == "spins", film=config.film)
        else:
            img = None
            net = MLPDenoiser(spec.n_features, config.width, config.blocks, e)
        time = nn.Sequential(self._time_embed(config), nn.Linear(e, e), nn.SiLU(), nn.Linear(e, e))
        return Denoiser(net, time, e, self.cond.dim, img)

    # --- data space <-> model space ----------------------------------------------------------
    def to_model_space(self, x: torch.Tensor) -> torch.Tensor:
        """binary {0,1} -> {−1, 1}; spins, continuous and image data (after the run's transform) unchanged."""
        return to_signed(x, self.spec.kind)

    def from_model_space(self, x: torch.Tensor) -> torch.Tensor:
        """spins -> sign(x) ∈ {±1}; binary -> 1[x > 0]; continuous and images unchanged."""
        return from_signed(x, self.spec.kind)

    def check_batch(self, batch: dict[str, torch.Tensor]) -> None:
        x = batch["x"]
        if self.spec.kind == "spins" and not bool(((x == 1) | (x == -1)).all()):
            raise UserError("data: spins must be ±1 for a diffusion model")
        if self.spec.kind == "binary" and not bool(((x == 0) | (x == 1)).all()):
            raise UserError("data: binary data must be 0/1 for a diffusion model")

    # --- conditioning and guidance -------------------------------------------------------------
    def _train_condition(self, batch, generator) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        c = self.cond.from_batch(batch)
        if c is None or self.config.p_uncond == 0:
            return c, None
        return c, rand((len(c),), generator, c.device) < self.config.p_uncond

    def _guided(self, net: Denoiser, c: torch.Tensor | None, guidance: float, t_end: float):
        """ε(x, t) with classifier-free guidance (1 + w) ε(x, t, c) − w ε(x, t, ∅) where t ≥ (1 − f) t_end
        (f: ``guidance_interval``; t_end: T steps, or 1 for the SDE), the conditional ε(x, t, c) elsewhere.

        Guiding only the noisy part of the chain, where the large-scale structure is decided, leaves the fine
        structure to the conditional model (Kynkäänniemi et al., *Applying guidance in a limited interval
        improves sample and distribution quality in diffusion models*, NeurIPS 2024) and costs one extra
        network call per guided step only."""
        start = (1 - self.config.guidance_interval) * t_end

        def fn(x, t):
            if c is None or guidance == 0 or float(t[0]) < start:
                return net(x, t, c)
            both = net(torch.cat([x, x]), torch.cat([t, t]), torch.cat([c, c]),
                       torch.cat([torch.zeros(len(x), dtype=torch.bool, device=x.device),
                                  torch.ones(len(x), dtype=torch.bool, device=x.device)]))
            e_c, e_u = both.chunk(2)
            return (1 + guidance) * e_c - guidance * e_u
        return fn

    def _sampling_setup(self, n, generator, condition, guidance):
        cond, labels = self.cond.for_sampling(n, condition, generator)
        c = self.cond(cond, labels) if self.cond.active else None
        w = self.config.guidance if guidance is None else float(guidance)
        if w != 0 and (c is None or self.config.p_uncond == 0):
            raise UserError("guidance: needs a conditional run trained with model.p_uncond > 0")
        return self._sampling_denoiser(), c, w

    # --- likelihood ---------------------------------------------------------------------------------------
    def log_prob(self, x: torch.Tensor, *, method: str = "ode", generator: torch.Generator | None = None,
                 k: int | None = None, cond: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                 steps: int | None = None, chunk: int = 4096) -> tuple[torch.Tensor, dict[str, Any]]:
        """Per-sample log-likelihood ``(N,)`` in nats of continuous ``x (N, *shape)`` (model space) through the
        probability-flow ODE of :meth:`probability_flow`: ``steps`` RK4 steps, the divergence exact for D <= 16,
        else (or with ``k``) Hutchinson's with ``k`` probes (:func:`physgen.models.ode_score.ode_log_prob`)."""
        from physgen.models.ode_score import ode_log_prob

        return ode_log_prob(self, x, method=method, generator=generator, k=k, cond=cond, labels=labels, steps=steps,
                            chunk=chunk)

    def probability_flow(self, net, steps: int):
        """The ODE from the data to the prior (:class:`~physgen.samplers.ode_likelihood.ProbabilityFlow`) of the
        denoiser ``net(x (R, D), t (R,), c) -> (R, D)``, in ``steps`` steps."""
        raise NotImplementedError

    def _sampling_denoiser(self) -> Denoiser:
        """The denoiser, or with ``sample_dtype = "bfloat16"`` on a CPU with bfloat16 instructions a copy whose
        U-Net holds bfloat16 weights (the time embedding stays float32)."""
        if (self.config.sample_dtype == "float32" or self.config.net != "unet" or self.device.type != "cpu"
                or not cpu_has_native_bf16()):
            return self.denoiser
        den = copy.deepcopy(self.denoiser)
        den.net.to(torch.bfloat16)
        return den


@register
class DDPM(DDPMCard, _Diffusion):
    """Denoising diffusion probabilistic model (Ho, Jain & Abbeel 2020) with DDIM sampling (Song et al. 2021).
    Its card (name, defaults, size keys): :class:`physgen.models.diffusion_card.DDPMCard`."""

    # declared here, not in DDPMCard: the demo reads the stage of the class that declares it
    demo: ClassVar[DemoStage | None] = DemoStage(
        "ddpm", "Diffusion model (DDPM)", 50, "10_diffusion.py", 3000,
        ("model.timesteps=100", "model.steps=100", "train.lr=3e-3", "train.ema=0.99"))

    def __init__(self, config: DDPMConfig, spec: DataSpec):
        super().__init__(config, spec)
        betas = rev.beta_schedule(config.schedule, config.timesteps, config.beta_start, config.beta_end)
        self.register_buffer("alpha_bar", rev.alpha_bar(betas).float(), persistent=False)

    def _time_embed(self, config) -> nn.Module:
        return SinusoidalEmbedding(config.emb_dim)

    def loss(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator
             ) -> tuple[torch.Tensor, dict[str, float]]:
        """E_{t, ε} mean‖ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t)‖², t ~ U{0..T−1}."""
        x0 = self.to_model_space(batch["x"])
        gdev = generator_device(generator, x0.device)
        t = torch.randint(self.config.timesteps, (len(x0),), generator=generator, device=gdev).to(x0.device)
        eps = randn(x0.shape, generator, x0.device)
        ab = self.alpha_bar[t].view(-1, *([1] * (x0.ndim - 1)))
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        c, drop = self._train_condition(batch, generator)
        loss = (self.denoiser(xt, t, c, drop) - eps).pow(2).mean()
        return loss, {"loss": float(loss.detach())}

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator, condition: dict[str, float] | None = None,
               steps: int | None = None, sampler: str | None = None, guidance: float | None = None,
               **options: Any) -> torch.Tensor:
        """``(n, *shape)`` samples with ``sampler`` (default ``model.sampler``) and its ``options``
        (:func:`physgen.samplers.registry.configure`):

        * ``sde-dpm-solver++`` — DPM-Solver++(2M) on the reverse SDE, ``dpm-solver++`` — on the probability-flow
          ODE (Lu et al. 2022b; :func:`physgen.samplers.ddpm.dpm_solver`), ``steps`` defaulting to
          ``model.solver_steps`` (at most T); option ``spacing`` (``model.solver_spacing``);
        * ``ddpm`` (alias ``ancestral``; respaced when ``steps`` < T) and ``ddim`` (η: option ``eta``, default
          ``model.ddim_eta``), ``steps`` defaulting to ``model.steps`` (0: T for ddpm, 50 for ddim); option
          ``variance`` (``model.ancestral_variance``).
        """
        run = samplers.get(self.sampler_field, sampler or self.config.sampler, family=self.name)
        cfg = samplers.configure(run, self.config, options)
        net, c, w = self._sampling_setup(n, generator, condition, guidance)
        problem = samplers.Problem(self._guided(net, c, w, cfg.timesteps), (n, *self.spec.shape), generator,
                                   self.device, cfg, schedule=self.alpha_bar, clip=cfg.clip or self.data_clip())
        return self.from_model_space(run.run(problem, steps))

    def probability_flow(self, net, steps: int):
        """Song et al. (2021)'s probability-flow ODE in DDIM's coordinates on the float64 schedule
        (:func:`physgen.samplers.probability_flow.vp_flow`); ``net`` predicts ε."""
        from physgen.samplers.probability_flow import vp_flow

        cfg = self.config
        abar = rev.alpha_bar(rev.beta_schedule(cfg.schedule, cfg.timesteps, cfg.beta_start, cfg.beta_end))
        return vp_flow(net, abar, steps)


@register
class ScoreSDE(ScoreSDECard, _Diffusion):
    """Score-based generative model with the variance-exploding SDE (Song et al. 2021; the course's code).
    Its card: :class:`physgen.models.diffusion_card.ScoreSDECard`."""

    def __init__(self, config: ScoreSDEConfig, spec: DataSpec):
        super().__init__(config, spec)
        self.sde = rev.VESDE(config.sigma)

    def _time_embed(self, config) -> nn.Module:
        return GaussianFourierFeatures(config.emb_dim, config.fourier_scale)

    def score(self, net: nn.Module, x: torch.Tensor, t: torch.Tensor, c=None, drop=None) -> torch.Tensor:
        """s_θ(x, t) = net(x, t)/s(t), ``(B, *shape)``."""
        std = self.sde.marginal_std(t).view(-1, *([1] * (x.ndim - 1)))
        return net(x, t, c, drop) / std

    def loss(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator
             ) -> tuple[torch.Tensor, dict[str, float]]:
        """Denoising score matching E_t mean‖s(t) s_θ(x_0 + s(t) z, t) + z‖², t ~ U(eps, 1)."""
        x0 = self.to_model_space(batch["x"])
        t = rand((len(x0),), generator, x0.device) * (1 - self.config.eps) + self.config.eps
        z = randn(x0.shape, generator, x0.device)
        std = self.sde.marginal_std(t).view(-1, *([1] * (x0.ndim - 1)))
        c, drop = self._train_condition(batch, generator)
        loss = (self.score(self.denoiser, x0 + std * z, t, c, drop) * std + z).pow(2).mean()
        return loss, {"loss": float(loss.detach())}

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator, condition: dict[str, float] | None = None,
               steps: int | None = None, sampler: str | None = None, guidance: float | None = None,
               corrector_steps: int | None = None, **options: Any) -> torch.Tensor:
        """``(n, *shape)`` samples with ``sampler`` (default ``model.sampler``) and its ``options``
        (:func:`physgen.samplers.registry.configure`):

        * ``sde-dpm-solver++`` / ``dpm-solver++`` — DPM-Solver++(2M) on the reverse SDE / the probability-flow
          ODE (Lu et al. 2022b; :func:`physgen.samplers.ddpm.dpm_solver_ve`) over ``steps`` (default
          ``model.solver_steps``) noise levels s(t) from s(1) to s(``eps``) (option, default
          ``model.sample_eps``) spaced as in Karras et al. (2022, eq. 5, ρ = 7), then the denoising to s = 0;
        * ``euler-maruyama`` — the reverse SDE in ``steps`` (default ``model.steps``) steps, predictor–corrector
          with ``corrector_steps`` > 0 (which selects it when no ``sampler`` is named) at the option ``snr``
          (``model.snr``).

        The data prediction of the VE SDE is x̂_0 = x + s(t)² s_θ(x, t) (Tweedie's formula).
        """
        k = self.config.corrector_steps if corrector_steps is None else int(corrector_steps)
        if sampler is None:   # the corrector belongs to Euler–Maruyama
            sampler = "euler-maruyama" if k > 0 else self.config.sampler
        run = samplers.get(self.sampler_field, sampler, family=self.name)
        cfg = replace(samplers.configure(run, self.config, options), corrector_steps=k)
        net, c, w = self._sampling_setup(n, generator, condition, guidance)
        eps_like = self._guided(net, c, w, 1.0)
        score_fn = lambda x, t: eps_like(x, t) / self.sde.marginal_std(t).view(-1, *([1] * (x.ndim - 1)))
        problem = samplers.Problem(score_fn, (n, *self.spec.shape), generator, self.device, cfg, schedule=self.sde)
        x = run.run(problem, steps)
        clip = self.data_clip()
        if isinstance(clip, tuple):
            x = torch.maximum(torch.minimum(x, clip[1]), clip[0])
        return self.from_model_space(x)

    def probability_flow(self, net, steps: int):
        """dx/ds = −net(x, t(s)) in the noise level s (:func:`physgen.samplers.probability_flow.ve_flow`)."""
        from physgen.samplers.probability_flow import ve_flow

        return ve_flow(lambda x, t, c: -net(x, t, c), self.sde, self.config.eps, steps)

