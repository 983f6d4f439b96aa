"""Energy-based model ``ebm`` trained by contrastive divergence with MCMC chains from a replay buffer.

p_θ(x) ∝ exp(−E_θ(x)).  The log-likelihood gradient is −∇θE(x_data) + E_{p_θ}[∇θE(x)]; the model
expectation is estimated with K MCMC steps — Langevin (:func:`physgen.samplers.langevin.ula`), or the
discrete Langevin proposal with a Metropolis–Hastings test on ±1 data (:func:`physgen.samplers.discrete.dlp`)
— started from a replay buffer of past chains, ~5% restarted from noise (Du & Mordatch 2019; the
course notebook after Lippe's UvA tutorial 8).  The loss per batch is

    L = mean E(x_real) − mean E(x_fake) + α · mean(E(x_real)² + E(x_fake)²),

with a little Gaussian noise on the real data (``real_noise``) and the fake samples detached.  Networks:
an MLP energy (SiLU) for tabular / 2-D data, a small CNN energy (SiLU, stride-2 convolutions, global
average pooling, circular padding for spin lattices) for images and lattices.  Spins and binary data are
sampled as what they are, ±1 configurations (binary: 2x − 1), by gradient-informed Metropolis–Hastings
(``sampler="discrete"``, the default for them: the discrete Langevin proposal of Zhang, Liu & Liu 2022,
:mod:`physgen.samplers.discrete`), so the negatives the energy is trained against are valid configurations;
``sampler="langevin"`` relaxes them to [−1, 1] and maps back with sign(x).  Continuous and image data
live in the run's transformed space, within the training range widened by ``margin``.

Continuous data have a Gaussian base (``base="gaussian"``, their default): the energy is

    E_θ(x) = f_θ(x) + ½ Σ_i ((x_i − μ_i) / σ_i)²,

with μ, σ the training set's per-feature mean and standard deviation, so p_θ is a diagonal Gaussian tilted by
exp(−f_θ) (the exponential tilting of a base distribution, Arbel, Zhou & Gretton 2021; Xiao et al. 2021).
The network only learns the departure from the base, the density falls off outside the data however f_θ
extrapolates, and fresh chains start from the base instead of uniform noise over the range.

Langevin defaults follow Du & Mordatch: ``form="decoupled"`` uses θ ← clamp(θ − η clip(∇E) + s w) with a
large step η = 10 and a small noise s = 0.005 (a cooled chain; cheap, stable); ``form="conventional"`` uses
θ ← θ − (η/2)∇E + √η w, which samples p_θ itself for small η (see :mod:`physgen.samplers.langevin`).

Blow-up guard: if an energy is NaN/inf or |E| exceeds ``energy_limit``, :meth:`EBM.loss` returns a NaN loss
(and logs ``blowup = 1``) without touching the replay buffer, so the trainer's non-finite-loss rollback
restores the last good checkpoint.

The options and their checks: :mod:`physgen.models.ebm_config`; the family's card (name, defaults per data
kind): :mod:`physgen.models.ebm_card`; the energy networks: :mod:`physgen.models.ebm_nets`.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import replace
from typing import Any, ClassVar, Sequence

import torch
from torch import nn

from physgen.errors import UserError
from physgen.models.base import DataSpec, GenerativeModel
from physgen.models.contract import DemoStage
from physgen.models.ebm_card import EBMCard
from physgen.models.ebm_config import EBMConfig
from physgen.models.ebm_nets import CNNEnergy, MLPEnergy
from physgen.models.nets import Conditioner
from physgen.models.registry import register
from physgen.models.spaces import from_signed, to_signed
from physgen.randomness import generator_device, randn
from physgen.samplers import markov
from physgen.samplers import registry as samplers
from physgen.samplers.discrete import to_spins
from physgen.samplers.replay import ReplayBuffer, gaussian, uniform

DISCRETE_KINDS = ("spins", "binary")
RESTART_ROWS = 65536


@register
class EBM(EBMCard, GenerativeModel):
    """Energy-based model with replay-buffer contrastive divergence (Du & Mordatch 2019).  Its card (name,
    defaults, size keys): :class:`physgen.models.ebm_card.EBMCard`."""

    # declared here, not in EBMCard: the demo reads the stage of the class that declares it
    demo: ClassVar[DemoStage | None] = DemoStage(
        "ebm", "Energy-based model (discrete Metropolis–Hastings chains on the spins)", 40, "09_ebm_langevin.py", 3000,
        ("model.k_steps=5", "model.channels=[8,16]", "model.stem=full", "train.lr=3e-3", "train.batch_size=64",
         "train.schedule=cosine", "model.sample_steps=50"))

    @classmethod
    def resolve(cls, config: EBMConfig, spec: DataSpec) -> EBMConfig:
        """The ``auto`` choices for data like ``spec``: ``net`` cnn for lattices and images, else mlp;
        ``sampler`` discrete for spins and binary data, else langevin; ``restart`` data for discrete chains, else
        noise; ``base`` gaussian for continuous data, else none.  Refuses a discrete sampler or a Gaussian base
        on data they cannot apply to."""
        fixed = spec.kind in DISCRETE_KINDS
        pick = {"net": "cnn" if len(spec.shape) in (2, 3) else "mlp",
                "sampler": "discrete" if fixed else "langevin",
                "base": "gaussian" if spec.kind == "continuous" else "none"}
        chosen = {key: pick[key] if getattr(config, key) == "auto" else getattr(config, key) for key in pick}
        chosen["restart"] = (config.restart if config.restart != "auto"
                             else "data" if chosen["sampler"] == "discrete" else "noise")
        if chosen["sampler"] == "discrete" and not fixed:
            raise UserError(f"model.sampler=discrete: needs spins or binary data, not {spec.kind}")
        if chosen["base"] == "gaussian" and fixed:
            raise UserError(f"model.base=gaussian: needs continuous data or images, not {spec.kind}")
        same = all(getattr(config, key) == value for key, value in chosen.items())
        return config if same else replace(config, **chosen)

    def __init__(self, config: EBMConfig, spec: DataSpec):
        super().__init__(config, spec)
        config = self.config
        self.cond = Conditioner(spec)
        self.energy_net = self._build_net(config, spec)
        fixed = spec.kind in DISCRETE_KINDS
        self.discrete = config.sampler == "discrete"
        self.chain = "discrete" if self.discrete else "langevin"   # its sampler (physgen.samplers.markov)
        self.buffer = ReplayBuffer(config.buffer_size, spec.shape, low=-1.0, high=1.0, reinit_fraction=config.reinit,
                                   cond_dim=self.cond.dim)
        self.register_buffer("range_fitted", torch.tensor(fixed))
        self.gaussian_base = config.base == "gaussian"
        self.register_buffer("base_mean", torch.zeros(spec.shape))
        self.register_buffer("base_std", torch.ones(spec.shape))

    def _build_net(self, config: EBMConfig, spec: DataSpec) -> nn.Module:
        if config.net == "cnn":
            if len(spec.shape) not in (2, 3):
                raise UserError(f"model.net=cnn: data of shape {spec.shape} is not an image or lattice")
            shape = (1, *spec.shape) if len(spec.shape) == 2 else tuple(spec.shape)
            self.image_shape = shape
            return CNNEnergy(shape, config.channels, self.cond.dim, circular=spec.kind == "spins",
                             full_stem=config.stem == "full")
        self.image_shape = None
        return MLPEnergy(spec.n_features, config.hidden, self.cond.dim)

    def networks(self):
        """One network: the energy, called on a dummy batch."""
        x, cond, labels = self.dummy_inputs()
        c = self.cond(cond, labels) if self.cond.active else None
        return {"model": ([self], lambda: self.energy(x, c))}

    # --- energy ---------------------------------------------------------------------------------
    def energy(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """E_θ(x | c): ``x (B, *shape)`` in model space, ``c (B, cond_dim)`` -> ``(B,)``; the network's output
        plus the Gaussian base's ½‖(x − μ)/σ‖² where there is one."""
        e = self.energy_net(x if self.image_shape is None else x.reshape(len(x), *self.image_shape), c)
        if self.gaussian_base:
            e = e + 0.5 * ((x - self.base_mean) / self.base_std).pow(2).flatten(1).sum(1)
        return e

    def to_model_space(self, x: torch.Tensor) -> torch.Tensor:
        """binary {0,1} -> {−1, 1}; spins, continuous and image data (after the run's transform) unchanged."""
        return to_signed(x, self.spec.kind)

    def from_model_space(self, x: torch.Tensor) -> torch.Tensor:
        """spins -> sign(x) ∈ {±1}; binary -> 1[x > 0]; continuous and images unchanged."""
        return from_signed(x, self.spec.kind)

    @property
    def data_range(self) -> tuple[float, float]:
        return float(self.buffer.low), float(self.buffer.high)

    def on_fit_start(self, data: dict[str, torch.Tensor], *, resumed: bool, generator: torch.Generator) -> None:
        """Fit the Langevin/noise range on the whole training set; for conditioned runs draw the replay slots'
        conditions from its conditions (fresh runs; resumed runs load both with the buffer); with
        ``restart = data`` (auto for discrete chains) chains start and restart from training rows of their
        slot's condition: a chain started from noise at low temperature is quenched into striped states
        (docs/ebm.md, benchmarks/records/ebm.md)."""
        x = self.to_model_space(data["x"])
        self._fit_range(x)
        self._share_base()
        c = self.cond.from_batch(data)
        if c is not None and not resumed:
            self.buffer.set_conditions(c, generator)
        if self.config.restart == "data":
            if len(x) > RESTART_ROWS:   # a fixed subset, the same when the run resumes
                keep = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:RESTART_ROWS].to(x.device)
                x, c = x[keep], None if c is None else c[keep]
            self.buffer.set_restarts(x, c)

    @torch.no_grad()
    def _fit_range(self, x: torch.Tensor) -> None:
        """Continuous data: the Langevin/noise range is [min, max] of ``x`` (the training set, or the first
        batch outside the trainer) widened by ``margin`` on each side, and the base's μ, σ are its per-feature
        mean and standard deviation (of the data with their ``real_noise`` jitter, at least 0.1% of the box);
        spins/binary use [−1, 1]."""
        if bool(self.range_fitted):
            return
        lo, hi = float(x.min()), float(x.max())
        pad = self.config.margin * max(hi - lo, 1e-6)
        self.buffer.set_range(lo - pad, hi + pad)
        self.base_mean.copy_(x.mean(0))
        var = x.var(0) if len(x) > 1 else torch.ones_like(self.base_std)
        # the data the energy sees carry the real_noise jitter; a constant feature keeps a floor width, a fixed
        # fraction of the box
        self.base_std.copy_((var + self.config.real_noise ** 2).sqrt().clamp_min(1e-3 * (hi - lo + 2 * pad)))
        self.range_fitted.fill_(True)
        self._share_base()

    def _share_base(self) -> None:
        """Fresh replay chains start from the Gaussian base when there is one."""
        if self.gaussian_base:
            self.buffer.set_gaussian(self.base_mean, self.base_std)

    # --- MCMC ------------------------------------------------------------------------------------
    def run_chains(self, x0: torch.Tensor, c: torch.Tensor | None, *, n_steps: int, generator,
                   settings: EBMConfig | None = None) -> torch.Tensor:
        """``n_steps`` of the model's sampler (``energy.discrete`` on ±1 states, else ``energy.langevin``,
        :mod:`physgen.samplers.markov`) on −E(·|c) from ``x0`` ``(B, *shape)`` with the parameters frozen;
        ``settings``: the config with a call's sampler options applied (default the model's).
        Returns ``(B, *shape)``."""
        run = samplers.get(self.sampler_field, self.chain, family=self.name)
        with self._frozen():
            return run.run(self._chains(x0, c, generator, settings or self.config), n_steps)

    def langevin(self, x0: torch.Tensor, c: torch.Tensor | None, *, n_steps: int, generator,
                 snapshot_steps: Sequence[int] = ()):
        """Run the configured Langevin chains on −E(·|c) from ``x0`` with the parameters frozen; the
        :class:`~physgen.samplers.langevin.LangevinResult` with the states at ``snapshot_steps``."""
        with self._frozen():
            return markov.langevin(self._chains(x0, c, generator, self.config), n_steps, snapshot_steps)

    def _chains(self, x0: torch.Tensor, c: torch.Tensor | None, generator, settings: EBMConfig) -> samplers.Problem:
        """The chains' problem: log p = −E(·|c), started at ``x0``, Langevin states clamped to the data's box."""
        return samplers.Problem(lambda x: -self.energy(x, c), tuple(x0.shape), generator, x0.device, settings,
                                clip=self.data_range, x0=x0)

    @contextlib.contextmanager
    def _frozen(self):
        """Parameters without gradients inside the block (the chains need ∇_x only)."""
        params = [p for p in self.parameters() if p.requires_grad]
        for p in params:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in params:
                p.requires_grad_(True)

    # --- training --------------------------------------------------------------------------------
    def check_batch(self, batch: dict[str, torch.Tensor]) -> None:
        x = batch["x"]
        if self.spec.kind == "spins" and not bool(((x == 1) | (x == -1)).all()):
            raise UserError("data: spins must be ±1 for an EBM")

    def loss(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator
             ) -> tuple[torch.Tensor, dict[str, float]]:
        """CD loss with replay buffer (module docstring); NaN loss on blow-up."""
        cfg = self.config
        x_real = self.to_model_space(batch["x"])
        self._fit_range(x_real)
        if not self.discrete:   # discrete chains compare ±1 states with ±1 data: no jitter
            noise = randn(x_real.shape, generator, x_real.device)
            x_real = (x_real + cfg.real_noise * noise).clamp(*self.data_range)
        c = self.cond.from_batch(batch)
        if c is not None and not bool(self.buffer.conditioned):   # outside the trainer: the first batch's mix
            self.buffer.set_conditions(c, generator)
        x0, slots = self.buffer.draw(len(x_real), generator)
        c_fake = None if c is None else self.buffer.cond[slots]   # each chain keeps its slot's condition
        x_fake = self.run_chains(x0, c_fake, n_steps=cfg.k_steps, generator=generator)
        e_real, e_fake = self.energy(x_real, c), self.energy(x_fake, c_fake)
        energies = torch.cat([e_real, e_fake]).detach()
        if not bool(torch.isfinite(energies).all()) or float(energies.abs().max()) > cfg.energy_limit:
            return torch.full((), math.nan, device=x_real.device), {"blowup": 1.0}
        self.buffer.push(x_fake, slots)
        cd = e_real.mean() - e_fake.mean()
        reg = (e_real.pow(2) + e_fake.pow(2)).mean()
        loss = cd + cfg.alpha * reg
        return loss, {"loss": float(loss.detach()), "cd": float(cd.detach()), "reg": float(reg.detach()),
                      "e_real": float(e_real.mean().detach()), "e_fake": float(e_fake.mean().detach()), "blowup": 0.0}

    @torch.no_grad()
    def validate(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator) -> dict[str, float]:
        """CD loss of held-out data against the current replay-buffer states (no Langevin, buffer untouched),
        and the mean energies of the data and of uniform noise."""
        x = self.to_model_space(batch["x"])
        c = self.cond.from_batch(batch)
        k = min(len(x), self.buffer.size)
        ck = None if c is None else c[:k]
        c_fake = self.buffer.cond[:k] if ck is not None and bool(self.buffer.conditioned) else ck
        e_real, e_fake = self.energy(x[:k], ck), self.energy(self.buffer.data[:k], c_fake)
        lo, hi = self.data_range
        e_noise = self.energy(uniform(x.shape, lo, hi, generator, x.device), c)
        loss = e_real.mean() - e_fake.mean() + self.config.alpha * (e_real.pow(2) + e_fake.pow(2)).mean()
        return {"loss": float(loss), "e_data": float(e_real.mean()), "e_noise": float(e_noise.mean())}

    # --- generation and analysis -------------------------------------------------------------------
    def _start(self, n: int, condition, generator, init: str = "noise") -> tuple[torch.Tensor, torch.Tensor | None]:
        """Chain starts ``(n, *shape)``: noise (the Gaussian base, else uniform), or random replay-buffer states
        (the persistent chains the model was trained against; with replacement when n > buffer size) once the
        buffer is filled."""
        cond, labels = self.cond.for_sampling(n, condition, generator)
        c = self.cond(cond, labels) if self.cond.active else None
        if init == "buffer" and bool(self.buffer.filled):
            if c is not None and bool(self.buffer.conditioned):   # chains that evolved under this condition
                return self.buffer.data[self.buffer.slots_like(c, generator)].clone(), c
            gdev = generator_device(generator, self.device)
            size = self.buffer.size
            idx = (torch.randperm(size, generator=generator, device=gdev)[:n] if n <= size
                   else torch.randint(size, (n,), generator=generator, device=gdev))
            return self.buffer.data[idx.to(self.device)].clone(), c
        lo, hi = self.data_range
        if self.gaussian_base:
            return gaussian((n, *self.spec.shape), self.base_mean, self.base_std, lo, hi, generator, self.device), c
        return uniform((n, *self.spec.shape), lo, hi, generator, self.device), c

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator, condition: dict[str, float] | None = None,
               steps: int | None = None, sampler: str | None = None, init: str | None = None,
               **options: Any) -> torch.Tensor:
        """``(n, *shape)``: ``steps`` (default ``sample_steps``) moves of the model's sampler, with its
        ``options`` (:func:`physgen.samplers.registry.configure`), from ``init`` (default ``sample_init``: the
        replay buffer's persistent chains, or noise)."""
        if sampler not in (None, self.chain):
            raise UserError(f"sampler={sampler}: this ebm samples with {self.chain} (model.sampler)")
        settings = samplers.configure(samplers.get(self.sampler_field, self.chain, family=self.name), self.config, options)
        init = init or self.config.sample_init
        if init not in ("buffer", "noise"):
            raise UserError(f"init: must be buffer or noise, got {init!r}")
        from_buffer = init == "buffer" and bool(self.buffer.filled)
        default = self.config.sample_steps or (self.config.k_steps if from_buffer else 256)
        steps = int(steps if steps is not None else default)
        if steps < 1:
            raise UserError(f"steps: must be >= 1, got {steps}")
        x0, c = self._start(n, condition, generator, init)
        return self.from_model_space(self.run_chains(x0, c, n_steps=steps, generator=generator, settings=settings))

    @torch.no_grad()
    def chain_snapshots(self, n: int, *, generator: torch.Generator, steps: Sequence[int] = (0, 1, 5, 10, 20, 40, 60),
                        condition: dict[str, float] | None = None) -> dict[int, torch.Tensor]:
        """Model-space states ``{step: (n, *shape)}`` of chains started from noise (the course's figure)."""
        steps = sorted(int(s) for s in steps)
        if not steps or steps[0] < 0:
            raise UserError(f"snapshot steps must be >= 0, got {steps}")
        x0, c = self._start(n, condition, generator)
        if self.discrete:   # the chain run piecewise between the requested steps
            x0, snaps, done = to_spins(x0), {}, 0
            for s in steps:
                if s > done:
                    x0 = self.run_chains(x0, c, n_steps=s - done, generator=generator)
                snaps[s], done = x0.clone(), s
            return snaps
        res = self.langevin(x0, c, n_steps=max(steps[-1], 1), generator=generator, snapshot_steps=steps)
        snaps = dict(res.snapshots)
        snaps[max(steps[-1], 1)] = res.samples
        return {s: snaps[s] for s in steps}

    @torch.no_grad()
    def ood_scores(self, x: torch.Tensor, *, generator: torch.Generator, noise_std: float = 0.1,
                   cond: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Energies ``(N,)`` of data ``x`` (data space), uniform noise, and x + N(0, noise_std²) (model space).

        Low energy = "in distribution": a trained model should rank data < perturbed < noise.
        """
        xm = self.to_model_space(x)
        c = self.cond(cond, labels) if self.cond.active else None
        lo, hi = self.data_range
        noise = uniform(xm.shape, lo, hi, generator, xm.device)
        pert = xm + noise_std * randn(xm.shape, generator, xm.device)
        return {"data": self.energy(xm, c), "noise": self.energy(noise, c), "perturbed": self.energy(pert, c)}

    @torch.no_grad()
    def log_prob(self, x: torch.Tensor, *, method: str = "energy", generator: torch.Generator | None = None,
                 cond: torch.Tensor | None = None, labels: torch.Tensor | None = None, **options: Any
                 ) -> tuple[torch.Tensor, dict[str, Any]]:
        """Unnormalised log-density −E(x) ``(N,)`` (``method="energy"``); log Z is unknown (NaN)."""
        if method != "energy":
            raise UserError(f"method={method}: model 'ebm' supports energy (unnormalised −E(x))")
        c = self.cond(cond, labels) if self.cond.active else None
        return -self.energy(self.to_model_space(x), c), {"method": method, "log_z": math.nan, "log_z_error": math.nan,
                                                         "normalized": False}
