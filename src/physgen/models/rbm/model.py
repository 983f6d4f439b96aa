"""The ``rbm`` model: Bernoulli / spin / Gaussian / binomial / softmax visible units, CD-k, PCD, PT, exact.

Training minimises ``L = mean_data F(v) − mean_neg F(v⁻)`` with ``v⁻`` drawn (without gradient) from
the model by the negative-phase sampler; its gradient is the contrastive-divergence estimate of the
negative log-likelihood gradient ``⟨∂F⟩_data − ⟨∂F⟩_model`` (Hinton 2002; Tieleman 2008 for PCD;
Desjardins et al. 2010 for PT), so the trainer's optimizer (SGD with momentum) performs the classic
update.  For CD and PCD the gradient is computed in closed form (:mod:`physgen.models.rbm.cd`) unless
a sparsity penalty or a learned σ asks for autograd.  ``method = "exact"`` uses ``L = mean F(v) + log Z`` with
``log Z`` enumerated (the exact
NLL).  Persistent chains are registered buffers, hence checkpointed and resumed.

Sibling modules hold the parts :class:`RBM` delegates to: :mod:`~physgen.models.rbm.card` (the family's
constants and default configs), :mod:`~physgen.models.rbm.negative` (CD/PCD/PT negatives and the chains),
:mod:`~physgen.models.rbm.likelihood` (exact/AIS ``log p``, pseudo-likelihood, monitors) and
:mod:`~physgen.models.rbm.sampling` (Gibbs/PT samples, Boltzmann proposals).

Lattices: ``model.filters`` > 0 makes the weights translation-invariant on the periodic lattice
(:mod:`physgen.models.rbm.symmetry`; the default on spins); every gradient is projected onto them.

Conditioning: a run conditioned on a discrete condition (e.g. the temperatures of a multi-temperature
Ising file) or on labels holds one independent RBM per value (parameters stacked along a leading axis
``K``); ``sample(condition={"temperature": T})`` picks the matching one and lists the trained values
otherwise.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn.functional import binary_cross_entropy

from physgen.errors import UserError
from physgen.models.base import DataSpec, GenerativeModel
from physgen.models.contract import DemoStage
from physgen.models.rbm import cd, checks, likelihood, negative, partition, sampling, work
from physgen.models.rbm.card import RBMCard
from physgen.models.rbm.config import EXACT_MAX_UNITS, RBMConfig, check_width
from physgen.models.rbm.energy import RBMEnergy, bf16_products
from physgen.samplers.gibbs import initial_state
from physgen.samplers.tempering import default_betas


class RBM(RBMCard, GenerativeModel):
    """Restricted Boltzmann machine with ``n = prod(spec.shape)`` visible (softmax units: ``(N + 1)`` per pixel,
    the one-hot groups of :meth:`encode`) and ``config.n_hidden`` hidden units.

    Parameters (``K`` = number of condition values, 1 when unconditioned): ``W (K, n, m)``,
    ``a (K, n)``, ``b (K, m)`` and, for Gaussian units, ``log_sigma (K, n)``.  Buffers: ``chains``
    ``(K, C, n)`` and their hidden units ``chain_hidden (K, C, m)`` (pcd) or ``(K, R, C, n)`` (pt), ``betas (R,)``,
    ``ready (K,)`` (bias initialised
    from data and chains started), ``updates`` (loss calls, schedules the monitors).
    """

    # declared here, not in RBMCard: the demo reads the stage of the class that declares it
    demo: ClassVar[DemoStage | None] = DemoStage("rbm", "Restricted Boltzmann machine (one spin RBM per temperature)",
                                                 10, "04_rbm_ising.py", 1500)

    @classmethod
    def network_kind(cls, config: RBMConfig, spec: DataSpec) -> str:
        """``translation`` with translation-invariant filters, else the base class's answer."""
        return "translation" if config.filters else super().network_kind(config, spec)

    @classmethod
    def resolve(cls, config: RBMConfig, spec: DataSpec) -> RBMConfig:
        """``visible = auto``: the unit type for data like ``spec`` (:func:`checks.resolve_visible`)."""
        visible = checks.resolve_visible(config.visible, spec)
        return config if visible == config.visible else replace(config, visible=visible)

    @classmethod
    def check_given(cls, config: RBMConfig, given: frozenset[str]) -> None:
        """A ``model.n_hidden`` the user set asks for dense weights, which ``filters`` ≥ 1 replaces
        (:func:`~physgen.models.rbm.config.check_width`)."""
        check_width(config, given)

    def __init__(self, config: RBMConfig, spec: DataSpec):
        super().__init__(config, spec)
        self.visible = self.config.visible
        self.states = spec.kind == "categorical"    # q-state lattices: values are the state indices 0 … q−1
        self.levels = (spec.n_states - 1 if self.states else spec.levels) if self.visible in ("binomial", "softmax") \
            else 1
        self.flip = (self.visible == "spin") if config.flip is None else bool(config.flip)
        if self.flip and self.visible != "spin":
            raise UserError(f"model.flip: the global spin flip needs spin visible units (visible={self.visible})")
        self.cond_values = checks.condition_values(spec)
        self.symmetry = checks.translations(config.filters, spec, self.visible, config.filter_size)
        K = max(1, len(self.cond_values))
        m = self.symmetry.n_hidden if self.symmetry else config.n_hidden
        n = spec.n_features * (self.levels + 1 if self.visible == "softmax" else 1)   # softmax: one-hot groups
        if config.method == "exact" and min(n if self.enumerable else 99, m) > EXACT_MAX_UNITS:
            raise UserError(f"model.method=exact: needs <= {EXACT_MAX_UNITS} hidden (or binary visible) units, "
                            f"got {n} visible and {m} hidden; use method=pcd or pt")
        if self.symmetry:   # an invariant start (random filters), kept invariant by projected gradients
            kernel = config.init_std * torch.randn(K, config.filters, n) * self.symmetry.mask
            self.W = nn.Parameter(self.symmetry.expand(kernel))
        else:
            self.W = nn.Parameter(config.init_std * torch.randn(K, n, m))
        self.a = nn.Parameter(torch.zeros(K, n))
        self.b = nn.Parameter(torch.zeros(K, m))
        log_s = torch.full((K, n), math.log(config.sigma))
        if config.learn_sigma:
            self.log_sigma = nn.Parameter(log_s)
        else:
            self.register_buffer("log_sigma", log_s)
        self._init_buffers(K, n, m)
        if self.symmetry and not self._explicit:   # autograd gradients: projected as they reach the parameters
            for p, project in zip((self.W, self.a, self.b), self._projections()):
                p.register_hook(project)
        self._calls, self._monitors, self._fast = 0, {}, {}
        self._single: tuple | None = None  # (parameter storage key, detached fast energy) of a single RBM

    def _init_buffers(self, K: int, n: int, m: int) -> None:
        c = self.config
        self.register_buffer("chain_hidden", torch.zeros(K, c.n_chains if c.method == "pcd" else 0, m))
        self.register_buffer("ready", torch.zeros(K, dtype=torch.uint8))
        self.register_buffer("updates", torch.zeros((), dtype=torch.int64))
        R = c.n_temperatures if c.method == "pt" else 0
        self.register_buffer("betas", default_betas(c.n_temperatures, c.beta_min) if R else torch.ones(1))
        shape = (K, R, c.n_chains, n) if R else (K, c.n_chains, n) if c.method == "pcd" else (K, 0, n)
        self.register_buffer("chains", torch.zeros(shape))

    @property
    def enumerable(self) -> bool:
        """Binary or spin visible units: their states can be enumerated and flipped one at a time."""
        return self.visible in ("bernoulli", "spin")

    # --- parameters as maths -------------------------------------------------------------------
    def energy(self, k: int = 0) -> RBMEnergy:
        """The :class:`RBMEnergy` of condition index ``k`` (views of the parameters; differentiable)."""
        # K = 1: squeeze (a view whose backward is free) instead of W[0] (backward allocates a zero W)
        pick = (lambda t: t.squeeze(0)) if self.W.shape[0] == 1 else (lambda t: t[k])  # noqa: E731
        sigma = torch.exp(pick(self.log_sigma)) if self.visible == "gaussian" else None
        return RBMEnergy(self.visible, pick(self.W), pick(self.a), pick(self.b), sigma, levels=self.levels)

    def condition_index(self, condition: dict[str, float] | None) -> int:
        """Index of the RBM for ``condition`` (e.g. ``{"temperature": 2.27}``); UserError lists trained values."""
        return checks.condition_index(self.spec, self.cond_values, condition)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Data rows ``(B, n_features)`` as visible units: softmax units take the one-hot vector of each
        pixel's level (of each site's state) ``(B, n_features (N + 1))``; other units the values themselves."""
        if self.visible != "softmax":
            return x
        k = (x if self.states else x * self.levels).round().long()
        return torch.nn.functional.one_hot(k, self.levels + 1).to(self.W.dtype).flatten(-2)

    def decode(self, u: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`encode`: one-hot groups -> grey levels k/N (states k) ``(B, n_features)``."""
        if self.visible != "softmax":
            return u
        k = u.unflatten(-1, (-1, self.levels + 1)).argmax(-1).to(u.dtype)
        return k if self.states else k / self.levels

    def _groups(self, batch: dict[str, torch.Tensor]) -> list[tuple[int, torch.Tensor]]:
        x = self.encode(batch["x"].reshape(len(batch["x"]), -1))
        if not self.cond_values:
            return [(0, x)]
        idx = checks.batch_index(self.spec, self.cond_values, batch)
        return [(k, x[idx == k]) for k in range(len(self.cond_values)) if bool((idx == k).any())]

    # --- training --------------------------------------------------------------------------------
    def check_batch(self, batch: dict[str, torch.Tensor]) -> None:
        checks.check_values(batch["x"], self.visible, self.spec.kind, self.levels)

    def loss(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator
             ) -> tuple[torch.Tensor, dict[str, float]]:
        """CD/PCD/PT surrogate (or exact NLL) summed over condition groups, plus penalties; closed-form
        gradients reach autograd through :class:`cd.ExplicitGradient` (so DDP all-reduces them)."""
        total, logs, grads = self._objective(batch, generator)
        if grads is not None:
            total = cd.ExplicitGradient.apply(total, grads, self.W, self.a, self.b)
        return total, logs

    @property
    def capabilities(self) -> frozenset[str]:
        """``closed-form-gradients`` for CD/PCD without sparsity or learned σ: :meth:`gradients` skips autograd
        (:mod:`~physgen.models.rbm.cd`)."""
        return RBMCard.capabilities if self._explicit else RBMCard.capabilities - {"closed-form-gradients"}

    def gradients(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator, value: bool = True
                  ) -> tuple[torch.Tensor | None, dict[str, float]]:
        """:meth:`loss`'s value and logs with its closed-form gradient added to ``W.grad``, ``a.grad``,
        ``b.grad`` (no graph, no backward pass; its cost: benchmarks/records/rbm.md).  ``value=False``: the
        value (a softplus over every hidden logit) is skipped and None returned; the gradient, the chains and
        the random draws are the same."""
        if not self._explicit:
            raise NotImplementedError("rbm: closed-form gradients need method cd/pcd without sparsity or learned sigma")
        total, logs, grads = self._objective(batch, generator, value)
        for p, g in zip((self.W, self.a, self.b), grads):
            p.grad = g if p.grad is None else p.grad.add_(g)
        return total, logs

    def _objective(self, batch: dict[str, torch.Tensor], generator: torch.Generator, value: bool = True
                   ) -> tuple[torch.Tensor | None, dict[str, float], tuple[torch.Tensor, ...] | None]:
        """``(L, logs, (∂L/∂W, ∂L/∂a, ∂L/∂b) or None)``: the closed-form gradients when :attr:`_explicit`,
        else ``L`` carries the autograd graph.  ``value=False`` (closed form only): ``L`` is None."""
        if self._calls == 0:
            self.check_batch(batch)
        self._calls += 1
        monitor = int(self.updates) % self.config.monitor_every == 0   # a buffer: same steps after --resume
        self.updates.add_(1)
        total, logs, grads = 0.0, {}, {}
        self._fast = {}
        groups = self._groups(batch)
        for k, v in groups:
            self.start_from(k, v, generator)
        chain_v = negative.chain_visible(self, generator) if self.config.method == "pcd" else None
        for k, v in groups:
            if self._explicit:
                term, *grads[k] = negative.closed_form(self, k, self._fast_energy(k), v, chain_v, generator, value)
                penalty = self._explicit_penalties(k, grads[k], value)
                if value:
                    term = term if isinstance(penalty, float) else term + penalty   # (float: no penalty)
                    total = term if isinstance(total, float) else total + term
            else:
                e = self.energy(k)
                x_data = e.hidden_logits(v)
                if self.config.method == "exact":
                    total = total + e.free_energy(v, x_data).mean() + partition.exact_log_z(e).to(v.dtype)
                else:
                    neg = negative.negative(self, k, e.detach(), x_data.detach(), chain_v, generator, logs)
                    total = total + e.free_energy(v, x_data).mean() - e.free_energy(neg).mean()
                total = total + self._penalties(e, v)
            if monitor:  # own generator: monitoring never changes the training's random stream
                mgen = torch.Generator(device=v.device).manual_seed(int(self.updates))
                self._monitors.update(likelihood.monitor(self, self.energy(k).detach(), v, mgen,
                                                         prefix=f"t{k}_" if k else ""))
        if chain_v is not None:  # chains of condition values absent from this batch still advance
            for k in sorted(set(range(len(chain_v))) - {k for k, _ in groups}):
                negative.finish_chain(self, k, self._fast_energy(k), chain_v[k], generator)
        total = total if value or not self._explicit else None
        grads = self._stack_gradients(grads) if grads else None
        if grads is not None and self.symmetry:
            grads = self.symmetry.project_all(*grads)
        return total, {**logs, **self._monitors}, grads

    def _projections(self) -> tuple:
        """Projections onto translation-invariant ``(W, a, b)`` (:mod:`~physgen.models.rbm.symmetry`)."""
        s = self.symmetry
        return s.project, s.project_visible, s.project_hidden

    def stacked_energy(self) -> RBMEnergy:
        """All K RBMs as one (detached) energy: ``W (K, n, m)``, ``a (K, 1, n)``, ``b (K, 1, m)``."""
        sigma = torch.exp(self.log_sigma)[:, None] if self.visible == "gaussian" else None
        return RBMEnergy(self.visible, self.W, self.a[:, None], self.b[:, None], sigma, levels=self.levels).detach()

    def _fast_energy(self, k: int) -> RBMEnergy:
        """Group k's detached energy with its product copy of W (:meth:`RBMEnergy.fast`), cast once per update."""
        if k not in self._fast:
            single = len(self.cond_values) <= 1 and self.visible != "gaussian"  # (σ = exp(log σ) is a copy)
            self._fast[k] = self._single_fast() if single else self.energy(k).detach().fast()
        return self._fast[k]

    def _single_fast(self) -> RBMEnergy:
        """:meth:`_fast_energy` of a single binary/spin RBM: the detached views are built once per parameter
        storage (the optimizer updates in place) and only the bfloat16 copy of W is refreshed, in place."""
        key = (self.W.data_ptr(), self.a.data_ptr(), self.b.data_ptr(), self.W.device, bf16_products(self.W))
        if self._single is None or self._single[0] != key:
            e = self.energy(0).detach()
            wc = torch.empty(e.W.shape, dtype=torch.bfloat16, device=e.W.device) if key[-1] else None
            self._single = (key, e.fast(out=wc))
        e = self._single[1]
        if e.Wc is not None:
            e.Wc.copy_(e.W)
        return e

    @property
    def _explicit(self) -> bool:
        """Closed-form CD gradients (:mod:`~physgen.models.rbm.cd`): CD/PCD without sparsity or learned σ."""
        c = self.config
        return c.method in ("cd", "pcd") and not c.sparsity_cost and not isinstance(self.log_sigma, nn.Parameter)

    def _stack_gradients(self, grads: dict[int, list[torch.Tensor]]) -> tuple[torch.Tensor, ...]:
        """Per-group ``(dW, da, db)`` -> gradients shaped like ``W``, ``a``, ``b`` (zero for absent groups)."""
        if self.W.shape[0] == 1:
            return tuple(g.unsqueeze(0) for g in grads[0])
        out = (torch.zeros_like(self.W), torch.zeros_like(self.a), torch.zeros_like(self.b))
        for k, parts in grads.items():
            for full, part in zip(out, parts):
                full[k] = part
        return out

    def start_from(self, k: int, v: torch.Tensor, generator: torch.Generator) -> None:
        """Once, at the first batch ``v`` of group k (a DBN's greedy layers call it too): the visible bias from
        the data (Hinton guide §8.1) and the persistent chains from the data rows."""
        if self.ready[k]:
            return
        with torch.no_grad():
            a = checks.data_bias(v, self.visible)
            self.a[k].copy_(self.symmetry.project_visible(a) if self.symmetry else a)
            if self.chains.shape[-2] > 0:
                e = self.energy(k).detach()
                start = initial_state(e, self.chains.shape[-2], v, generator)
                self.chains[k] = start.expand_as(self.chains[k])
                if self.chain_hidden.shape[-2] > 0:
                    self.chain_hidden[k] = e.sample_hidden(self.chains[k], generator)
            self.ready[k] = 1

    def _explicit_penalties(self, k: int, grads: list[torch.Tensor], value: bool = True) -> torch.Tensor | float:
        """Weight decay for the closed-form path: adds ``l2·W + l1·sign W`` to group k's ``grads[0]``;
        returns the penalty (0.0 when ``value`` is False)."""
        c = self.config
        if not (c.l1 or c.l2):
            return 0.0
        W = self.energy(k).detach().W
        if c.l2:
            grads[0].add_(W, alpha=c.l2)
        if c.l1:
            grads[0].add_(torch.sign(W), alpha=c.l1)
        return self._weight_decay(W) if value else 0.0

    def _weight_decay(self, W: torch.Tensor) -> torch.Tensor | float:
        """``l2/2 ΣW² + l1 Σ|W|`` (0.0 when both are off)."""
        c, pen = self.config, 0.0
        if c.l2:
            pen = pen + 0.5 * c.l2 * (W ** 2).sum()
        if c.l1:
            pen = pen + c.l1 * W.abs().sum()
        return pen

    def _penalties(self, e: RBMEnergy, v: torch.Tensor) -> torch.Tensor:
        c, pen = self.config, self._weight_decay(e.W)
        if c.sparsity_cost:
            q = torch.sigmoid(e.hidden_logits(v)).mean(0)
            pen = pen + c.sparsity_cost * binary_cross_entropy(q, torch.full_like(q, c.sparsity_target), reduction="sum")
        return pen

    # --- generation and scoring ------------------------------------------------------------------
    def preview(self, *, generator: torch.Generator):
        """The base class's 4×4 sample grid, drawn with a short burn-in (≤ 100 sweeps) to stay cheap."""
        return super().preview(generator=generator, burn_in=min(self.config.burn_in, 100))

    def sample(self, n: int, *, generator: torch.Generator, condition: dict[str, float] | None = None,
               burn_in: int | None = None, thin: int | None = None, init: Any = "persistent",
               chains: int | None = None, sampler: str | None = None, steps: int | None = None,
               flip: bool | None = None) -> torch.Tensor:
        """``(n, *spec.shape)`` samples by block Gibbs (or PT for ``sampler="pt"``/method pt).

        ``burn_in`` (alias ``steps``) sweeps, then one sample per chain every ``thin`` sweeps;
        ``init``: ``"persistent"`` (the training chains when present, else random), ``"random"``,
        or a tensor of starting rows (e.g. data).  Grey images return E[v | h] after the last sweep
        (:func:`sampling.sample`).
        """
        return sampling.sample(self, n, generator=generator, condition=condition, burn_in=burn_in, thin=thin,
                               init=init, chains=chains, sampler=sampler, steps=steps, flip=flip)

    def proposal(self, condition: dict[str, float] | None = None):
        """The block-Gibbs kernel of the RBM trained nearest to ``condition``, as a proposal for exact Boltzmann
        sampling (:mod:`physgen.samplers.boltzmann`): one sweep ``v → h → v′`` is reversible with respect to
        the marginal q(v) ∝ e^{−F(v)}, whose ``log q = −F(v)`` it reports (spin lattices only)."""
        return sampling.proposal(self, condition)

    def step_work(self, batch_size: int) -> float | None:
        """Multiply-add equivalents of one training step (:mod:`physgen.models.rbm.work`)."""
        c = self.config
        return work.step(n_visible=self.W.shape[-2], n_hidden=self.W.shape[-1], batch=batch_size, method=c.method,
                         k=c.k, chains=c.n_chains, replicas=c.n_temperatures if c.method == "pt" else 1,
                         groups=self.W.shape[0], tied=bool(self.symmetry))

    def sample_work(self, n: int) -> float | None:
        """Multiply-add equivalents of ``sample(n)`` with its defaults (:mod:`physgen.models.rbm.work`)."""
        c = self.config
        return work.sample(n, n_visible=self.W.shape[-2], n_hidden=self.W.shape[-1], burn_in=c.burn_in,
                           replicas=c.n_temperatures if c.method == "pt" else 1)

    def log_prob(self, x: torch.Tensor, *, method: str = "exact", generator: torch.Generator | None = None,
                 cond: torch.Tensor | None = None, n_chains: int = 100, n_betas: int = 5000,
                 schedule: str = "sm", **options: Any) -> tuple[torch.Tensor, dict[str, Any]]:
        """``log p(x) = −F(x) − log Z`` ``(N,)`` with ``log Z`` exact (``method="exact"``) or by AIS
        (``method="ais"``, ``n_chains`` × ``n_betas``); attrs hold ``log_z``, ``log_z_error`` (lists when
        conditioned, one per condition value) and the AIS bracket (:func:`likelihood.log_prob`)."""
        return likelihood.log_prob(self, x, method=method, generator=generator, cond=cond, n_chains=n_chains,
                                   n_betas=n_betas, schedule=schedule, **options)
