"""The ``rbm`` model: Bernoulli / spin / Gaussian / binomial / softmax visible units, CD-k, PCD, PT, exact.

Training minimises ``L = mean_data F(v) − mean_neg F(v⁻)`` with ``v⁻`` drawn (without gradient) from
the model by the negative-phase sampler; its gradient is the contrastive-divergence estimate of the
negative log-likelihood gradient ``⟨∂F⟩_data − ⟨∂F⟩_model`` (Hinton 2002; Tieleman 2008 for PCD;
Desjardins et al. 2010 for PT), so the trainer's optimizer (SGD with momentum) performs the classic
update.  For CD and PCD the gradient is computed in closed form (:mod:`physgen.models.rbm.cd`) unless
a sparsity penalty or a learned σ asks for autograd.  ``method = "exact"`` uses ``L = mean F(v) + log Z`` with
``log Z`` enumerated (the exact
NLL).  Persistent chains are registered buffers, hence checkpointed and resumed.

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
from torch.nn.functional import binary_cross_entropy, logsigmoid

from physgen.errors import UserError
from physgen.models.base import DataSpec, GenerativeModel, budget, overlay
from physgen.models.contract import DemoStage
from physgen.models.rbm import cd, checks, partition, work
from physgen.models.rbm.config import EXACT_MAX_UNITS, RBMConfig, dense_with_filters
from physgen.models.rbm.energy import RBMEnergy, bf16_products
from physgen.samplers import ais as ais_mod
from physgen.samplers.boltzmann import Proposal
from physgen.samplers.gibbs import gibbs_sample, gibbs_steps, initial_state
from physgen.samplers.tempering import default_betas, pt_sample, pt_sweep



class RBM(GenerativeModel):
    """Restricted Boltzmann machine with ``n = prod(spec.shape)`` visible (softmax units: ``(N + 1)`` per pixel,
    the one-hot groups of :meth:`encode`) and ``config.n_hidden`` hidden units.

    Parameters (``K`` = number of condition values, 1 when unconditioned): ``W (K, n, m)``,
    ``a (K, n)``, ``b (K, m)`` and, for Gaussian units, ``log_sigma (K, n)``.  Buffers: ``chains``
    ``(K, C, n)`` and their hidden units ``chain_hidden (K, C, m)`` (pcd) or ``(K, R, C, n)`` (pt), ``betas (R,)``,
    ``ready (K,)`` (bias initialised
    from data and chains started), ``updates`` (loss calls, schedules the monitors).
    """

    name: ClassVar[str] = "rbm"
    # translation-invariant filters (network kind "translation"): their number is the size
    size_keys: ClassVar[dict[str, tuple[str, ...]] | None] = {"mlp": ("n_hidden",), "cnn": ("n_hidden",),
                                                              "translation": ("filters",)}
    demo: ClassVar[DemoStage | None] = DemoStage("rbm", "Restricted Boltzmann machine (one spin RBM per temperature)",
                                                 10, "04_rbm_ising.py", 1500)
    description: ClassVar[str] = ("restricted Boltzmann machine: Bernoulli, spin, Gaussian, binomial or softmax visible "
                                  "units; translation-invariant filters on lattices; CD-k, PCD, parallel tempering, "
                                  "global spin flip; exact log Z and AIS")
    config_class: ClassVar[type] = RBMConfig
    checkpoint_version: ClassVar[int] = 2  # 2: persistent chains also carry their hidden units
    default_spec: ClassVar[DataSpec] = DataSpec("spins", (16, 16))
    # physgen's defaults for RBM runs (config overlay read by the trainer): SGD with momentum (Hinton 2012
    # guide, §9) and a linearly decaying learning rate, which damps the oscillation of the weight of the two
    # Ising modes (docs/rbm.md).  Matrix products at "medium" precision: faster on CPUs with bfloat16 units at
    # float32-level error (docs/training.md); log Z, AIS and the exact likelihood are computed in float64, which
    # the setting never touches (benchmarks/records/rbm.md)
    default_config: ClassVar[dict[str, Any]] = {"train": {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9,
                                                          "schedule": "linear", "batch_size": 64,
                                                          "matmul_precision": "medium"}}
    # per data kind; the linear decay runs over the step budget, which PCD needs (Tieleman 2008; benchmarks/records/
    # rbm.md, budgets.md)
    # a user's n_hidden asks for dense weights: the translation-invariant filters of the spins defaults, and the
    # batch chosen for them, give way
    default_conflicts: ClassVar[dict[str, tuple[str, ...]]] = {"n_hidden": ("filters", "filter_size",
                                                                             "train.batch_size")}
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {
        # L=16 Ising: translation-invariant weights (Carleo & Troyer 2017), 2 filters on 3×3 windows, which
        # represent nearest-neighbour bonds.  Batches of 256
        # lattices: the data's bond statistics fluctuate most at T_c, and the coupling learned there follows them
        # (benchmarks/records/rbm.md)
        "spins": overlay({"model": {"filters": 2, "filter_size": 3}, "train": {"batch_size": 256}},
                         budget(20_000)),
        # Pythia tt̄ events: Gaussian visible units (visible=auto) on Gaussianised features (data.transform=
        # auto: quantile), 64 hidden (benchmarks/records/rbm.md)
        "continuous": overlay({"model": {"n_hidden": 64}}, budget(100_000)),
        # binarized 8x8 digits: 128 hidden reach the real-vs-real floors (benchmarks/records/rbm.md)
        "binary": overlay({"model": {"n_hidden": 128}}, budget(10_000)),
        # grey 8x8 digits (softmax units over the 17 levels, visible=auto): parallel tempering (Desjardins et al.
        # 2010; 10 replicas, in training and sampling), since persistent Gibbs chains mix too slowly between the
        # digits, weight decay l2 1e-4 (the Hinton guide's usual weight cost, §10) and 300 sampling sweeps
        # (benchmarks/records/rbm.md, with the settings not adopted)
        "image": overlay({"model": {"l2": 1e-4, "method": "pt", "burn_in": 300}}, budget(10_000)),
    }

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
        """A ``model.n_hidden`` the user set asks for dense weights, which ``filters`` ≥ 1 replaces."""
        if "model.n_hidden" in given and config.filters:
            raise dense_with_filters(config)

    def __init__(self, config: RBMConfig, spec: DataSpec):
        super().__init__(config, spec)
        self.visible = self.config.visible
        self.levels = spec.levels if self.visible in ("binomial", "softmax") else 1
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
        pixel's level ``(B, n_features (N + 1))``; other units the values themselves."""
        if self.visible != "softmax":
            return x
        k = (x * self.levels).round().long()
        return torch.nn.functional.one_hot(k, self.levels + 1).to(self.W.dtype).flatten(-2)

    def decode(self, u: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`encode`: one-hot groups -> grey levels k/N ``(B, n_features)``."""
        if self.visible != "softmax":
            return u
        return u.unflatten(-1, (-1, self.levels + 1)).argmax(-1).to(u.dtype) / self.levels

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
    def closed_form_gradients(self) -> bool:
        """CD/PCD without sparsity or learned σ: :meth:`gradients` skips autograd (:mod:`~physgen.models.rbm.cd`)."""
        return self._explicit

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
        chain_v = self._chain_visible(generator) if self.config.method == "pcd" else None
        for k, v in groups:
            if self._explicit:
                term, *grads[k] = self._closed_form(k, self._fast_energy(k), v, chain_v, generator, value)
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
                    neg = self._negative(k, e.detach(), x_data.detach(), chain_v, generator, logs)
                    total = total + e.free_energy(v, x_data).mean() - e.free_energy(neg).mean()
                total = total + self._penalties(e, v)
            if monitor:  # own generator: monitoring never changes the training's random stream
                mgen = torch.Generator(device=v.device).manual_seed(int(self.updates))
                self._monitors.update(self._monitor(self.energy(k).detach(), v, mgen, prefix=f"t{k}_" if k else ""))
        if chain_v is not None:  # chains of condition values absent from this batch still advance
            for k in sorted(set(range(len(chain_v))) - {k for k, _ in groups}):
                self._finish_chain(k, self._fast_energy(k), chain_v[k], generator)
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

    @torch.no_grad()
    def _chain_visible(self, generator: torch.Generator) -> list[torch.Tensor]:
        """PCD: k − 1 full sweeps and the last ``h → v`` of every persistent chain of every condition value
        at once (batched products; a single RBM uses plain 2-D products, which oneDNN runs faster than a
        batch of one): ``(K, C, n)``.  Each group finishes its chains in :meth:`_finish_chain`, its
        ``v → x`` product stacked with the data's.  Returns the K tensors ``(C, n)``."""
        single = self.W.shape[0] == 1
        e = self._fast_energy(0) if single else self.stacked_energy().fast()
        h = self.chain_hidden[0] if single else self.chain_hidden
        if self.config.k > 1:
            h = cd.sweeps(e, h, self.config.k - 1, generator, flip=self.flip)[2]
        v = e.sample_visible(h, generator)
        return [v] if single else list(v.unbind(0))

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

    @torch.no_grad()
    def _finish_chain(self, k: int, e: RBMEnergy, v: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Last half-sweep of group k's chains from ``v (C, n)``: logits, the spin flip, ``h ~ σ(x)``;
        stores both (:meth:`_store_chain`) and returns the chains' visible units."""
        x = e.hidden_logits(v)
        if self.flip:
            v, x = cd.flip_from_logits(e, v, x, generator)
        self._store_chain(k, v, torch.sigmoid(x), generator)
        return v

    def _store_chain(self, k: int, v: torch.Tensor, p: torch.Tensor, generator: torch.Generator) -> None:
        """Group k's persistent chains become ``v (C, n)``, their hidden units a draw ``h ~ p (C, m)``."""
        self.chains[k] = v
        cd.bernoulli(p, generator, out=self.chain_hidden[k])

    def _closed_form(self, k: int, e: RBMEnergy, v: torch.Tensor, chain_v: list[torch.Tensor] | None,
                     generator: torch.Generator, value: bool = True) -> tuple[torch.Tensor | None, ...]:
        """``(L, dW, da, db)`` of group k by :func:`cd.cd_gradients`: PCD computes the logits of the data
        and of its chains in one product (then the chains' flip and hidden draw, as
        :meth:`_finish_chain`, reusing the probabilities the statistics need); CD runs k sweeps from the
        data's hidden units."""
        with torch.no_grad():
            if chain_v is None:
                x_data = e.hidden_logits(v)
                return cd.cd_gradients(e, v, x_data, *self._cd_negative(e, x_data, generator), value=value)
            B, both = len(v), torch.cat([v, chain_v[k]])
            vc = e.operands(both)   # cast once for both products (None: Gaussian units, scaled per product)
            x = e.hidden_logits(both if vc is None else vc)
            if self.flip:
                both[B:], x[B:] = cd.flip_from_logits(e, both[B:], x[B:], generator)
                if vc is not None and vc is not both:
                    vc[B:] = both[B:]
            p = torch.sigmoid(x)
            self._store_chain(k, both[B:], p[B:], generator)
            return cd.stacked_gradients(e, both, x, B, p, vc, value=value)

    def _cd_negative(self, e: RBMEnergy, x_data: torch.Tensor, generator: torch.Generator
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """CD-k negatives ``(v, x)``: k sweeps from ``h ~ σ(x_data)`` (the final hidden draw skipped)."""
        h = cd.bernoulli(torch.sigmoid(x_data), generator)
        neg, x_neg, _ = cd.sweeps(e, h, self.config.k, generator, flip=self.flip, last_hidden=False)
        return neg, x_neg

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

    def _negative(self, k: int, e: RBMEnergy, x_data: torch.Tensor, chain_v: list[torch.Tensor] | None,
                  generator: torch.Generator, logs: dict[str, float]) -> torch.Tensor:
        """Negative samples ``(C, n)`` of group ``k`` for the autograd path: CD-k from the data's hidden
        units, the persistent chains finished from ``chain_v``, or a PT sweep."""
        c = self.config
        with torch.no_grad():
            if c.method == "cd":
                return self._cd_negative(e, x_data, generator)[0]
            if c.method == "pcd":
                return self._finish_chain(k, self._fast_energy(k), chain_v[k], generator)
            self.chains[k], rate = pt_sweep(e, self.chains[k], self.betas, generator, steps=c.k, flip=self.flip)
            logs["pt_swap_min"] = float(rate.min())
            return self.chains[k, -1].clone()

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

    @torch.no_grad()
    def _monitor(self, e: RBMEnergy, v: torch.Tensor, generator: torch.Generator, prefix: str = "") -> dict[str, float]:
        """Reconstruction error, pseudo-likelihood (binary/spin) and exact mean log-likelihood (small models)."""
        recon = e.visible_mean(torch.sigmoid(e.hidden_logits(v)))
        out = {prefix + "recon_error": float(((v - recon) ** 2).sum(-1).mean())}
        if self.enumerable:
            out[prefix + "pseudo_likelihood"] = float(pseudo_log_likelihood(e, v, generator).mean())
        if min(e.n_hidden, e.n_visible if self.enumerable else 99) <= 16:
            e64 = e.to(torch.float64)
            out[prefix + "exact_log_likelihood"] = float(-e64.free_energy(v.double()).mean()
                                                         - partition.exact_log_z(e64))
        return out

    # --- generation and scoring ------------------------------------------------------------------
    def preview(self, *, generator: torch.Generator):
        """The base class's 4×4 sample grid, drawn with a short burn-in (≤ 100 sweeps) to stay cheap."""
        return super().preview(generator=generator, burn_in=min(self.config.burn_in, 100))

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator, condition: dict[str, float] | None = None,
               burn_in: int | None = None, thin: int | None = None, init: Any = "persistent",
               chains: int | None = None, sampler: str | None = None, steps: int | None = None,
               flip: bool | None = None) -> torch.Tensor:
        """``(n, *spec.shape)`` samples by block Gibbs (or PT for ``sampler="pt"``/method pt).

        ``burn_in`` (alias ``steps``) sweeps, then one sample per chain every ``thin`` sweeps;
        ``init``: ``"persistent"`` (the training chains when present, else random), ``"random"``,
        or a tensor of starting rows (e.g. data).  Grey images return E[v | h] after the last sweep.
        """
        k = self.condition_index(condition)
        e = self.energy(k).detach()
        c = self.config
        burn_in = c.burn_in if burn_in is None and steps is None else (steps if burn_in is None else burn_in)
        thin, flip = c.thin if thin is None else thin, self.flip if flip is None else flip
        start = self._init_rows(k, init)
        sampler = sampler or ("pt" if c.method == "pt" else "gibbs")
        if sampler == "pt":
            x = pt_sample(e, n, betas=self.betas if len(self.betas) > 1 else default_betas(c.n_temperatures, c.beta_min),
                          generator=generator, chains=chains, burn_in=burn_in, thin=thin, init=start, flip=flip)
        elif sampler == "gibbs":
            x = gibbs_sample(e, n, generator=generator, chains=chains, burn_in=burn_in, thin=thin, init=start, flip=flip)
        else:
            raise UserError(f"sampler={sampler}: the rbm samples with 'gibbs' or 'pt'")
        x = self.decode(x)
        if self.visible == "bernoulli" and self.spec.kind == "image":   # grey levels: the mean E[v | h] of a
            # last half-sweep, not binary draws (binomial and softmax units draw grey levels themselves)
            x = e.visible_mean(e.sample_hidden(x.to(self.W), generator)).to(x.dtype)
        return x.reshape(n, *self.spec.shape)

    def proposal(self, condition: dict[str, float] | None = None):
        """The block-Gibbs kernel of the RBM trained nearest to ``condition``, as a proposal for exact Boltzmann
        sampling (:mod:`physgen.samplers.boltzmann`): one sweep ``v → h → v′`` is reversible with respect to
        the marginal q(v) ∝ e^{−F(v)}, whose ``log q = −F(v)`` it reports (spin lattices only)."""
        if self.spec.kind != "spins":
            raise UserError(f"the rbm proposes Boltzmann moves on spin lattices, not {self.spec.kind} data")
        k, cond = 0, None
        if self.cond_values:
            want = float(next(iter(condition.values()))) if condition else float("nan")
            k = min(range(len(self.cond_values)), key=lambda i: abs(self.cond_values[i] - want)) if want == want else 0
            cond = {checks.condition_key(self.spec): self.cond_values[k]}
        e = self.energy(k).detach()
        e64, shape = e.to(torch.float64), self.spec.shape

        def log_q(v: torch.Tensor) -> torch.Tensor:
            return -e64.free_energy(v.reshape(len(v), -1).double())

        def draw(n: int, generator: torch.Generator):
            v = self.sample(n, generator=generator, condition=cond)
            return v.reshape(n, *shape), log_q(v)

        def move(s: torch.Tensor, _log_q: torch.Tensor, generator: torch.Generator):
            v = gibbs_steps(e, s.reshape(len(s), -1).to(self.W), 1, generator)
            return v.reshape(len(s), *shape), log_q(v)

        return Proposal(draw, move, lambda s, generator: log_q(s.to(self.W)))

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

    def _init_rows(self, k: int, init: Any) -> torch.Tensor | None:
        if isinstance(init, str):
            if init not in ("persistent", "random"):
                raise UserError(f"sample init {init!r}: use 'persistent', 'random' or a tensor of rows")
            have = init == "persistent" and self.ready[k] and self.chains.shape[-2] > 0
            return self.chains[k].reshape(-1, self.chains.shape[-1]) if have else None
        return None if init is None else self.encode(torch.as_tensor(init).reshape(len(init), -1).to(self.W))

    def log_prob(self, x: torch.Tensor, *, method: str = "exact", generator: torch.Generator | None = None,
                 cond: torch.Tensor | None = None, n_chains: int = 100, n_betas: int = 5000,
                 schedule: str = "sm", **options: Any) -> tuple[torch.Tensor, dict[str, Any]]:
        """``log p(x) = −F(x) − log Z`` ``(N,)`` with ``log Z`` exact (``method="exact"``) or by AIS
        (``method="ais"``, ``n_chains`` × ``n_betas``); attrs hold ``log_z``, ``log_z_error`` (lists when
        conditioned, one per condition value) and the AIS bracket."""
        if method not in ("exact", "ais"):
            raise UserError(f"method={method}: the rbm supports exact and ais")
        x = x.reshape(len(x), -1).to(self.W)
        checks.check_values(x, self.visible, self.spec.kind, self.levels)
        batch = {"x": x} if cond is None else {"x": x, "cond": cond.to(self.W)}
        idx = torch.zeros(len(x), dtype=torch.long) if not self.cond_values else checks.batch_index(
            self.spec, self.cond_values, batch).cpu()
        out = torch.empty(len(x), dtype=torch.float64)
        infos = []
        for k in sorted(set(idx.tolist())):
            e = self.energy(k).detach().to(torch.float64)
            info = self._log_z(e, method, generator, n_chains, n_betas, schedule)
            sel = idx == k
            out[sel] = (-e.free_energy(self.encode(x[sel.to(x.device)]).double()) - info["log_z"]).cpu()
            infos.append(info)
        attrs = infos[0] if len(infos) == 1 else {key: [i[key] for i in infos] for key in infos[0]}
        return out, attrs

    def _log_z(self, e: RBMEnergy, method: str, generator, n_chains: int, n_betas: int, schedule: str) -> dict:
        if method == "exact":
            return {"log_z": float(partition.exact_log_z(e)), "log_z_error": 0.0, "method": "exact"}
        r = ais_mod.ais_log_z(e, n_chains=n_chains, n_betas=n_betas, schedule=schedule,
                              generator=generator, flip=self.flip)
        return {**r.to_json(), "method": "ais"}


@torch.no_grad()
def pseudo_log_likelihood(e: RBMEnergy, v: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Stochastic pseudo-log-likelihood ``(N,)``: ``n · log σ(F(ṽ) − F(v))`` with ``ṽ`` = ``v`` with one
    uniformly chosen unit flipped (Besag 1975; the estimator of scikit-learn's ``BernoulliRBM.score_samples``)."""
    n = v.shape[-1]
    i = torch.randint(n, (len(v),), generator=generator, device=v.device)
    flipped = v.clone()
    rows = torch.arange(len(v), device=v.device)
    flipped[rows, i] = (1 - v[rows, i]) if e.visible == "bernoulli" else -v[rows, i]
    return n * logsigmoid(e.free_energy(flipped) - e.free_energy(v))
