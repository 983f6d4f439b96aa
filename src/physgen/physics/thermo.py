"""Thermodynamics from a normalised proposal by importance sampling, with bootstrap errors and exact references.

Draws s_1 … s_n ~ q of an L×L Ising lattice (N spins) with energies E_k = H(s_k) and log-probabilities log q_k
give the self-normalised weights w_k = e^{−E_k/T} / q(s_k) / Σ_j e^{−E_j/T} / q(s_j) of the Boltzmann law
p = e^{−E/T}/Z, and per spin (neural importance sampling, Nicoli et al., PRE 101, 023304, 2020)::

    log Ẑ = log (1/n) Σ_k e^{−E_k/T} / q(s_k)     F/N = −T log Ẑ / N          (q normalised only)
    U/N = Σ_k w_k E_k / N                          S/N = (U − F)/(N T)         (q normalised only)
    C = N (Σ_k w_k e_k² − (Σ_k w_k e_k)²) / T²     e_k = E_k/N
    ⟨|m|⟩ = Σ_k w_k |m_k|                          χ = N (Σ_k w_k m_k² − ⟨|m|⟩²) / T,   m_k = Σ_i s_i / N

with the effective sample size ESS = (Σ w)² / Σ w² (Kish 1965).  Ẑ is unbiased, log Ẑ is biased low by about
Var(w)/(2n E[w]²) ≈ (n/ESS − 1)/(2n) (the delta method), so F is biased high by O(T/(N·ESS)).  The ratios U, C,
⟨|m|⟩ and χ need q only up to a constant.  With i.i.d. draws of a normalised q also the variational free
energy F_q/N = (1/n) Σ_k [E_k + T log q(s_k)] / N ≥ F/N (Gibbs–Bogoliubov; Wu, Wang & Zhang, PRL 122, 080602,
2019).  Errors are the standard deviation over bootstrap resamples of the draws, each re-normalising its own
weights (Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993).  A draw with log q = +∞ lies outside
the target's support and has weight 0.

Exact references (per spin, same conventions as :mod:`physgen.physics.exact`): exact enumeration of the
periodic L×L lattice for L ≤ 4 (any J, h; also ⟨|m|⟩ and χ); Kaufman's finite periodic lattice at h = 0, J > 0
(B. Kaufman, Phys. Rev. 76, 1232, 1949; :mod:`physgen.physics.kaufman`: F and U in closed form, C = dU/dT by a
central difference); Onsager's infinite lattice at h = 0, J > 0 (:mod:`physgen.physics.onsager`, with the free
energy −f/T = ln(2 cosh 2K) + (1/2π) ∫₀^π ln[½(1 + √(1 − κ² sin²φ))] dφ, κ = 2 sinh 2K / cosh² 2K, K = J/T;
Huang, *Statistical Mechanics*, 2nd ed., §15.5; its ⟨|m|⟩ is Yang's spontaneous magnetisation).

Shapes: energies, |m| and log q ``(n,)`` float64; results are dicts of floats keyed by :data:`QUANTITIES`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from physgen.errors import UserError

#: the per-spin quantities of a temperature, in report order
QUANTITIES = ("free_energy", "energy", "entropy", "specific_heat", "abs_magnetization", "susceptibility",
              "variational_free_energy")
#: how tables and printed lines name them (every one per spin; χ = N(⟨m²⟩ − ⟨|m|⟩²)/T)
LABELS = {"free_energy": "F/N", "energy": "U/N", "entropy": "S/N", "specific_heat": "C/N",
          "abs_magnetization": "<|m|>", "susceptibility": "χ/N", "variational_free_energy": "F_q/N"}


def z_score(estimate: dict | None, exact: dict | None, key: str) -> float | None:
    """z = (estimate − exact)/error of ``key``: the miss in units of the bootstrap error (|z| ≲ 2 in ~95% of
    unbiased estimates with a well-estimated error), or None without an estimate, an error > 0 or an exact value."""
    if not estimate or not exact or key not in exact or not estimate.get("error"):
        return None
    return (float(estimate["value"]) - float(exact[key])) / float(estimate["error"])


@dataclass(frozen=True)
class Draws:
    """Draws of a proposal at one temperature: total energies ``(n,)``, |m| = |Σ s|/N ``(n,)``, log q ``(n,)``
    (all float64) and the number of spins N."""

    energy: np.ndarray
    abs_m: np.ndarray
    log_q: np.ndarray
    n_spins: int

    def __post_init__(self) -> None:
        if np.any(np.isnan(self.log_q)) or np.any(self.log_q == -np.inf) or not np.all(np.isfinite(self.energy)):
            raise UserError("the model gave a non-finite log-probability or energy for a draw")

    def __len__(self) -> int:
        return len(self.energy)

    def take(self, index: np.ndarray) -> "Draws":
        """The draws at ``index`` ``(k,)`` (a bootstrap resample)."""
        return Draws(self.energy[index], self.abs_m[index], self.log_q[index], self.n_spins)


def estimates(d: Draws, T: float, *, normalised: bool, variational: bool) -> dict[str, float]:
    """Point estimates per spin (module docstring) at temperature ``T`` with the weights' ESS; ``free_energy`` and
    ``entropy`` only where q is ``normalised``, ``variational_free_energy`` only where ``variational`` (i.i.d.
    draws of a normalised q on the lattice itself)."""
    N, n = d.n_spins, len(d)
    log_w = -d.energy / T - d.log_q
    total = logsumexp(log_w)
    if not np.isfinite(total):
        raise UserError(f"T={T:g}: every draw has weight 0 (no draw in the target's support)")
    w = np.exp(log_w - total)
    e, m = d.energy / N, d.abs_m
    u, am = float(w @ e), float(w @ m)
    out = {"energy": u, "specific_heat": N * float(w @ (e - u) ** 2) / T ** 2,
           "abs_magnetization": am, "susceptibility": N * float(w @ m ** 2 - am ** 2) / T,
           "ess": float(1.0 / (w @ w))}
    if normalised:
        f = -T * (total - math.log(n)) / N
        out.update(free_energy=f, entropy=(u - f) / T)
    if variational:
        out["variational_free_energy"] = float(np.mean(d.energy + T * d.log_q)) / N
    return out


#: k̂ above this: the weights' variance is infinite, and the bootstrap errors can be too small (Vehtari et al.)
PARETO_K_LIMIT = 0.5


def pareto_k(log_w: np.ndarray) -> float | None:
    """The shape k̂ of a generalised Pareto law fitted to the largest importance weights ``exp(log_w) (n,)``: the
    M = min(n/5, 3√n) largest above the (M+1)-th (Vehtari, Simpson, Gelman, Yao & Gabry, *Pareto smoothed
    importance sampling*, JMLR 25, 1, 2024).  Var(w) is infinite for k ≥ ½, so the bootstrap errors can then
    be too small, and above k̂ ≈ 0.7 the self-normalised estimates are unreliable at any practical n.  None
    with fewer than 5 tail draws or a flat tail."""
    from scipy.stats import genpareto

    n = len(log_w)
    m = int(min(n / 5, 3 * math.sqrt(n)))
    if m < 5:
        return None
    top = np.sort(log_w)[-(m + 1):]
    tail = np.exp(top[1:] - top[-1]) - np.exp(top[0] - top[-1])     # exceedances, scaled by the largest weight
    if not np.any(tail > 0):
        return None
    shape, _, _ = genpareto.fit(tail, floc=0.0)
    return float(shape)


def with_errors(d: Draws, T: float, *, normalised: bool, variational: bool, n_boot: int,
                rng: np.random.Generator) -> dict:
    """``{quantity: {"value", "error"}}`` of :func:`estimates` with bootstrap errors over ``n_boot`` resamples
    (error None for ``n_boot`` < 2), plus ``ess``, ``ess_fraction`` = ESS/n and the weights' tail shape
    ``pareto_k`` (:func:`pareto_k`)."""
    point = estimates(d, T, normalised=normalised, variational=variational)
    ess = point.pop("ess")
    boot = [estimates(d.take(rng.integers(0, len(d), len(d))), T, normalised=normalised, variational=variational)
            for _ in range(n_boot)]
    out: dict = {}
    for key in QUANTITIES:
        if key in point:
            spread = float(np.std([b[key] for b in boot], ddof=1)) if n_boot >= 2 else None
            out[key] = {"value": point[key], "error": spread}
    out.update(ess=ess, ess_fraction=ess / len(d), pareto_k=pareto_k(-d.energy / T - d.log_q))
    return out


# --- exact references ------------------------------------------------------------------------------------------
def _kaufman(shape: tuple[int, int], T: float, J: float) -> dict[str, float]:
    from physgen.physics import kaufman

    rows, cols = shape
    n = rows * cols
    f = -T * kaufman.log_partition(rows, T, J, cols=cols) / n
    u = kaufman.energy_per_spin(rows, T, J, cols=cols)
    dt = 1e-4 * T
    c = (kaufman.energy_per_spin(rows, T + dt, J, cols=cols) - kaufman.energy_per_spin(rows, T - dt, J, cols=cols)) \
        / (2 * dt)
    return {"free_energy": f, "energy": u, "entropy": (u - f) / T, "specific_heat": c}


def _enumeration(L: int, T: float, J: float, h: float) -> dict[str, float]:
    from physgen.physics.exact import ExactIsing

    ex = ExactIsing(L, T, J, h)
    f = -T * ex.log_z / ex.n_spins
    u = ex.mean_energy
    return {"free_energy": f, "energy": u, "entropy": (u - f) / T, "specific_heat": ex.specific_heat,
            "abs_magnetization": ex.mean_abs_m, "susceptibility": ex.susceptibility}


def reference_method(shape: tuple[int, ...], J: float, h: float, periodic: bool) -> str | None:
    """Which exact finite-lattice result applies to an ``shape`` lattice: ``"enumeration"`` (periodic L×L,
    L ≤ 4), ``"kaufman"`` (periodic, h = 0, J > 0) or None."""
    from physgen.physics.exact import MAX_SIZE

    if len(shape) != 2 or not periodic or min(shape) < 2:
        return None
    if shape[0] == shape[1] <= MAX_SIZE:
        return "enumeration"
    return "kaufman" if h == 0 and J > 0 else None


def exact_values(shape: tuple[int, int], T: float, J: float, h: float, periodic: bool) -> dict | None:
    """The exact finite-lattice values per spin at ``T`` with their ``method`` (:func:`reference_method`), or
    None where none applies."""
    method = reference_method(shape, J, h, periodic)
    if method is None:
        return None
    values = _enumeration(shape[0], T, J, h) if method == "enumeration" else _kaufman(shape, T, J)
    return {"method": method, **values}


def onsager_free_energy(T: float, J: float = 1.0) -> float:
    """Onsager's free energy per spin f(T) of the infinite square lattice at h = 0 (module docstring)."""
    from scipy.integrate import quad

    K = J / T
    kappa = 2 * math.sinh(2 * K) / math.cosh(2 * K) ** 2
    integral, _ = quad(lambda p: math.log(0.5 * (1 + math.sqrt(max(0.0, 1 - (kappa * math.sin(p)) ** 2)))),
                       0.0, math.pi, limit=200)
    return -T * (math.log(2 * math.cosh(2 * K)) + integral / (2 * math.pi))


def onsager_values(T: float, J: float, h: float) -> dict | None:
    """Onsager's infinite-lattice f, u, s = (u − f)/T, c and Yang's spontaneous |m| at ``T`` (h = 0, J > 0), or
    None."""
    if h != 0 or J <= 0:
        return None
    from physgen.physics import onsager

    f, u = onsager_free_energy(T, J), onsager.energy_per_spin(T, J)
    return {"method": "onsager", "free_energy": f, "energy": u, "entropy": (u - f) / T,
            "specific_heat": onsager.specific_heat(T, J), "abs_magnetization": onsager.spontaneous_magnetization(T, J)}
