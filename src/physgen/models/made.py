"""Masked autoregressive network (MADE) of D sites, ±1 spins or k states: the network of :mod:`physgen.models.van`.

MADE (Germain, Gregor, Murray & Larochelle, *MADE: masked autoencoder for distribution estimation*, ICML 2015)
gives the logits ℓ_i(s_<i, c), i = 1 … D, of the conditionals P(s_i = +1 | s_<i, c) = σ(ℓ_i) in one pass.
Hidden unit k of every layer has a degree m_k ∈ {1 … D−1} (:func:`degrees`); a weight from input j (degree j)
to a first-layer unit is kept when m_k ≥ j, between hidden layers when m_k′ ≥ m_k, and from a unit to the
logit of site i when m_k < i (:class:`MaskedLinear`), so ℓ_i depends on s_<i only.  A masked input→output
matrix A (A_ij, j < i) adds the linear autoregressive part, which with no hidden layer is the whole network.

The condition c (a vector of width C) is an unmasked input of the first layer and of the logits' offsets, and
with ``gain`` also multiplies the s-dependent part of every logit, a feature-wise modulation (FiLM; Perez,
Strub, de Vries, Dumoulin & Courville, AAAI 2018) with G started at 0::

    ℓ_i(s_<i, c) = b_i(c) + e^{g_i(c)} f_i(s_<i, c),        g(c) = G c.

Ancestral sampling draws site 1, then site 2 given site 1, …; the first layer's pre-activations a = b + W s
are a sum over sites, so each drawn spin updates them in place, a ← a + s_i W_{:,i}: a lattice costs O(D·H)
with one hidden layer of H units, the price of one teacher-forced pass.

**Context inputs** (``context = m``): m extra inputs of degree 0, which every hidden unit and every logit may see,
and hidden degrees then run over 0 … D−1 (units of degree 0 see the context and c only and feed every logit).
They carry spins already known, such as the boundary of a region drawn by
:class:`~physgen.models.hierarchical.HierarchicalAR`; like the spins they are part of the gain-multiplied
f_i(s_<i, x, c).

Sites of k > 2 states (``per_site = k``): each site is k one-hot inputs and k logits, all of the site's degree,
and P(s_i = j | s_<i, c) = softmax(ℓ_i)_j; :func:`sample_states` draws them.

Shapes: spins ``(B, D)`` ±1, condition ``(B, C)``, logits ``(B, D)``; :func:`log_sigmoid_sum` gives
log q₀(s | c) = Σ_i log σ(s_i ℓ_i) ``(B,)`` in float64.  k states: inputs and logits ``(B, D·k)``.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from physgen.models.nets import activation
from physgen.randomness import rand


def degrees(units: int, d: int, lowest: int = 1) -> torch.Tensor:
    """MADE degrees ``(units,)`` in lowest … d−1, spread evenly: m_k = lowest + ⌊k (d − lowest) / units⌋."""
    return lowest + torch.arange(units) * (d - lowest) // units


class MaskedLinear(nn.Linear):
    """``nn.Linear`` whose weight ``(out, in)`` is multiplied by a fixed 0/1 ``mask`` of the same shape."""

    def __init__(self, n_in: int, n_out: int, mask: torch.Tensor, bias: bool = True):
        super().__init__(n_in, n_out, bias=bias)
        self.register_buffer("mask", mask.to(self.weight.dtype), persistent=False)

    @property
    def masked(self) -> torch.Tensor:
        return self.weight * self.mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.masked, self.bias)


class MADE(nn.Module):
    """Autoregressive logits ``ℓ (B, D)`` of D binary sites (module docstring): ℓ_i depends on s_<i and c only.

    ``hidden``: widths of the masked hidden layers; ``direct``: the masked linear input→output part;
    ``cond_dim``: width of the condition vector c, an unmasked input of the first layer and of the logits;
    ``gain``: the s-dependent part of every logit is also multiplied by e^{G c} (module docstring);
    ``context``: the number of degree-0 inputs x placed before the sites (module docstring)."""

    def __init__(self, d: int, hidden: tuple[int, ...], *, direct: bool, act: str, cond_dim: int,
                 gain: bool = False, per_site: int = 1, context: int = 0):
        super().__init__()
        self.d, self.per_site, self.context = d, per_site, context
        self.act = activation(act)
        site = torch.arange(1, d + 1).repeat_interleave(per_site)   # the site (degree) of each logit
        width_io = len(site)
        inputs = torch.cat([torch.zeros(context, dtype=site.dtype), site])   # the degree of each input
        layers, previous = [], inputs
        for width in hidden:
            m = degrees(width, d, 0 if context else 1)
            layers.append(MaskedLinear(len(previous), width, (m[:, None] >= previous[None, :])))
            previous = m
        self.layers = nn.ModuleList(layers)
        self.out = MaskedLinear(len(previous), width_io, site[:, None] > previous[None, :]) if hidden else None
        self.direct = MaskedLinear(len(inputs), width_io, site[:, None] > inputs[None, :], bias=not hidden) \
            if direct else None
        self.cond_hidden = nn.Linear(cond_dim, hidden[0], bias=False) if cond_dim and hidden else None
        self.cond_out = nn.Linear(cond_dim, width_io, bias=False) if cond_dim else None
        self.cond_gain = nn.Linear(cond_dim, width_io, bias=False) if cond_dim and gain else None
        if self.cond_gain is not None:
            nn.init.zeros_(self.cond_gain.weight)   # gain 1: the unconditioned network's logits at the start
        if self.direct is not None:
            nn.init.zeros_(self.direct.weight)   # start from the hidden layers' (or a uniform) law

    def _top(self, a: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's activations from the first layer's pre-activations ``a (B, H₁)``."""
        h = self.act(a)
        for layer in self.layers[1:]:
            h = self.act(layer(h))
        return h

    def _first(self, s: torch.Tensor | None, c: torch.Tensor | None, n: int) -> torch.Tensor:
        """First-layer pre-activations ``(n, H₁)``: b + W s (+ V c); ``s`` None: b (+ V c) (no site drawn yet)."""
        first = self.layers[0]
        a = first(s) if s is not None else first.bias.expand(n, -1)
        return a + self.cond_hidden(c) if self.cond_hidden is not None else a

    def _offset(self, c: torch.Tensor | None, n: int, like: torch.Tensor) -> torch.Tensor:
        """The logits' terms that do not depend on s: output biases and U c, ``(n, D·k)``."""
        out = torch.zeros(n, self.d * self.per_site, dtype=like.dtype, device=like.device)
        for part in (self.out, self.direct):
            if part is not None and part.bias is not None:
                out = out + part.bias
        return out + self.cond_out(c) if self.cond_out is not None else out

    def forward(self, s: torch.Tensor, c: torch.Tensor | None = None, x: torch.Tensor | None = None
                ) -> torch.Tensor:
        """Teacher-forced logits: ``s (B, D·k)`` (±1 spins; one-hot states), ``c (B, C)``, context ``x (B, m)``
        -> ``(B, D·k)`` in one pass."""
        if self.context:
            s = torch.cat([x, s], 1)
        terms = []
        if self.layers:
            terms.append(F.linear(self._top(self._first(s, c, len(s))), self.out.masked))
        if self.direct is not None:
            terms.append(F.linear(s, self.direct.masked))
        return self._logit(self._offset(c, len(s), s), terms, self.gain(c))

    def log_prob(self, s: torch.Tensor, c: torch.Tensor | None = None, x: torch.Tensor | None = None
                 ) -> torch.Tensor:
        """log q₀(s | c, x) = Σ_i log σ(s_i ℓ_i) ``(B,)`` float64 of ±1 spins ``s (B, D)``."""
        return log_sigmoid_sum(s, self(s, c, x))

    def gain(self, c: torch.Tensor | None) -> torch.Tensor | None:
        """The condition's gain e^{G c} ``(B, D)`` on the s-dependent part of the logits; None without one."""
        return None if self.cond_gain is None else torch.exp(self.cond_gain(c))

    @staticmethod
    def _logit(offset: torch.Tensor, terms: list[torch.Tensor], gain: torch.Tensor | None) -> torch.Tensor:
        """offset + gain · Σ terms (without a gain: the terms added one by one to the offset)."""
        if gain is not None:
            return offset + gain * sum(terms)
        for term in terms:
            offset = offset + term
        return offset

    @torch.no_grad()
    def sample(self, n: int, c: torch.Tensor | None, generator: torch.Generator | None, like: torch.Tensor,
               x: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` ancestral draws ``(n, D)`` ±1 of q₀(· | c, x), site by site; the first layer's pre-activations
        are updated in place, a ← a + s_i W_{:,i}, instead of re-running the network (module docstring)."""
        threshold = logistic_thresholds(n, self.d, generator, like)
        up, down = (torch.tensor(v, dtype=like.dtype, device=like.device) for v in (1.0, -1.0))
        state = self.start(n, c, like, x)
        for i in range(self.d):
            spin = torch.where(self.logit(state, i) > threshold[:, i], up, down)   # a tie (float32) is −1, never 0
            self.push(state, i, spin)
        return state["s"][:, self.context:]

    def start(self, n: int, c: torch.Tensor | None, like: torch.Tensor, x: torch.Tensor | None = None) -> dict:
        """The state of ``n`` ancestral draws before the first site (:meth:`logit`, :meth:`push`): the spins
        drawn so far ``s (n, m + D)`` after the context, the logits' offsets and gains, the first layer's
        pre-activations ``a (n, H₁)`` and the masked weights."""
        m = self.context
        s = torch.zeros(n, m + self.d, dtype=like.dtype, device=like.device)   # context, then the sites drawn
        if m:
            s[:, :m] = x
        a = self._first(s if m else None, c, n) if self.layers else None      # (n, H₁)
        if a is not None and not m:
            a = a.clone()                                                      # (the bias, expanded)
        return {"s": s, "a": a, "offset": self._offset(c, n, like), "gain": self.gain(c),
                "w_in": self.layers[0].masked if self.layers else None,               # (H₁, m + D)
                "w_out": self.out.masked if self.out is not None else None,           # (D, H_last)
                "direct": self.direct.masked if self.direct is not None else None,    # (D, m + D)
                "zero": torch.zeros(n, dtype=like.dtype, device=like.device)}

    def logit(self, state: dict, i: int) -> torch.Tensor:
        """ℓ_i ``(n,)`` of site ``i`` (0-based) given the sites drawn before it (:meth:`start`)."""
        j = self.context + i
        direct, w_out, gain = state["direct"], state["w_out"], state["gain"]
        f = state["s"][:, :j] @ direct[i, :j] if direct is not None and j else state["zero"]
        if w_out is not None:
            f = torch.addmv(f, self._top(state["a"]), w_out[i])
        return state["offset"][:, i] + (f if gain is None else gain[:, i] * f)

    def push(self, state: dict, i: int, spin: torch.Tensor) -> None:
        """Record the drawn ``spin (n,)`` ±1 of site ``i`` and update the first layer's pre-activations."""
        j = self.context + i
        state["s"][:, j] = spin
        if state["a"] is not None and i + 1 < self.d:
            state["a"].addr_(spin, state["w_in"][:, j])


def logistic_thresholds(n: int, d: int, generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    """logit(u) ``(n, d)`` of uniform u: a site is +1 exactly when its logit ℓ exceeds it (u < σ(ℓ))."""
    u = rand((n, d), generator, like.device, like.dtype)
    return torch.log(u) - torch.log1p(-u)


def sample_states(net: MADE, n: int, c: torch.Tensor | None, generator: torch.Generator | None, like: torch.Tensor,
                  *, canonical: bool) -> torch.Tensor:
    """``n`` ancestral draws ``(n, D)`` int64 of a categorical MADE (``per_site`` = k states, one-hot inputs,
    k logits a site), each site's state from the softmax of its logits by inversion of the CDF; the first
    layer's pre-activations are updated in place, a ← a + W_{:, (i, s_i)}.  ``canonical``: only states up to
    one above the largest drawn so far are allowed (the first site draws 0;
    :mod:`physgen.models.relabel`)."""
    d, k = net.d, net.per_site
    dev, dtype = like.device, like.dtype
    with torch.no_grad():
        u = rand((n, d), generator, dev, torch.float64)
        s = torch.zeros(n, d, dtype=torch.int64, device=dev)
        x = torch.zeros(n, d * k, dtype=dtype, device=dev)                       # the one-hot inputs drawn so far
        offset = net._offset(c, n, like).view(n, d, k)
        a = net._first(None, c, n).clone() if net.layers else None
        w_in = net.layers[0].masked.t().contiguous() if net.layers else None    # (D·k, H₁)
        w_out = net.out.masked.view(d, k, -1) if net.out is not None else None  # (D, k, H_last)
        direct = net.direct.masked.view(d, k, d * k) if net.direct is not None else None
        gain = net.gain(c)
        gain = None if gain is None else gain.view(n, d, k)
        highest = torch.full((n,), -1, dtype=torch.int64, device=dev)
        states = torch.arange(k, device=dev)
        rows = torch.arange(n, device=dev)
        for i in range(d):
            terms = []
            if w_out is not None:
                terms.append(net._top(a) @ w_out[i].t())
            if direct is not None and i:
                terms.append(x[:, :i * k] @ direct[i, :, :i * k].t())
            logit = net._logit(offset[:, i], terms, None if gain is None else gain[:, i]).double()
            top = highest + 1 if canonical else torch.full_like(highest, k - 1)
            logit = logit.masked_fill(states[None, :] > top[:, None], -math.inf)
            cdf = torch.softmax(logit, 1).cumsum(1)
            choice = torch.minimum((cdf < u[:, i:i + 1]).sum(1), top)
            s[:, i] = choice
            x[rows, i * k + choice] = 1
            highest = torch.maximum(highest, choice)
            if a is not None:
                a += w_in[i * k + choice]
    return s


def log_sigmoid_sum(s: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Σ_i log σ(s_i ℓ_i) ``(B,)`` in float64 (the log-probability of ±1 sites with P(s_i = +1) = σ(ℓ_i))."""
    return F.logsigmoid(s.double() * logits.double()).sum(1)
