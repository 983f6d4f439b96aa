"""Langevin samplers for any differentiable log-density: ULA / SGLD and MALA.

A *log-density* is a callable ``log_prob(x) -> (C,)`` on a batch of ``C`` chains ``x: (C, *shape)``
(it may be unnormalised: an analytic Gaussian or mixture, or ``-E_θ(x)`` of a neural energy).

Update rules (``w_i ~ N(0, I)``, ``η`` the step size, ``g = ∇ log p``)
-----------------------------------------------------------------------
``form="conventional"`` (default; Roberts & Tweedie 1996, Welling & Teh 2011)::

    θ_{i+1} = θ_i + (η/2) g(θ_i) + √η w_i

is the Euler–Maruyama discretisation of dθ = ½∇log p dt + dW, whose stationary law is ``p``; the
discretisation adds an O(η) bias.  For p = N(0, σ²) the chain is AR(1) with coefficient
a = 1 − η/(2σ²) and stationary variance η/(1 − a²) = σ² / (1 − η/(4σ²))  (1/(1 − η/4) for σ = 1).

``form="course"`` (the course's statement of SGLD)::

    θ_{i+1} = θ_i + η g(θ_i) + √η w_i

is the conventional rule with step 2η but only half the noise variance: it is the Langevin diffusion
of p² (temperature ½).  In the small-η limit it samples ∝ p(θ)², not p; for p = N(0, σ²) the stationary
variance is σ² / (2 − η/σ²) → σ²/2.  Use it to reproduce the course; use the default to sample p.

``noise_scale=s`` replaces √η by ``s`` in either form (the decoupled step/noise trick of Du & Mordatch
2019 used for EBM training: a large step with tiny noise, i.e. a strongly cooled chain).

MALA (``mala``, Roberts & Tweedie 1996): the update above is a *proposal* y, accepted with probability
min(1, p(y) q(θ|y) / (p(θ) q(y|θ))), q(y|θ) = N(y; θ + a g(θ), s² I) — the chain then leaves p invariant
exactly, whatever the step size.  Clipped gradients keep this exact (the clipped drift is used in both
q's); with ``clamp=(lo, hi)`` proposals outside the box are rejected (the target is p restricted to it),
whereas ULA clamps the state.

Diagnostics: per-chain acceptance rate (MALA), and per-chain integrated autocorrelation time and effective
sample size (:mod:`physgen.stats`) of the log-density trace and, for ``prod(shape) <= 16``, of every
coordinate (the largest τ / smallest ESS is reported: conservative).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from physgen.errors import UserError

LogProb = Callable[[torch.Tensor], torch.Tensor]
FORMS = ("conventional", "course")
MAX_DIAG_DIM = 16


# --- step-size schedules -----------------------------------------------------------------------
def polynomial(a: float, b: float = 1.0, gamma: float = 0.55) -> Callable[[int], float]:
    """η_i = a (b + i)^(-γ), γ ∈ (0.5, 1] (Welling & Teh 2011, SGLD)."""
    return lambda i: float(a * (b + i) ** (-gamma))


def geometric(start: float, end: float, n_steps: int) -> Callable[[int], float]:
    """Geometric interpolation from ``start`` (i = 0) to ``end`` (i = n_steps − 1)."""
    ratio = (end / start) ** (1.0 / max(n_steps - 1, 1))
    return lambda i: float(start * ratio ** i)


def linear(start: float, end: float, n_steps: int) -> Callable[[int], float]:
    """Linear interpolation from ``start`` (i = 0) to ``end`` (i = n_steps − 1)."""
    return lambda i: float(start + (end - start) * i / max(n_steps - 1, 1))


def step_sizes(step_size, n_steps: int) -> list[float]:
    """Resolve a float, schedule callable or sequence into ``n_steps`` positive floats (UserError otherwise)."""
    if callable(step_size):
        etas = [float(step_size(i)) for i in range(n_steps)]
    elif isinstance(step_size, (int, float)):
        etas = [float(step_size)] * n_steps
    else:
        etas = [float(v) for v in step_size]
        if len(etas) != n_steps:
            raise UserError(f"step size: schedule has {len(etas)} values for {n_steps} steps")
    bad = [v for v in etas if not (math.isfinite(v) and v > 0)]
    if bad:
        raise UserError(f"step size: must be > 0 and finite, got {bad[0]}")
    return etas


# --- result ----------------------------------------------------------------------------------------
@dataclass
class LangevinResult:
    """Output of :func:`ula` / :func:`mala`.

    ``samples``: ``(C, *shape)`` final states; ``trace``: ``(T_kept, C, *shape)`` states after burn-in every
    ``thin`` steps (``None`` unless ``record=True``); ``log_prob``: ``(T_kept, C)`` log-density of the kept
    states; ``snapshots``: step -> ``(C, *shape)`` (step 0 = start); ``acceptance_rate``: ``(C,)`` (MALA);
    ``tau_int`` / ``ess``: ``(C,)`` per chain (NaN when fewer than 8 states were kept).
    """

    samples: torch.Tensor
    log_prob: torch.Tensor
    trace: torch.Tensor | None = None
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)
    acceptance_rate: torch.Tensor | None = None
    tau_int: np.ndarray | None = None
    ess: np.ndarray | None = None
    n_steps: int = 0

    def diagnostics(self) -> dict[str, float]:
        """JSON-ready summary: mean acceptance, mean/max τ_int, total ESS."""
        out: dict[str, float] = {"n_steps": float(self.n_steps), "chains": float(self.samples.shape[0])}
        if self.acceptance_rate is not None:
            out["acceptance_rate"] = float(self.acceptance_rate.mean())
        if self.tau_int is not None:
            out["tau_int_mean"] = float(np.mean(self.tau_int))
            out["tau_int_max"] = float(np.max(self.tau_int))
            out["ess_total"] = float(np.sum(self.ess))
        return out


# --- core ------------------------------------------------------------------------------------------
def log_prob_and_grad(log_prob: LogProb, x: torch.Tensor, grad_clip: float | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(log p(x): (C,), ∇_x log p(x): (C, *shape))``; gradient clipped elementwise to ±grad_clip."""
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        lp = log_prob(xg)
        (g,) = torch.autograd.grad(lp.sum(), xg)
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    return lp.detach(), g


def check_log_prob(log_prob: LogProb, x0: torch.Tensor) -> torch.Tensor:
    """Evaluate at the start point; UserError if the shape is not ``(C,)`` or a value is NaN/+inf."""
    if x0.ndim < 2:
        raise UserError(f"start point: expected (chains, *shape), got shape {tuple(x0.shape)}")
    with torch.no_grad():
        lp = log_prob(x0)
    if not torch.is_tensor(lp) or lp.shape != (x0.shape[0],):
        shape = tuple(lp.shape) if torch.is_tensor(lp) else type(lp).__name__
        raise UserError(f"log-density: returned shape {shape}, expected ({x0.shape[0]},) (one value per chain)")
    if torch.isnan(lp).any() or (lp == math.inf).any():
        bad = int((~torch.isfinite(lp)).sum())
        raise UserError(f"log-density: {bad} of {len(lp)} chains give NaN/inf at the start point")
    return lp


def _validate(n_steps: int, form: str, thin: int, burn_in: int, clamp) -> None:
    if int(n_steps) < 1:
        raise UserError(f"n_steps: must be >= 1, got {n_steps}")
    if form not in FORMS:
        raise UserError(f"form: must be one of {', '.join(FORMS)}, got {form!r}")
    if thin < 1 or burn_in < 0:
        raise UserError(f"thin must be >= 1 and burn_in >= 0, got thin={thin}, burn_in={burn_in}")
    if clamp is not None and not clamp[0] < clamp[1]:
        raise UserError(f"clamp: need low < high, got {tuple(clamp)}")


class _Recorder:
    """Keeps snapshots, the kept trace and the log-density trace during a run."""

    def __init__(self, snapshot_steps: Sequence[int], burn_in: int, thin: int, record: bool):
        self.snap_at = set(int(s) for s in snapshot_steps)
        self.burn_in, self.thin, self.record = burn_in, thin, record
        self.snapshots: dict[int, torch.Tensor] = {}
        self.states: list[torch.Tensor] = []
        self.lps: list[torch.Tensor] = []

    def __call__(self, step: int, x: torch.Tensor, lp: torch.Tensor) -> None:
        if step in self.snap_at:
            self.snapshots[step] = x.detach().clone()
        if step > self.burn_in and (step - self.burn_in) % self.thin == 0:
            self.lps.append(lp)
            if self.record:
                self.states.append(x.detach().clone())


def per_chain_tau(x: np.ndarray, c: float = 5.0) -> np.ndarray:
    """τ_int of each row of ``x`` ``(C, T)``: :func:`physgen.stats.integrated_autocorrelation_time` (Sokal's
    window M ≥ c τ(M)) applied to every chain separately, vectorised over chains with one batched FFT."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[1]
    centred = x - x.mean(axis=1, keepdims=True)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(centred, n=size, axis=1)
    acov = np.fft.irfft(f * np.conj(f), n=size, axis=1)[:, :n]
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(acov[:, :1] > 0, acov / acov[:, :1], 0.0)
    tau = 0.5 + np.cumsum(rho[:, 1:], axis=1)  # tau[:, M-1] = τ_int with window M
    ok = np.arange(1, n)[None, :] >= c * tau
    m = np.where(ok.any(axis=1), ok.argmax(axis=1), n - 2)
    return np.maximum(tau[np.arange(len(x)), m], 0.5) if n > 1 else np.full(len(x), 0.5)


def _per_chain_diagnostics(lps: torch.Tensor, trace: torch.Tensor | None) -> tuple[np.ndarray, np.ndarray]:
    """τ_int and ESS per chain from the log-density trace (and coordinates when low-dimensional)."""
    taus = [per_chain_tau(lps.double().cpu().numpy().T)]  # series (C, T)
    if trace is not None and trace[0, 0].numel() <= MAX_DIAG_DIM:
        flat = trace.reshape(trace.shape[0], trace.shape[1], -1).double().cpu().numpy()  # (T, C, d)
        taus += [per_chain_tau(flat[:, :, j].T) for j in range(flat.shape[2])]
    tau = np.max(np.stack(taus), axis=0)
    return tau, lps.shape[0] / (2.0 * tau)


def _finish(x, rec: _Recorder, n_steps: int, accept, diagnostics: bool) -> LangevinResult:
    lps = torch.stack(rec.lps) if rec.lps else torch.empty(0, x.shape[0], device=x.device)
    trace = torch.stack(rec.states) if rec.states else None
    res = LangevinResult(x.detach(), lps, trace, rec.snapshots, accept, n_steps=n_steps)
    if diagnostics and lps.shape[0] >= 8:
        res.tau_int, res.ess = _per_chain_diagnostics(lps, trace)
    elif diagnostics:
        res.tau_int = res.ess = np.full(x.shape[0], np.nan)
    return res


def _coefficients(eta: float, form: str, noise_scale: float | None) -> tuple[float, float]:
    """(drift coefficient a, noise std s) of θ' = θ + a g + s w."""
    return (eta / 2.0 if form == "conventional" else eta), (math.sqrt(eta) if noise_scale is None else noise_scale)


def _noise(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    if generator is None or generator.device == x.device:
        return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return torch.randn(x.shape, generator=generator, device=generator.device, dtype=x.dtype).to(x.device)


def _uniform(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    if generator is None or generator.device == x.device:
        return torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return torch.rand(x.shape, generator=generator, device=generator.device, dtype=x.dtype).to(x.device)


def ula(log_prob: LogProb, x0: torch.Tensor, *, step_size, n_steps: int, generator: torch.Generator | None,
        form: str = "conventional", noise_scale: float | None = None, grad_clip: float | None = None,
        clamp: tuple[float, float] | None = None, burn_in: int = 0, thin: int = 1, record: bool = False,
        snapshot_steps: Sequence[int] = (), diagnostics: bool = True, validate: bool = True) -> LangevinResult:
    """Unadjusted Langevin (SGLD with exact gradients) on ``C`` parallel chains.

    ``x0``: ``(C, *shape)`` start; ``step_size``: float, schedule ``i -> η_i`` or ``n_steps`` values;
    update ``θ ← clamp(θ + a η g(θ) + s w)`` with (a, s) from ``form`` / ``noise_scale`` (module docstring).
    States after ``burn_in`` steps, every ``thin``-th, feed the diagnostics (and ``trace`` if ``record``).
    ``validate=False`` skips the start-point check (:func:`check_log_prob`; EBM training guards itself).
    """
    _validate(n_steps, form, thin, burn_in, clamp)
    etas = step_sizes(step_size, int(n_steps))
    if validate:
        check_log_prob(log_prob, x0)
    rec = _Recorder(snapshot_steps, burn_in, thin, record)
    x = x0.detach().clone()
    if clamp is not None:
        x = x.clamp(*clamp)
    for i, eta in enumerate(etas):
        lp, g = log_prob_and_grad(log_prob, x, grad_clip)
        rec(i, x, lp)
        a, s = _coefficients(eta, form, noise_scale)
        x = x + a * g + s * _noise(x, generator)
        if clamp is not None:
            x = x.clamp(*clamp)
    with torch.no_grad():
        rec(int(n_steps), x, log_prob(x))
    return _finish(x, rec, int(n_steps), None, diagnostics)


def mala(log_prob: LogProb, x0: torch.Tensor, *, step_size, n_steps: int, generator: torch.Generator | None,
         form: str = "conventional", noise_scale: float | None = None, grad_clip: float | None = None,
         clamp: tuple[float, float] | None = None, burn_in: int = 0, thin: int = 1, record: bool = False,
         snapshot_steps: Sequence[int] = (), diagnostics: bool = True, validate: bool = True) -> LangevinResult:
    """Metropolis-adjusted Langevin on ``C`` parallel chains: exact stationary law ``p`` (see module docs).

    Same arguments as :func:`ula`; each chain accepts or rejects its own proposal, and
    ``acceptance_rate`` ``(C,)`` is the fraction of accepted proposals.
    """
    _validate(n_steps, form, thin, burn_in, clamp)
    etas = step_sizes(step_size, int(n_steps))
    if validate:
        check_log_prob(log_prob, x0)
    if clamp is not None and ((x0 < clamp[0]) | (x0 > clamp[1])).any():
        raise UserError(f"start point: outside clamp range {tuple(clamp)} (MALA targets p restricted to it)")
    rec = _Recorder(snapshot_steps, burn_in, thin, record)
    x = x0.detach().clone()
    lp, g = log_prob_and_grad(log_prob, x, grad_clip)
    accepted = torch.zeros(x.shape[0], device=x.device, dtype=torch.float64)
    for i, eta in enumerate(etas):
        rec(i, x, lp)
        x, lp, g, acc = _mala_step(log_prob, x, lp, g, *_coefficients(eta, form, noise_scale),
                                   grad_clip, clamp, generator)
        accepted += acc
    rec(int(n_steps), x, lp)
    return _finish(x, rec, int(n_steps), accepted / len(etas), diagnostics)


def _mala_step(log_prob, x, lp, g, a, s, grad_clip, clamp, generator):
    """One Metropolis–Hastings step with the Langevin proposal y = x + a g(x) + s w."""
    dims = tuple(range(1, x.ndim))
    y = x + a * g + s * _noise(x, generator)
    lp_y, g_y = log_prob_and_grad(log_prob, y, grad_clip)
    log_q_fwd = -((y - x - a * g) ** 2).sum(dims) / (2 * s * s)
    log_q_bwd = -((x - y - a * g_y) ** 2).sum(dims) / (2 * s * s)
    log_alpha = (lp_y - lp) + (log_q_bwd - log_q_fwd)
    log_alpha = torch.nan_to_num(log_alpha, nan=-math.inf)
    if clamp is not None:
        inside = ((y >= clamp[0]) & (y <= clamp[1])).flatten(1).all(1)
        log_alpha = torch.where(inside, log_alpha, torch.full_like(log_alpha, -math.inf))
    u = _uniform(lp, generator)
    acc = torch.log(u) < log_alpha
    mask = acc.view(-1, *([1] * (x.ndim - 1)))
    return (torch.where(mask, y, x), torch.where(acc, lp_y, lp), torch.where(mask, g_y, g),
            acc.to(torch.float64))
