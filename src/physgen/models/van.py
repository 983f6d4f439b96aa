"""Variational autoregressive network: ``van``, an exactly normalised model of L×L spin lattices.

The lattice is read in raster order, s = (s_1 … s_D) with D = L² and s_i ∈ {−1, +1}, and the model is a product
of conditionals (Wu, Wang & Zhang, *Solving statistical mechanics using variational autoregressive networks*,
PRL 122, 080602, 2019)::

    q₀(s | c) = Π_i σ(s_i ℓ_i(s_<i, c)),        log q₀(s | c) = Σ_i log σ(s_i ℓ_i),

so log q is exact and normalised, and ancestral sampling (site 1, then site 2 given site 1, …) draws i.i.d.
lattices.  c is the run's condition (the temperature, mapped by :class:`~physgen.models.nets.Conditioner`),
an input of every conditional: one network covers a range of temperatures.

**Architecture: a masked dense network** (MADE, Germain, Gregor, Murray & Larochelle, *MADE: masked autoencoder
for distribution estimation*, ICML 2015).  Hidden unit k of every layer has a degree m_k ∈ {1 … D−1}; a weight
from input j (degree j) to a first-layer unit is kept when m_k ≥ j, between hidden layers when m_k′ ≥ m_k, and
from a unit to the logit of site i when m_k < i, so ℓ_i depends on s_<i only.  A masked input→output matrix
A (A_ij, j < i; ``model.direct``) adds the linear autoregressive part, which with no hidden layer is the whole
model.  Why dense and not masked convolutions (PixelCNN) on a CPU: the first layer's pre-activations
a = b + W s are a sum over sites, so sampling site by site updates them in place, a ← a + s_i W_{:,i}: a
lattice costs O(D·H) with one hidden layer of H units (O(D·H²) with two), the price of a single forward
pass, where a PixelCNN re-runs its whole stack of convolutions D times.  Every site also sees every earlier
site, whatever the boundary conditions, with no receptive field to grow.  Training (likelihood or free
energy) scores whole lattices in one teacher-forced pass.  The network is :class:`~physgen.models.made.MADE`.

**Boundaries first** (``model.arch = han``, the default for the Ising free energy): a MADE over the whole
lattice still draws its D sites one after another.  The hierarchical network
(:class:`~physgen.models.hierarchical.HierarchicalAR`; Białas, Korcyl & Stebel, CPC 281, 108502, 2022) draws
the frame (row 0 and column 0), then the middle row and column of the interior given the frame, then those of
the four quarters given their rings, and so on, every region of a stage in one batch: 5–6 L sequential draws
instead of L² (172 against 1,024 at L = 32), by small networks that see a region's ring.  For
nearest-neighbour couplings the Boltzmann law of a region given its ring does not depend on the spins outside
it, so the small networks lose nothing the law needs.

**The temperature as a gain.**  At inverse temperature β a Boltzmann conditional's logit is β times a function
of the earlier spins (for nearest neighbours, 2β J Σ_j s_j over the neighbours already drawn), so the condition
also multiplies the s-dependent part of every logit::

    ℓ_i(s_<i, c) = b_i(c) + e^{g_i(c)} f_i(s_<i, c),        g(c) = G c,

a feature-wise modulation (FiLM; Perez, Strub, de Vries, Dumoulin & Courville, AAAI 2018) with G started at 0.
``model.gain = auto`` turns it on when the run's temperatures take more than one value: with the condition
entering additively only, the masked linear part is one coupling for every temperature.

**One network per training temperature** (``model.experts``; :mod:`physgen.models.van_experts`): trained on
data at 2–8 temperatures, the run holds one MADE per temperature, each trained on its own temperature's
lattices, and the logits between two training temperatures are interpolated linearly between their networks'.

**Z₂ symmetry.**  With h = 0 the Boltzmann law is invariant under s → −s; the model is then symmetrised
(as in the VAN paper)::

    q(s) = ½ [q₀(s) + q₀(−s)],

which is still normalised and is sampled by drawing from q₀ and flipping the whole lattice with probability ½.
``model.z2 = auto`` symmetrises a free-energy run with h = 0 and leaves likelihood training unsymmetrised.

**q-state lattices** (Potts data of kind ``categorical``, or ``--hamiltonian potts``): each site is q one-hot
inputs and q logits, P(s_i = a | s_<i, c) = softmax(ℓ_i)_a, drawn site by site in the same way.  Without a
field the Boltzmann law is invariant under the q! relabellings of the states, and ``model.z2 = on`` makes the
model so at the cost of one pass: the network models canonical lattices (states renumbered in order of first
appearance) and q(s) = q₀(canonical(s)) (q − k)!/q!, with k the number of distinct states
(:mod:`physgen.models.relabel`).

**Two objectives** (``model.objective``):

* ``likelihood`` — maximum likelihood on data, loss −(1/D) mean log q(x) (nats per spin);
* ``free-energy`` — no data: the variational free energy of the Ising Hamiltonian
  E(s) = −J Σ_<ij> s_i s_j − h Σ_i s_i (``model.J``, ``model.h``, ``model.boundary``) at temperature T,

      F_q = E_q[E(s) + T log q(s)] = F + T·KL(q ‖ p) ≥ F,    p = e^{−E/T}/Z,  F = −T log Z,

  minimised with the score-function (REINFORCE) gradient and a baseline b (Williams, Machine Learning 8, 229,
  1992; VAN paper; E_q[∇ log q] = 0 lets any constant b in)::

      ∇ βF_q = E_q[(βE(s) + log q(s) − b) ∇ log q(s)],        b = batch mean of βE + log q,

  from i.i.d. draws of q (the baseline lowers the variance; the mean over a batch of n costs a bias of
  order 1/n, as in the VAN paper).  ``model.anneal = τ`` raises β as β(1 − e^{−t/τ}) over the steps t
  (VAN's β-annealing, β(1 − a^t), a = e^{−1/τ}), which keeps early training away from a single ordered state.
  :mod:`physgen.training.hamiltonian` makes such runs (``physgen train van --hamiltonian ising …``).

Shapes: lattices ``(B, L, L)`` float ±1 (binary data 0/1, read as s = 2x − 1; q states 0 … q−1);
log-probabilities ``(B,)``.
The options and their checks: :mod:`physgen.models.van_config`; the family's card (name, defaults per data
kind, Hamiltonian defaults): :mod:`physgen.models.van_card`.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import torch

from physgen.errors import UserError
from physgen.models.base import DataSpec, GenerativeModel
from physgen.models import relabel
from physgen.models.hierarchical import HierarchicalAR
from physgen.models.made import MADE, sample_states
from physgen.models.nets import Conditioner
from physgen.models.registry import register
from physgen.models.van_card import VANCard
from physgen.models.van_config import VANConfig
from physgen.models.van_experts import TemperatureExperts, expert_values, experts_for
from physgen.randomness import rand

OBJECTIVES = ("likelihood", "free-energy")


@register
class VAN(VANCard, GenerativeModel):
    """Variational autoregressive network (MADE) of spin lattices: exact normalised log q, i.i.d. samples,
    trained on data or on the Ising Hamiltonian alone (variational free energy).  Its card (name, defaults,
    size keys): :class:`physgen.models.van_card.VANCard`."""

    @classmethod
    def resolve(cls, config: VANConfig, spec: DataSpec) -> VANConfig:
        """``arch = auto``: the hierarchical network for the free energy of the Ising model on an L×L lattice (a
        region's law given its ring is then that of the whole lattice), else one MADE.
        ``z2 = auto``: on for the free energy at h = 0 (the Hamiltonian's symmetry), else off.
        ``experts = auto``: one network per training temperature (:mod:`physgen.models.van_experts`) for
        likelihood training of one MADE on spin or binary lattices conditioned on one continuous condition of 2 to
        ``MAX_EXPERTS`` distinct values, else off.
        ``gain = auto``: on when a continuous condition (the temperature) takes more than one value."""
        if config.z2 == "auto":
            on = config.objective == "free-energy" and float(config.h) == 0.0
            config = replace(config, z2="on" if on else "off")
        if config.arch == "auto":
            han = (config.objective == "free-energy" and config.hamiltonian == "ising" and spec.kind == "spins"
                   and len(spec.shape) == 2 and spec.shape[0] == spec.shape[1])
            config = replace(config, arch="han" if han else "made")
        if config.experts == "auto":
            config = replace(config, experts="on" if experts_for(spec, config.objective, config.arch) else "off")
        if config.gain == "auto":
            spread = any(len(set(spec.condition_values.get(name, ()))) > 1 for name in spec.condition_names)
            config = replace(config, gain="on" if spread else "off")
        return config

    def __init__(self, config: VANConfig, spec: DataSpec):
        super().__init__(config, spec)
        config = self.config
        if len(spec.shape) != 2:
            raise UserError(f"model 'van' models L×L lattices, not data of shape {tuple(spec.shape)}")
        if config.objective == "free-energy":
            _check_free_energy(spec)
        self.states = None
        if spec.kind == "categorical":
            if not spec.n_states or spec.n_states < 2:
                raise UserError("model 'van': categorical data need their number of states (attribute n_states >= 2)")
            self.states = int(spec.n_states)
        self.cond = Conditioner(spec, config.label_dim, config.cond_map)
        self.net = self._network(config, spec)
        self.symmetric = config.z2 == "on"
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.int64))   # free-energy: the β ramp's t

    def _network(self, config: VANConfig, spec: DataSpec):
        """The MADE over the whole lattice, or (``model.arch = han``) the hierarchical stages of an L×L lattice of
        ±1 spins (:class:`~physgen.models.hierarchical.HierarchicalAR`)."""
        options = {"direct": config.direct, "act": config.act, "cond_dim": self.cond.dim, "gain": config.gain == "on"}
        if config.experts == "on":
            values = expert_values(spec, config.objective, config.arch)
            if not values:
                raise UserError("one network per training temperature needs likelihood training of one MADE "
                                "(model.arch=made) on spin or binary lattices conditioned on one continuous "
                                "condition", key="model.experts", value="on")
            knots = self.cond(torch.tensor(values, dtype=torch.float32)[:, None])[:, 0].sort().values
            return TemperatureExperts([MADE(spec.n_features, config.hidden, **options) for _ in values], knots)
        if config.arch != "han":
            return MADE(spec.n_features, config.hidden, per_site=self.states or 1, **options)
        if self.states is not None or spec.shape[0] != spec.shape[1]:
            raise UserError(f"draws square lattices of ±1 spins, not {spec.kind} data of shape {tuple(spec.shape)}",
                            key="model.arch", value="han")
        return HierarchicalAR(int(spec.shape[0]), config.hidden, **options)

    # --- data <-> spins ------------------------------------------------------------------------------
    def _spins(self, x: torch.Tensor) -> torch.Tensor:
        """Model-space lattices ``(B, L, L)`` -> spins ``(B, D)`` ±1 (q states: int64 0 … q−1)."""
        s = x.reshape(len(x), -1)
        if self.states is not None:
            return s.round().long()
        return 2 * s - 1 if self.spec.kind == "binary" else s

    def _data(self, s: torch.Tensor) -> torch.Tensor:
        """Spins ``(B, D)`` -> model-space lattices ``(B, L, L)``."""
        if self.states is not None:
            s = s.to(next(self.parameters()).dtype)
        x = (s + 1) / 2 if self.spec.kind == "binary" else s
        return x.reshape(len(s), *self.spec.shape)

    def _inputs(self, s: torch.Tensor) -> torch.Tensor:
        """The network's inputs: spins ``(B, D)`` as they are; q states one-hot ``(B, D·q)``."""
        if self.states is None:
            return s
        like = next(self.parameters())
        return torch.nn.functional.one_hot(s, self.states).to(like.dtype).reshape(len(s), -1)

    # --- the density -------------------------------------------------------------------------------
    def log_q(self, s: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        """log q(s | c) ``(B,)`` float64 of spins ``s (B, D)``: log q₀, or with Z₂ symmetry
        log ½[q₀(s) + q₀(−s)] (both in one batched pass); q states: :meth:`_log_q_states`."""
        if self.states is not None:
            return self._log_q_states(s, c)
        if not self.symmetric:
            return self.net.log_prob(s, c)
        both = torch.cat([s, -s])
        cc = None if c is None else torch.cat([c, c])
        lq = self.net.log_prob(both, cc).view(2, len(s))
        return torch.logsumexp(lq, 0) - math.log(2.0)

    def _log_q_states(self, s: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        """log q(s | c) ``(B,)`` float64 of q-state lattices ``s (B, D)``: Σ_i log softmax(ℓ_i)[s_i], or with the
        relabelling symmetry log q₀(c(s)) − log |orbit(s)| on the canonical form (:mod:`physgen.models.relabel`)."""
        q = self.states
        if self.symmetric:
            s = relabel.canonical(s, q)
        logits = self.net(self._inputs(s), c).view(len(s), -1, q).double()
        if self.symmetric:
            logits = logits.masked_fill(relabel.disallowed(s, q), -math.inf)
        lq = torch.log_softmax(logits, -1).gather(-1, s[:, :, None]).squeeze(-1).sum(1)
        return lq - relabel.log_orbit(s, q) if self.symmetric else lq

    def draw(self, n: int, c: torch.Tensor | None, generator: torch.Generator) -> torch.Tensor:
        """``n`` i.i.d. spins ``(n, D)`` from q (with Z₂ symmetry: from q₀, each lattice flipped with probability ½;
        q states: int64, with the relabelling symmetry a canonical draw under a random permutation of the states)."""
        like = next(self.parameters())
        if self.states is not None:
            s = sample_states(self.net, n, c, generator, like, canonical=self.symmetric)
            return relabel.relabelled(s, self.states, generator) if self.symmetric else s
        s = self.net.sample(n, c, generator, like)
        if self.symmetric:
            flip = rand((n, 1), generator, s.device, s.dtype) < 0.5
            s = torch.where(flip, -s, s)
        return s

    def _condition(self, n: int, condition: dict[str, float] | None, generator: torch.Generator
                   ) -> torch.Tensor | None:
        cond, labels = self.cond.for_sampling(n, condition, generator)
        return self.cond(cond, labels) if self.cond.active else None

    # --- training --------------------------------------------------------------------------------------
    def loss(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator
             ) -> tuple[torch.Tensor, dict[str, float]]:
        """Likelihood: −(1/D) mean log q(x) (nats per spin).  Free energy: the REINFORCE estimate of
        (1/D) ∇ mean_T βF_q at the batch's temperatures, whose value is (1/D) mean_T β F_q (module docstring)."""
        if self.config.objective == "free-energy":
            return self._free_energy_loss(batch, generator)
        lq = self.log_q(self._spins(batch["x"]), self.cond.from_batch(batch))
        nll = -lq.mean()
        return (nll / self.spec.n_features).float(), {"nll": float(nll.detach())}

    def _free_energy_loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator
                          ) -> tuple[torch.Tensor, dict[str, float]]:
        temps = torch.unique(batch["cond"][:, 0])                              # (K,) the batch's temperatures
        per = self.config.samples
        t = temps.repeat_interleave(per)                                       # (K·S,)
        c = self.cond(t[:, None])
        s = self.draw(len(t), c, generator)
        lq = self.log_q(s, c)                                                  # (K·S,) float64, with gradient
        energy = self.energy(s)                                                # (K·S,) float64
        beta = 1.0 / t.double()
        if self.training and torch.is_grad_enabled():
            self.steps_done += 1
        reward = (self.beta_scale() * beta * energy + lq).detach()
        baseline = reward.view(len(temps), per).mean(1).repeat_interleave(per)
        d = self.spec.n_features
        surrogate = ((reward - baseline) * lq).mean() / d
        value = (beta * energy + lq.detach()).mean() / d                      # (1/D) mean_T βF_q at the target β
        loss = surrogate - surrogate.detach() + value
        f_q = ((energy + t.double() * lq.detach()) / d).view(len(temps), per).mean(1)   # F_q/N per temperature
        logs = {"f_q": float(f_q.mean()), "energy": float(energy.mean() / d)}
        if len(temps) > 1:
            logs.update({f"f_q[T={float(v):g}]": float(f) for v, f in zip(temps, f_q)})
        return loss.float(), logs

    def samples_in(self, batch: dict[str, torch.Tensor], rows: int) -> int:
        """Free energy: the lattices drawn, ``model.samples`` per distinct temperature of the batch (its rows are
        temperatures); likelihood: the rows."""
        if self.config.objective != "free-energy":
            return rows
        return int(torch.unique(batch["cond"][:, 0]).numel()) * int(self.config.samples)

    def energy(self, s: torch.Tensor) -> torch.Tensor:
        """E(s) ``(B,)`` float64 of lattices ``(B, D)`` under the lattice model ``model.hamiltonian`` of the
        config (:meth:`lattice_model`; the Ising model of ``model.J``, ``model.h``, ``model.boundary`` by
        default)."""
        s = s if self.states is not None else s.to(torch.float64)
        return self.lattice_model().energy(s.reshape(len(s), *self.spec.shape))

    def lattice_model(self):
        """The :mod:`physgen.lattice` model of ``model.hamiltonian`` on the data's L×L lattice: ``model.J`` and
        ``model.h`` where the model has them, its other parameters from ``model.params`` (the number of states q
        of q-state data from the data), its quenched couplings drawn from ``model.disorder`` and
        ``model.disorder_seed``."""
        if getattr(self, "_lattice", None) is None:
            from physgen.lattice import registry

            self._lattice = registry.from_config(self.config, int(self.spec.shape[-1]), states=self.states)
        return self._lattice

    def beta_scale(self) -> float:
        """The β-annealing factor 1 − e^{−t/τ} at step t (1 without ``model.anneal``)."""
        tau = float(self.config.anneal)
        return 1.0 if tau == 0 else 1.0 - math.exp(-float(self.steps_done) / tau)

    def check_batch(self, batch: dict[str, torch.Tensor]) -> None:
        if self.config.objective == "free-energy":
            return
        x = batch["x"]
        if self.states is not None and not bool(((x >= 0) & (x < self.states) & (x == x.round())).all()):
            raise UserError(f"data: q-state lattices must hold the states 0..{self.states - 1} for a van")
        if self.spec.kind == "spins" and not bool(((x == 1) | (x == -1)).all()):
            raise UserError("data: spins must be ±1 for a van")
        if self.spec.kind == "binary" and not bool(((x == 0) | (x == 1)).all()):
            raise UserError("data: binary data must be 0/1 for a van")

    def validate(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator) -> dict[str, float]:
        """Held-out negative log-likelihood (free energy: nothing is held out, the batch is only temperatures)."""
        if self.config.objective == "free-energy":
            return {}
        return super().validate(batch, generator=generator)

    def networks(self):
        """One network: the MADE, its teacher-forced logits at the dummy input."""
        x, cond, labels = self.dummy_inputs()
        c = self.cond(cond, labels) if self.cond.active else None
        if self.states is None:
            return {"model": ([self], lambda: self.net.log_prob(self._spins(x), c))}
        return {"model": ([self], lambda: self.net(self._inputs(self._spins(x)), c))}

    # --- scoring -----------------------------------------------------------------------------------------
    @torch.no_grad()
    def log_prob(self, x: torch.Tensor, *, method: str = "exact", generator: torch.Generator | None = None,
                 cond: torch.Tensor | None = None, labels: torch.Tensor | None = None, chunk: int = 4096,
                 **options: Any) -> tuple[torch.Tensor, dict[str, Any]]:
        """Exact log q(x | c) ``(N,)`` float64 in nats of ``x (N, L, L)`` (model space); ``cond (N, C)`` raw
        condition values and ``labels (N,)`` of a conditioned run."""
        if method != "exact":
            raise UserError("model 'van' gives the exact normalised log-likelihood only", key="method", value=method)
        out = []
        for start in range(0, len(x), chunk):
            part = slice(start, start + chunk)
            c = self.cond(None if cond is None else cond[part], None if labels is None else labels[part]) \
                if self.cond.active else None
            out.append(self.log_q(self._spins(x[part]), c))
        empty = torch.zeros(0, dtype=torch.float64, device=x.device)
        return (torch.cat(out) if out else empty), {"method": "exact", "bound": "exact"}

    # --- generation ----------------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator, condition: dict[str, float] | None = None
               ) -> torch.Tensor:
        """``(n, L, L)`` i.i.d. ancestral samples in model space (±1 spins; 0/1 binary)."""
        return self._data(self.draw(n, self._condition(n, condition, generator), generator))

    def proposal(self, condition: dict[str, float] | None = None):
        """Independent draws with their exact log q (float64) for exact Boltzmann sampling of spin lattices
        (:mod:`physgen.samplers.boltzmann`); ``log_q`` scores given lattices ``(N, L, L)``."""
        if self.spec.kind not in ("spins", "categorical"):
            raise UserError(f"the van proposes Boltzmann moves on spin or q-state lattices, not {self.spec.kind} data")
        condition = {k: v for k, v in (condition or {}).items() if k in self.cond.names} or None
        if self.cond.active and not condition:
            raise UserError("this van is conditioned: pass a condition (e.g. temperature=T)")

        @torch.no_grad()
        def draw(n: int, generator: torch.Generator):
            c = self._condition(n, condition, generator)
            s = self.draw(n, c, generator)
            return self._data(s), self.log_q(s, c)

        @torch.no_grad()
        def score(x: torch.Tensor, generator: torch.Generator):
            c = self._condition(len(x), condition, generator)
            return self.log_q(self._spins(x.to(next(self.parameters()))), c)

        from physgen.samplers.boltzmann import Proposal

        return Proposal(draw, log_q=score)


def _check_free_energy(spec: DataSpec) -> None:
    """``model.objective = free-energy`` needs spin lattices conditioned on temperature alone (the rows of a
    ``--hamiltonian`` run: :mod:`physgen.training.hamiltonian`)."""
    if spec.kind not in ("spins", "categorical") or tuple(spec.condition_names) != ("temperature",) or spec.n_labels:
        raise UserError("model.objective=free-energy: trains on the temperatures of spin or q-state lattices "
                        "(a run on a Hamiltonian, docs/van.md), not on "
                        f"{spec.kind} data conditioned on {', '.join(spec.condition_names) or 'nothing'}")
