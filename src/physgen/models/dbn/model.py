"""The ``dbn`` model: a deep belief network trained greedily, one RBM per layer, on the shared trainer.

Greedy layer-wise training (Hinton, Osindero & Teh 2006, §4): the RBM ``r_0`` is trained on the data;
then ``r_1`` on samples ``h_1 ~ q(h_1 | v)`` of ``r_0``'s hidden units given the data, and so on.  Each
layer is a :class:`physgen.models.rbm.RBM` (any visible type at the bottom, Bernoulli above), trained by its
own contrastive-divergence loss.  The schedule is a counter: the DBN's update ``t`` trains layer
``min(t // S, L − 1)`` (``S = model.steps_per_layer``), only that layer's parameters receive gradients (the
optimizer skips the others), and with ``model.decay = "linear"`` its gradient is scaled by ``(S − s)/S`` at
its ``s``-th update — the linear learning-rate decay PCD needs, per layer.  The counter ``updates`` and every
RBM's chains are registered buffers, so a checkpoint holds the whole schedule and a resumed run continues
it exactly; a run hook (:meth:`DBN.run_hooks`) asks the run to stop once the last layer has had its ``S`` updates.  With
``model.finetune_steps = F`` the schedule goes on with ``F`` up-down updates of the whole network
(:mod:`physgen.models.dbn.finetune`): the directed layers' recognition weights are untied from the generative
ones (flag ``untied``, parameters ``rec.W``, ``rec.b``) and the bound's ``q`` uses them from then on.

Sampling: block Gibbs in the top RBM (its ``burn_in``/``thin``/``init`` options), then one down-pass
through the directed layers, ``h_l ~ p_l(h_l | h_{l+1})`` down to ``v``.  Likelihood: exact for tiny
networks, otherwise the variational lower bound with the top RBM's ``log Z`` exact or by AIS
(:mod:`physgen.models.dbn.likelihood`; Salakhutdinov & Murray 2008).
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from physgen.errors import UserError
from physgen.models.base import DataSpec, GenerativeModel
from physgen.models.contract import Hook, RunContext
from physgen.models.dbn import finetune
from physgen.models.dbn.card import DBNCard
from physgen.models.dbn import likelihood as L
from physgen.models.dbn.config import DBNConfig
from physgen.models.rbm import cd, checks
from physgen.models.rbm.energy import RBMEnergy
from physgen.models.rbm.model import RBM
from physgen.models.rbm.partition import exact_log_z
from physgen.samplers import ais as ais_mod
from physgen.samplers.draws import bernoulli

METHODS = ("exact", "bound", "ais")


class DBN(DBNCard, GenerativeModel):
    """Deep belief network: ``rbms[l]`` couples layer ``l`` (``l = 0``: the data, ``n = prod(spec.shape)``
    units) to layer ``l + 1`` (``config.layers[l]`` Bernoulli units).  Buffers: ``updates`` (loss calls, the
    greedy schedule) and each RBM's own (persistent chains, ``ready``).  Its card (name, defaults):
    :class:`physgen.models.dbn.card.DBNCard`."""

    @classmethod
    def resolve(cls, config: DBNConfig, spec: DataSpec) -> DBNConfig:
        """``visible = auto``: the bottom RBM's unit type for data like ``spec`` without grey levels (the
        bottom RBM is not offered binomial or softmax units)."""
        visible = checks.resolve_visible(config.visible, replace(spec, levels=None))
        return config if visible == config.visible else replace(config, visible=visible)

    def __init__(self, config: DBNConfig, spec: DataSpec):
        super().__init__(config, spec)
        config = self.config
        if spec.condition_names or spec.n_labels:
            raise UserError("data.condition: the dbn models unconditioned data only (train one run per condition, "
                            "or use the rbm, which holds one RBM per condition value)")
        sizes = [spec.n_features, *config.layers]
        # the up-down fine-tuning and the likelihood bounds are written for Bernoulli, spin and Gaussian
        # units: the bottom RBM is not offered binomial ones
        specs = [replace(spec, levels=None)] + [DataSpec("binary", (m,)) for m in sizes[1:-1]]
        self.rbms = nn.ModuleList([RBM(config.layer_config(i), specs[i]) for i in range(len(config.layers))])
        if config.tie_init:
            self._check_tie(sizes)
        self.register_buffer("updates", torch.zeros((), dtype=torch.int64))
        self.register_buffer("untied", torch.zeros((), dtype=torch.uint8))
        if config.up_down_steps:   # recognition weights R_l (n_l, n_{l+1}) and biases c_l, untied at fine-tuning
            self.rec = nn.Module()
            directed = range(len(sizes) - 2)
            self.rec.W = nn.ParameterList([nn.Parameter(torch.zeros(sizes[l], sizes[l + 1])) for l in directed])
            self.rec.b = nn.ParameterList([nn.Parameter(torch.zeros(sizes[l + 1])) for l in directed])

    def _check_tie(self, sizes: list[int]) -> None:
        for l in range(1, self.n_layers):
            if sizes[l + 1] != sizes[l - 1] or self.rbms[l - 1].visible != "bernoulli":
                below = "the data" if l == 1 else f"layer {l - 1}"
                raise UserError(f"model.tie_init: layer {l + 1} must have as many units as {below} ({sizes[l - 1]}, "
                                f"got {sizes[l + 1]}) and Bernoulli units below (here {self.rbms[l - 1].visible}); "
                                f"set model.layers to match or model.tie_init=false")

    @torch.no_grad()
    def _tie(self, l: int, x: torch.Tensor, generator: torch.Generator) -> None:
        """Start ``rbms[l]`` as ``rbms[l − 1]`` transposed (``W ← Wᵀ``, ``a ← b``, ``b ← a``) before its first
        update; its persistent chains start from the rows ``x`` (the RBM's own first-batch start, whose
        data-based visible bias the tie then replaces), their hidden units redrawn under the tied weights."""
        r, below = self.rbms[l], self.rbms[l - 1]
        r.start_from(0, x, generator)
        r.W.copy_(below.W.mT), r.a.copy_(below.b), r.b.copy_(below.a)
        if r.chain_hidden.shape[-2] > 0:
            r.chain_hidden[0] = r.energy().detach().sample_hidden(r.chains[0], generator)

    # --- the greedy schedule ---------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        return len(self.rbms)

    @property
    def layer(self) -> int:
        """Index of the RBM the next update trains."""
        return min(int(self.updates) // self.config.steps_per_layer, self.n_layers - 1)

    @property
    def greedy_steps(self) -> int:
        return self.n_layers * self.config.steps_per_layer

    @property
    def finetuning(self) -> bool:
        """True once the greedy pass is over and up-down fine-tuning is asked for."""
        return self.config.up_down_steps > 0 and int(self.updates) >= self.greedy_steps

    @property
    def schedule_done(self) -> bool:
        """True once every layer has had its ``steps_per_layer`` updates and fine-tuning its ``finetune_steps``."""
        return int(self.updates) >= self.greedy_steps + self.config.up_down_steps

    def _scale(self) -> float:
        """The current phase's gradient factor: ``(S − s)/S`` at its ``s``-th of ``S`` updates (linear decay;
        ≥ 1/S) or 1."""
        if self.config.decay != "linear":
            return 1.0
        if self.finetuning:
            S, s = self.config.up_down_steps, int(self.updates) - self.greedy_steps
        else:
            S = self.config.steps_per_layer
            s = int(self.updates) - self.layer * S
        s = min(s, S - 1)
        return (S - s) / S

    def recognition(self) -> list[RBMEnergy]:
        """The upward ``q_l(h_{l+1} | h_l)`` of the ``L − 1`` directed layers as (detached) energies: the RBMs'
        own until fine-tuning unties them, then ``W = R_l``, ``b = c_l``."""
        own = [r.energy().detach() for r in self.rbms[:-1]]
        if not bool(self.untied):
            return own
        return [replace(e, W=self.rec.W[l].detach(), b=self.rec.b[l].detach()) for l, e in enumerate(own)]

    @torch.no_grad()
    def propagate(self, x: torch.Tensor, layer: int, generator: torch.Generator | None) -> torch.Tensor:
        """``h_layer ~ q(h_layer | v)``: ``x (B, *shape)`` sampled up through ``rbms[:layer]`` -> ``(B, n_layer)``
        (binary states, the data of the RBM ``rbms[layer]``)."""
        h = x.reshape(len(x), -1)
        for e in self.recognition()[:layer]:
            h = bernoulli(torch.sigmoid(e.hidden_logits(h)), generator)
        return h

    def _layer_batch(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> tuple[int, dict]:
        l = self.layer
        x = batch["x"] if l == 0 else self.propagate(batch["x"], l, generator)
        if l > 0 and self.config.tie_init and not self.rbms[l].ready[0]:
            self._tie(l, x, generator)
        return l, {"x": x}

    def _logs(self, l: int, logs: dict[str, float]) -> dict[str, float]:
        return {"layer": float(l), **{f"l{l}_{k}": v for k, v in logs.items()}}

    # --- training --------------------------------------------------------------------------------
    def check_batch(self, batch: dict[str, torch.Tensor]) -> None:
        self.rbms[0].check_batch(batch)

    @property
    def capabilities(self) -> frozenset[str]:
        """``closed-form-gradients`` where every layer's RBM computes its CD gradient in closed form (cd/pcd
        without sparsity or learned σ)."""
        closed = all("closed-form-gradients" in r.capabilities for r in self.rbms)
        return DBNCard.capabilities if closed else DBNCard.capabilities - {"closed-form-gradients"}

    def loss(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator
             ) -> tuple[torch.Tensor, dict[str, float]]:
        """The current layer's RBM loss on the data propagated up to it; the decay scales its gradient (not
        its value): ``f·L + (1 − f)·stop_grad(L)``.  Fine-tuning hands its closed-form gradients to autograd."""
        if self.finetuning:
            value, logs, params, grads = self._up_down(batch, generator)
            return cd.ExplicitGradient.apply(value, tuple(grads), *params), logs
        l, sub = self._layer_batch(batch, generator)
        f = self._scale()
        value, logs = self.rbms[l].loss(sub, generator=generator)
        self.updates.add_(1)
        if f != 1.0:
            value = f * value + (1 - f) * value.detach()
        return value, self._logs(l, logs)

    def gradients(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator, value: bool = True
                  ) -> tuple[torch.Tensor | None, dict[str, float]]:
        """:meth:`loss` without autograd: the current layer writes its closed-form gradient, scaled by the decay
        (``value=False``: the layer may skip its value, as :meth:`RBM.gradients`)."""
        if self.finetuning:
            total, logs, params, grads = self._up_down(batch, generator)
            for p, g in zip(params, grads):
                p.grad = g if p.grad is None else p.grad.add_(g)
            return total, logs
        l, sub = self._layer_batch(batch, generator)
        f = self._scale()
        r = self.rbms[l]
        total, logs = r.gradients(sub, generator=generator, value=value)
        self.updates.add_(1)
        if f != 1.0:
            for p in r.parameters():
                if p.grad is not None:
                    p.grad.mul_(f)
        return total, self._logs(l, logs)

    @torch.no_grad()
    def _untie(self) -> None:
        """Copy every directed layer's RBM weights and hidden bias into its recognition weights ``R_l, c_l``."""
        for l, r in enumerate(self.rbms[:-1]):
            self.rec.W[l].copy_(r.W[0]), self.rec.b[l].copy_(r.b[0])
        self.untied.fill_(1)

    def _up_down(self, batch: dict[str, torch.Tensor], generator: torch.Generator):
        """One up-down update (:mod:`physgen.models.dbn.finetune`): ``(value, logs, parameters, gradients)``,
        the gradients scaled by the decay."""
        if not bool(self.untied):
            self._untie()
        v = batch["x"].reshape(len(batch["x"]), -1)
        gen = [r.energy().detach() for r in self.rbms]
        value, g = finetune.up_down_gradients(gen, self.recognition(), v, self.config.k, generator)
        f = self._scale()
        self.updates.add_(1)
        params, grads = [], []
        for l, r in enumerate(self.rbms[:-1]):
            params += [r.W, r.a]
            grads += [g["gen_W"][l][None], g["gen_a"][l][None]]
        top = self.rbms[-1]
        params += [top.W, top.a, top.b]
        grads += [t[None] for t in g["top"]]
        params += [*self.rec.W, *self.rec.b]
        grads += [*g["rec_W"], *g["rec_b"]]
        return value, {"layer": float(self.n_layers), "finetune_wake_nll": float(value)}, params, [f * t for t in grads]

    def on_fit_start(self, data: dict[str, torch.Tensor], *, resumed: bool, generator: torch.Generator) -> None:
        """Refuse multi-process training: one layer learns at a time, and DDP needs every parameter in every
        step's gradient."""
        if torch.distributed.is_available() and torch.distributed.is_initialized() \
                and torch.distributed.get_world_size() > 1:
            raise UserError("train: the dbn trains in one process (one layer at a time); run it without torchrun")

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """One optimizer per layer, ``layer0`` (the data's RBM) up: ``train.group_lr.layerN`` sets a layer's rate."""
        groups = {f"layer{l}": [p for p in r.parameters() if p.requires_grad] for l, r in enumerate(self.rbms)}
        if self.config.up_down_steps:
            groups["recognition"] = list(self.rec.parameters())
        return groups

    def run_hooks(self, x: torch.Tensor) -> list[tuple[str, Hook]]:
        """Ask the run to stop once the schedule (greedy pass and fine-tuning) is complete."""
        def stop_when_done(ctx: RunContext) -> None:
            if self.schedule_done:
                ctx.request_stop()
        return [("on_batch_end", stop_when_done)]

    @torch.no_grad()
    def validate(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator) -> dict[str, float]:
        """Mean squared reconstruction error of the data through every trained layer, up and down by the
        conditional means (no state changes: the schedule and the chains are left alone)."""
        v = batch["x"].reshape(len(batch["x"]), -1)
        top = self.layer
        h = v
        for e in [*self.recognition()[:top], self.rbms[top].energy().detach()]:
            h = torch.sigmoid(e.hidden_logits(h))
        for r in reversed(self.rbms[:top + 1]):
            h = r.energy().detach().visible_mean(h)
        return {"recon_error": float(((v - h) ** 2).sum(-1).mean())}

    def networks(self):
        nets = {f"rbm{l}": ([r], None) for l, r in enumerate(self.rbms)}
        if self.config.up_down_steps:
            nets["recognition"] = ([self.rec], None)
        return nets

    # --- generation ------------------------------------------------------------------------------
    def preview(self, *, generator: torch.Generator):
        """The base class's 4×4 sample grid, drawn with a short burn-in (≤ 100 sweeps)."""
        return super().preview(generator=generator, burn_in=min(self.config.burn_in, 100))

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator, condition: dict[str, float] | None = None,
               burn_in: int | None = None, thin: int | None = None, init: Any = "persistent",
               chains: int | None = None, sampler: str | None = None, steps: int | None = None,
               flip: bool | None = None) -> torch.Tensor:
        """``(n, *spec.shape)`` samples: ``h_{L−1}`` from the top RBM (:meth:`RBM.sample` with these options;
        ``init`` rows are of the top RBM's visible layer), then ``h_l ~ p_l(h_l | h_{l+1})`` down to ``v`` (grey
        images: the mean ``E[v | h_1]``)."""
        if condition:
            raise UserError("this run was trained without conditions", key="condition", value=','.join(condition))
        top = self.rbms[-1]
        h = top.sample(n, generator=generator, burn_in=burn_in, thin=thin, init=init, chains=chains,
                       sampler=sampler, steps=steps, flip=flip if self.n_layers == 1 else None)
        h = h.reshape(n, -1)
        for i in reversed(range(self.n_layers - 1)):
            e = self.rbms[i].energy().detach()
            grey = i == 0 and self.spec.kind == "image"   # grey images: E[v | h_1], as RBM.sample gives
            h = e.visible_mean(h) if grey else e.sample_visible(h, generator)
        return h.reshape(n, *self.spec.shape)

    # --- likelihood ------------------------------------------------------------------------------
    def energies(self) -> list:
        """The layers' :class:`RBMEnergy` in float64 (detached), bottom first."""
        return [r.energy().detach().to(torch.float64) for r in self.rbms]

    def log_prob(self, x: torch.Tensor, *, method: str = "ais", generator: torch.Generator | None = None,
                 k: int | None = None, n_chains: int = 100, n_betas: int = 5000, schedule: str = "sm",
                 **options: Any) -> tuple[torch.Tensor, dict[str, Any]]:
        """Per-row log-likelihood ``(N,)``: ``exact`` (``log p(v)``, enumerating the hidden layers below the
        top, ≤ 16 units, and the top's ``log Z``), ``bound`` (the variational lower bound with the top's
        ``log Z`` exact) or ``ais`` (the bound with ``log Z`` by AIS, ``n_chains`` × ``n_betas``).  The
        bound's expectation is summed exactly when the layers below the top have ≤ 16 units and ``k`` is
        None, else averaged over ``k`` (default 10) posterior draws per row.  Attributes: ``log_z``,
        ``log_z_error``, the AIS bracket, ``posterior`` (``enumerated``/``sampled``), ``mc_error`` (standard
        error of the mean bound from the draws) and ``mean_log_prob_error`` (both errors combined)."""
        if method not in METHODS:
            raise UserError(f"the dbn supports {', '.join(METHODS)}", key="method", value=method)
        if options.get("cond") is not None or options.get("labels") is not None:
            raise UserError("the dbn was trained without conditions", key="data")
        if k is not None and k < 2:
            raise UserError("the dbn bound needs at least 2 posterior samples per row", key="k", value=k)
        v = x.reshape(len(x), -1).to(self.rbms[0].W)
        self.rbms[0].check_batch({"x": v})
        es = self.energies()
        rec = [e.to(torch.float64) for e in self.recognition()]
        info = self._log_z(es[-1], method, generator, n_chains, n_betas, schedule)
        enumerable = L.posterior_units(es) <= L.ENUM_MAX
        if method == "exact":
            lp, mc = L.exact_log_prob(es, v, info["log_z"]), torch.zeros(len(v), dtype=torch.float64)
            post = "enumerated"
        elif enumerable and k is None:
            lp, post = L.exact_bound(es, v, info["log_z"], rec), "enumerated"
            mc = torch.zeros(len(v), dtype=torch.float64)
        else:
            lp, mc = L.sampled_bound(es, v, info["log_z"], 10 if k is None else k, generator, rec)
            post = "sampled"
        mc_error = float(torch.sqrt((mc ** 2).sum()) / len(v)) if len(v) else 0.0
        info.update({"bound": method != "exact", "posterior": post, "posterior_samples": 0 if post == "enumerated"
                     else (10 if k is None else k), "mc_error": mc_error,
                     "mean_log_prob_error": math.hypot(mc_error, info["log_z_error"])})
        return lp.cpu(), info

    def _log_z(self, e, method: str, generator, n_chains: int, n_betas: int, schedule: str) -> dict[str, Any]:
        if method in ("exact", "bound"):
            return {"log_z": float(exact_log_z(e)), "log_z_error": 0.0}
        top = self.rbms[-1]
        r = ais_mod.ais_log_z(e, n_chains=n_chains, n_betas=n_betas, schedule=schedule, generator=generator,
                              flip=top.flip)
        return r.to_json()
