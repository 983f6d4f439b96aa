"""Normalizing flows: ``flow`` (zuko's neural spline and masked autoregressive flows), optionally conditional.

A flow is an invertible map f_c: x ↦ z onto a standard normal base, so the density is exact by the change of
variables (Rezende & Mohamed 2015; Papamakarios et al. 2021, *Normalizing flows for probabilistic modeling and
inference*, JMLR 22)::

    log p(x | c) = log N(f_c(x); 0, I) + log |det ∂f_c(x)/∂x|,

and x = f_c⁻¹(z), z ~ N(0, I) samples it.  f_c is a stack of ``model.transforms`` autoregressive transforms,
each feature transformed given the earlier ones (orders alternate between transforms) and the condition c:

* ``nsf`` — monotonic rational-quadratic splines with ``model.bins`` bins on [−5, 5] (identity outside;
  Durkan et al. 2019, *Neural spline flows*, NeurIPS);
* ``maf`` — affine maps z_i = (x_i − μ_i) exp(−α_i) (Papamakarios, Pavlakou & Murray 2017, *Masked
  autoregressive flow for density estimation*, NeurIPS),

with MADE hyper-networks (Germain et al. 2015) of widths ``model.hidden``.  ``model.passes = 2`` makes every
transform a coupling layer (half the features given the other half: one pass to sample instead of one per
feature), which lattices and images need for sampling to be fast.  The transforms are zuko's
(Rozet et al., zuko 1.x).

Data kinds.  Tabular data are modelled as they come from the run's transform (``data.transform=auto``
Gaussianises them).  Values in [0, 1] (images) are first mapped to the real line by
s = α + (1 − 2α) y, z = log s − log(1 − s) (Dinh, Sohl-Dickstein & Bengio 2017, §4.1), whose log-Jacobian
Σ log[(1 − 2α)/(s(1 − s))] enters the density.  Discrete data -- spins (±1), binary pixels, grey images on a
grid of N + 1 levels -- are dequantised (Theis, van den Oord & Bethge 2016; Uria, Murray & Larochelle 2013):
each value k ∈ {0..K−1} becomes y = (k + u)/K with u ~ U(0, 1), and since the cell of k has volume K^−D,

    log P(x) = log ∫_cell p(y) dy ≥ E_u[log p(y)] − D log K                                   (Jensen),

the bound that training maximises.  :meth:`Flow.log_prob` gives it (``elbo``, averaged over ``k`` draws) or the
importance-weighted bound logsumexp_i log p(y_i) − log k − D log K (``iwae``; Burda et al. 2016), which
tends to log P(x) as k grows.  Samples are decoded as k = ⌊K y⌋.  On continuous data ``exact`` is the exact
log-density.

Fields.  Real lattice fields (kind ``field``, the φ⁴ model) get the coupling flow of
:mod:`physgen.models.lattice_flow` (checkerboard affine couplings with convolutional conditioners, equivariant
under φ -> −φ) instead of zuko's transforms, and its density is exact.  Such a flow also trains on the action
alone (``model.objective = "free-energy"``, ``physgen train flow --hamiltonian phi4``): it minimises the reverse
Kullback–Leibler divergence, i.e. the variational free energy β F_q = E_q[β S(φ) + log q(φ)] ≥ β F, with the
reparameterised gradient of draws φ = f(z) (Albergo, Kanwar & Shanahan, PRD 100, 034515, 2019).

The options and their checks: :mod:`physgen.models.flow_config`; the family's card (name, defaults per data
kind): :mod:`physgen.models.flow_card`.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import torch

from physgen.errors import UserError
from physgen.models.base import DataSpec, GenerativeModel, on_grid
from physgen.models.flow_card import FlowCard
from physgen.models.flow_config import FlowConfig
from physgen.models.nets import Conditioner
from physgen.models.registry import register
from physgen.randomness import rand, randn


def levels_of(config: FlowConfig, spec: DataSpec) -> int | None:
    """K, the number of values a discrete feature takes (spins, binary: 2; grey images on a grid k/N: N + 1),
    or None for data modelled as continuous."""
    if spec.kind in ("continuous", "field"):
        if config.dequantize == "uniform":
            raise UserError(f"model.dequantize=uniform: {spec.kind} data are not discrete; use auto or none")
        return None
    if spec.kind in ("spins", "binary"):
        if config.dequantize == "none":
            raise UserError(f"model.dequantize=none: {spec.kind} data are discrete and need dequantize=uniform")
        return 2
    if config.dequantize == "none":
        return None
    if not spec.levels:
        if config.dequantize == "uniform":
            raise UserError("model.dequantize=uniform: these images are not on a grid of grey levels k/N")
        return None
    return spec.levels + 1


@register
class Flow(FlowCard, GenerativeModel):
    """Normalizing flow (neural spline or masked autoregressive; zuko) with an exact likelihood on continuous
    data and a dequantisation bound on discrete data; conditional on the run's conditions or labels.  Its card
    (name, defaults): :class:`physgen.models.flow_card.FlowCard`."""

    @classmethod
    def resolve(cls, config: FlowConfig, spec: DataSpec) -> FlowConfig:
        """``dequantize = auto``: uniform for discrete data (spins, binary, grey images on a grid k/N), none for
        continuous data and other images."""
        if config.dequantize != "auto":
            return config
        discrete = spec.kind in ("spins", "binary") or (spec.kind == "image" and bool(spec.levels))
        return replace(config, dequantize="uniform" if discrete else "none")

    def __init__(self, config: FlowConfig, spec: DataSpec):
        super().__init__(config, spec)
        import zuko

        config = self.config
        self.levels = levels_of(config, spec)
        self.unit = spec.kind not in ("continuous", "field")   # values in [0, 1] go through the logit map
        self.cond = Conditioner(spec, config.label_dim)
        if config.objective == "free-energy" and spec.kind != "field":
            raise UserError(f"model.objective=free-energy: the flow learns a Hamiltonian of real fields, not of "
                            f"{spec.kind} data (use van for spin models)")
        if config.zero_mode and spec.kind != "field":
            raise UserError(f"a spline of the lattice mean is a layer of field flows, not of {spec.kind} data",
                            key="model.zero_mode", value="true")
        d = spec.n_features
        self.field = None
        if spec.kind == "field":
            from physgen.models.lattice_flow import CouplingFlow

            if len(spec.shape) != 2 or spec.shape[0] != spec.shape[1]:
                raise UserError(f"a flow of fields needs L x L lattices, got shape {spec.shape}")
            self.field = CouplingFlow(spec.shape[0], config.transforms, config.hidden, self.cond.dim,
                                      coupling="spline" if config.flow == "nsf" else "affine", bins=config.bins,
                                      zero_mode=config.zero_mode)
            return
        options: dict[str, Any] = {"transforms": config.transforms, "hidden_features": config.hidden,
                                   "passes": config.passes or None}
        if config.flow == "nsf":
            self.flow = zuko.flows.NSF(d, self.cond.dim, bins=config.bins, **options)
        else:
            self.flow = zuko.flows.MAF(d, self.cond.dim, **options)

    # --- data <-> the flow's space ---------------------------------------------------------------
    def _indices(self, x: torch.Tensor) -> torch.Tensor:
        """Discrete model-space values ``(B, D)`` -> level indices k ∈ {0..K−1} (float)."""
        if self.spec.kind == "spins":
            return (x + 1) / 2
        if self.spec.kind == "binary":
            return x
        return (x * (self.levels - 1)).round()

    def _from_indices(self, k: torch.Tensor) -> torch.Tensor:
        if self.spec.kind == "spins":
            return 2 * k - 1
        if self.spec.kind == "binary":
            return k
        return k / (self.levels - 1)

    def _to_flow(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``y (B, D)`` in [0, 1] -> ``(z = logit(α + (1 − 2α) y), Σ log dz/dy (B,))``."""
        a = self.config.alpha
        s = a + (1 - 2 * a) * y
        z = torch.log(s) - torch.log1p(-s)
        log_det = (math.log(1 - 2 * a) - torch.log(s) - torch.log1p(-s)).sum(1)
        return z, log_det

    def _from_flow(self, z: torch.Tensor, clamp: bool = True) -> torch.Tensor:
        """Inverse of :meth:`_to_flow`; ``clamp=False`` keeps the values of the margin α outside [0, 1]."""
        a = self.config.alpha
        y = (torch.sigmoid(z) - a) / (1 - 2 * a)
        return y.clamp(0.0, 1.0) if clamp else y

    def log_density(self, v: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        """log p(v | c) of the flow's input ``v (B, D)``: ``(B,)`` (change of variables; zuko, or the coupling
        flow of fields)."""
        if self.field is not None:
            return self.field.log_q(v.view(len(v), *self.spec.shape), c)
        return self.flow(c).log_prob(v)

    def log_p(self, x: torch.Tensor, c: torch.Tensor | None, generator: torch.Generator | None) -> torch.Tensor:
        """``(B,)``: the exact log-density of continuous ``x (B, *shape)``; for discrete data one dequantised
        draw's term log p(y) − D log K of the bound (its mean over u is the bound)."""
        v = x.flatten(1)
        extra = torch.zeros(len(v), dtype=v.dtype, device=v.device)
        if self.levels is not None:
            u = rand(v.shape, generator, v.device, v.dtype)
            v = (self._indices(v) + u) / self.levels
            extra = extra - v.shape[1] * math.log(self.levels)
        if self.unit:
            v, log_det = self._to_flow(v)
            extra = extra + log_det
        return self.log_density(v, c) + extra

    # --- training ------------------------------------------------------------------------------------
    def loss(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator
             ) -> tuple[torch.Tensor, dict[str, float]]:
        """Negative log-likelihood per feature (nats), averaged over the batch; logs the per-sample value.  Free
        energy (fields): (1/D) mean_T β F_q over the batch's temperatures (module docstring)."""
        if self.config.objective == "free-energy":
            return self._free_energy_loss(batch, generator)
        lp = self.log_p(batch["x"], self.cond.from_batch(batch), generator)
        nll = -lp.mean()
        return nll / self.spec.n_features, {"nll": float(nll.detach())}

    def _free_energy_loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator
                          ) -> tuple[torch.Tensor, dict[str, float]]:
        temps = torch.unique(batch["cond"][:, 0])                              # (K,) the batch's temperatures
        t = temps.repeat_interleave(self.config.samples)                       # (K·S,)
        c = self.cond(t[:, None])
        x, lq = self.field.sample(len(t), c, generator, next(self.parameters()))
        action = self.energy(x)                                                # (K·S,) float64, differentiable
        beta, d = 1.0 / t.double(), self.spec.n_features
        value = (beta * action + lq.double()).mean() / d                       # (1/D) mean_T β F_q
        f_q = ((action + t.double() * lq.double()) / d).detach().view(len(temps), -1).mean(1)   # F_q/N per T
        logs = {"f_q": float(f_q.mean()), "energy": float(action.detach().mean() / d)}
        if len(temps) > 1:
            logs.update({f"f_q[T={float(v):g}]": float(f) for v, f in zip(temps, f_q)})
        return value.float(), logs

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """The action ``(B,)`` float64 of fields ``x (B, L, L)`` under ``model.hamiltonian`` (free energy)."""
        if getattr(self, "_lattice", None) is None:
            from physgen.lattice import registry

            self._lattice = registry.from_config(self.config, self.spec.shape[0])
        return self._lattice.energy(x.reshape(len(x), *self.spec.shape).double())

    def samples_in(self, batch: dict[str, torch.Tensor], rows: int) -> int:
        """Free energy: the fields drawn, ``model.samples`` per distinct temperature of the batch; else the rows."""
        if self.config.objective != "free-energy":
            return rows
        return int(torch.unique(batch["cond"][:, 0]).numel()) * int(self.config.samples)

    def check_batch(self, batch: dict[str, torch.Tensor]) -> None:
        x = batch["x"]
        kind = self.spec.kind
        if kind == "field" and self.config.objective != "free-energy" and not bool(torch.isfinite(x).all()):
            raise UserError("data: a field must be finite")
        if kind == "spins" and not bool(((x == 1) | (x == -1)).all()):
            raise UserError("data: spins must be ±1 for a flow")
        if kind == "binary" and not bool(((x == 0) | (x == 1)).all()):
            raise UserError("data: binary data must be 0/1 for a flow")
        if kind == "image":
            if bool((x < 0).any() | (x > 1).any()):
                raise UserError("data: a flow models images with values in [0, 1] (set data.transform=none)")
            if self.levels is not None and not on_grid(x, self.levels - 1):
                raise UserError(f"model.dequantize: the pixels are not on the grid k/{self.levels - 1} "
                                "(data.transform must be none; or set model.dequantize=none)")

    def networks(self):
        """One network: the flow, its log-density at the dummy input."""
        x, cond, labels = self.dummy_inputs()
        c = self.cond(cond, labels) if self.cond.active else None
        return {"model": ([self], lambda: self.log_density(x.flatten(1), c))}

    # --- scoring ---------------------------------------------------------------------------------------
    @torch.no_grad()
    def log_prob(self, x: torch.Tensor, *, method: str = "exact", generator: torch.Generator | None = None,
                 k: int | None = None, cond: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                 chunk: int = 4096, **options: Any) -> tuple[torch.Tensor, dict[str, Any]]:
        """Per-sample log-likelihood ``(N,)`` in nats of ``x (N, *shape)`` (model space).

        Continuous data: ``exact``, log p(x | c) by the change of variables.  Discrete (dequantised) data:
        ``elbo``, the mean of log p(y_i) − D log K over ``k`` draws (default 1), or ``iwae``,
        logsumexp_i log p(y_i) − log k − D log K (default k = 100), both lower bounds on log P(x | c).
        """
        discrete = self.levels is not None
        allowed = ("elbo", "iwae") if discrete else ("exact",)
        if method not in allowed:
            why = ("the data are discrete (dequantised): the flow gives lower bounds" if discrete
                   else "the flow's density of continuous data is exact")
            raise UserError(f"model 'flow' supports {' and '.join(allowed)} here ({why})", key="method", value=method)
        k = int(k if k is not None else (100 if method == "iwae" else 1))
        if k < 1:
            raise UserError("must be >= 1", key="k", value=k)
        out = []
        step = max(1, chunk // k)
        for s in range(0, len(x), step):
            xs = x[s:s + step]
            c = self.cond(None if cond is None else cond[s:s + step],
                          None if labels is None else labels[s:s + step]) if self.cond.active else None
            rep = lambda t: None if t is None else t.repeat_interleave(k, 0)  # noqa: E731
            lp = self.log_p(rep(xs), rep(c), generator).view(len(xs), k)
            out.append(lp.mean(1) if method != "iwae" else torch.logsumexp(lp, 1) - math.log(k))
        attrs: dict[str, Any] = {"method": method, "k": k, "bound": "lower" if discrete else "exact"}
        return torch.cat(out), attrs

    # --- generation ---------------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator, condition: dict[str, float] | None = None
               ) -> torch.Tensor:
        """``(n, *shape)`` samples x = f_c⁻¹(z), z ~ N(0, I); discrete data decoded as k = ⌊K y⌋."""
        return self._draw(n, generator, condition)[0]

    def _draw(self, n: int, generator: torch.Generator, condition: dict[str, float] | None
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Samples ``(n, *shape)``, the flow-space draws ``v (n, D)`` they decode (for discrete data after
        y = logit⁻¹ map) and the condition vector."""
        cond, labels = self.cond.for_sampling(n, condition, generator)
        c = self.cond(cond, labels) if self.cond.active else None
        p = next(self.parameters())
        if self.field is not None:
            x, _ = self.field.sample(n, c, generator, p)
            return x, x.flatten(1), c
        z = randn((n, self.spec.n_features), generator, p.device, p.dtype)
        v = self.flow(c).transform.inv(z)
        x = self._from_flow(v) if self.unit else v
        if self.levels is not None:
            x = self._from_indices((x * self.levels).floor().clamp(0, self.levels - 1))
        return x.reshape(n, *self.spec.shape), v, c

    def proposal(self, condition: dict[str, float] | None = None):
        """Independent draws for exact Boltzmann sampling of spin lattices (:mod:`physgen.samplers.boltzmann`).

        The proposal is the continuous draw y whose cells of [0, 1]^D give the spins; its density
        log q(y) = log p(v) + log |dv/dy| is exact.  On y the target π(s(y)) K^D (the Boltzmann law spread
        uniformly over each cell, whose marginal on s is π) has the importance ratio π(s) K^D / q(y), so the
        chain on y, read as spins, is exact, and the weights are those of a normalised proposal (the
        extended-space view of dequantisation; Nicoli et al., PRE 101, 023304, 2020).  The logit map's margin α
        lets y leave [0, 1]^D, where the target is 0: such a draw reports log q = +∞, so a chain never accepts
        it and its importance weight is 0.  Reported: log q(y) − D log K."""
        if self.spec.kind not in ("spins", "field"):
            raise UserError(f"the flow proposes Boltzmann moves on spin lattices and fields, not {self.spec.kind} "
                            f"data")
        condition = {k: v for k, v in (condition or {}).items() if k in self.cond.names} or None
        if self.cond.active and not condition:
            raise UserError("this flow is conditioned: pass a condition (e.g. temperature=T)")
        if self.field is not None:
            return self._field_proposal(condition)

        def log_q(y: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
            inside = ((y >= 0) & (y <= 1)).all(1)
            v, log_det = self._to_flow(y.clamp(0.0, 1.0))
            lq = (self.log_density(v, c) + log_det).double() - y.shape[1] * math.log(self.levels)
            return torch.where(inside, lq, torch.full_like(lq, math.inf))

        @torch.no_grad()
        def draw(n: int, generator: torch.Generator):
            x, v, c = self._draw(n, generator, condition)
            return x, log_q(self._from_flow(v, clamp=False), c)

        @torch.no_grad()
        def score(s: torch.Tensor, generator: torch.Generator):
            cond, labels = self.cond.for_sampling(len(s), condition, generator)
            c = self.cond(cond, labels) if self.cond.active else None
            k = self._indices(s.reshape(len(s), -1).to(next(self.parameters())))
            return log_q((k + rand(k.shape, generator, k.device, k.dtype)) / self.levels, c)

        from physgen.samplers.boltzmann import Proposal

        return Proposal(draw, log_q=score)

    def _field_proposal(self, condition: dict[str, float] | None):
        """Independent draws of fields with their exact log q (the coupling flow is normalised)."""
        from physgen.samplers.boltzmann import Proposal

        def cond_for(n: int, generator: torch.Generator):
            cond, labels = self.cond.for_sampling(n, condition, generator)
            return self.cond(cond, labels) if self.cond.active else None

        @torch.no_grad()
        def draw(n: int, generator: torch.Generator):
            x, lq = self.field.sample(n, cond_for(n, generator), generator, next(self.parameters()))
            return x, lq.double()

        @torch.no_grad()
        def score(s: torch.Tensor, generator: torch.Generator):
            x = s.reshape(len(s), *self.spec.shape).to(next(self.parameters()))
            return self.field.log_q(x, cond_for(len(s), generator)).double()

        return Proposal(draw, log_q=score)

