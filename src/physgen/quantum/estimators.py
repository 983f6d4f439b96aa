"""Monte Carlo estimates of the quantum runs: energies with their errors, local energies, the energy gradient,
the comparison of samplers and the observables of the final state.

**Errors** (both runs).  The error of a mean, ⟨E_L⟩ or an observable, is the blocking error
(:func:`physgen.stats.blocking.blocking`; Flyvbjerg & Petersen 1989) of the series of per-sweep means over the
walkers, a series whose correlation is the chains' own (:func:`sweep_blocking`).  Blocking needs long series:
on short ones its test cannot see the correlation and the error comes out too small.  Because the walkers are
independent chains, the spread of the per-walker time averages gives a second error, ``walker_error`` = std/√B
(:func:`walker_error`), which stays right for short runs as long as there are tens of walkers (both measured
against repeated runs: benchmarks/records/vmc.md, "Errors of short runs").

**Particles in continuous space** (:func:`estimate`): energy, variance and energy gradient of one parameter
set.  The energy gradient is the standard VMC estimator for a real wave function,

    ∂E/∂θ = 2 (⟨E_L O_θ⟩ − ⟨E_L⟩⟨O_θ⟩),      O_θ = ∂ ln ψ/∂θ,

averages over samples of |ψ|² (e.g. Umrigar & Filippi, Phys. Rev. Lett. 94, 150201 (2005)).
:func:`compare_samplers` runs brute-force Metropolis against importance sampling on one wave function at equal
cost: every sampler runs the same walkers for the same number of sweeps (one proposed move per particle each)
from the same start; the table gives the acceptance, the energy with its blocking error, the naive error, the
processor time of the run (``seconds``: CPU time of this process, steadier than wall time on a shared machine)
and the efficiency ``1/(error² · seconds)``, which compares samplers at equal computing time (the error of a
mean falls as 1/√time).  :func:`one_body_density` is the histogram of all particles' positions in the final
run: in one dimension ρ(x) normalised to ∫ρ dx = N; in d ≥ 2 the radial density ρ(r) = n(r)/(samples·V_shell(r)),
normalised to ∫ρ d^d r = N.

**Spins on a lattice** (:func:`local_energy`, :func:`energy_statistics`, :func:`measure`).
E_L(s) = Σ_k H_ss'_k ψ(s'_k)/ψ(s) over the Hamiltonian's connected configurations.  The energy is the mean
of Re E_L over all samples.  The V-score of Wu et al., Science 386, 296 (2024) (arXiv:2302.04919), VarBench's
figure of merit, is

    V = N Var(E_L) / (E − E_∞)²,

N the number of sites and E_∞ = Tr H / dim H the infinite-temperature energy (0 for the models here); an
eigenstate has V = 0.  The σᶻ observables of configurations ``s (T, B, N)`` (T sweeps of B walkers), each with
its blocking error:

* ``magnetisation_abs`` ⟨|m|⟩ and ``magnetisation_sq`` ⟨m²⟩, m = (1/N) Σ_i σᶻ_i;
* ``nn_correlation`` ⟨σᶻ_i σᶻ_j⟩ averaged over the nearest-neighbour bonds;
* ``structure_factor`` S(q) = (1/N) Σ_ij e^{iq·(r_i − r_j)} ⟨σᶻ_i σᶻ_j⟩ = ⟨|Σ_j e^{iq·r_j} σᶻ_j|²⟩/N at every
  lattice momentum q = 2πn/L (periodic lattices; with open boundaries the same sums are taken).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from physgen.quantum.samplers import Chains, make_sampler, refresh, start
from physgen.stats.blocking import BlockingResult, blocking

CHUNK = 1 << 21  # connected configurations' entries (K·N per sample) evaluated at once


# -- errors of both runs -------------------------------------------------------------------------------------------
def sweep_blocking(series: np.ndarray, mean: float) -> BlockingResult:
    """The blocking analysis of the per-sweep means ``series (T,)``; below two sweeps, ``mean`` with a NaN
    error."""
    return blocking(series) if len(series) >= 2 else BlockingResult(float(mean), float("nan"), 0, float("nan"), ())


def walker_error(averages: np.ndarray) -> float:
    """std/√B of the B walkers' time averages ``(B,)`` (NaN for one walker)."""
    return float(np.std(averages, ddof=1) / np.sqrt(len(averages))) if len(averages) > 1 else float("nan")


# -- particles in continuous space ---------------------------------------------------------------------------------
@dataclass
class Estimate:
    """One sampling run: ``energy`` ± ``error`` (blocking), ``variance`` of E_L, ``acceptance``,
    ``walker_error`` (from the spread of the B walkers' time averages),
    ``gradient (P,)`` of the energy (None if not asked for), the ``series (T,)`` of per-sweep means, and
    ``positions (S, N, d)`` if kept (every k-th sweep, about ``keep_positions`` samples)."""

    energy: float
    error: float
    walker_error: float
    variance: float
    acceptance: float
    blocking: BlockingResult
    series: np.ndarray
    gradient: np.ndarray | None = None
    positions: np.ndarray | None = field(default=None, repr=False)


def estimate(wf, hamiltonian, sampler, chains: Chains, sweeps: int, rng: np.random.Generator, *,
             burn_in: int = 0, gradient: bool = True, keep_positions: int = 0) -> Estimate:
    """Run ``burn_in`` then ``sweeps`` sweeps of ``sampler`` (chains updated in place) and measure after each.

    ``keep_positions``: the largest number of walker positions kept for the one-body density (0: none);
    whole sweeps are kept, evenly spaced.

    Costs ``(burn_in + sweeps)·N`` wave-function evaluations of all ``B`` walkers; the estimates average
    ``sweeps·B`` samples.
    """
    refresh(wf, chains)
    for _ in range(burn_in):
        sampler.sweep(wf, chains, rng)
    n_params = wf.n_params
    series, acc = np.empty(sweeps), 0.0
    e_sum = e2_sum = 0.0
    per_walker = np.zeros(len(chains.x))
    o_sum = np.zeros(n_params)
    eo_sum = np.zeros(n_params)
    kept = []
    every = max(1, -(-sweeps * len(chains.x) // keep_positions)) if keep_positions else 0
    for t in range(sweeps):
        acc += float(np.mean(sampler.sweep(wf, chains, rng)))
        e = hamiltonian.local_energy(wf, chains.x)
        series[t] = e.mean()
        per_walker += e
        e_sum += e.sum()
        e2_sum += np.sum(e ** 2)
        if gradient:
            o = wf.param_grads(chains.x)
            o_sum += o.sum(axis=0)
            eo_sum += e @ o
        if every and t % every == 0:
            kept.append(chains.x.copy())
    n = sweeps * len(chains.x)
    mean = e_sum / n
    grad = 2.0 * (eo_sum / n - mean * o_sum / n) if gradient else None
    block = sweep_blocking(series, mean)
    return Estimate(energy=float(mean), error=block.error, walker_error=walker_error(per_walker / sweeps),
                    variance=float(max(e2_sum / n - mean ** 2, 0.0)),
                    acceptance=acc / sweeps, blocking=block, series=series, gradient=grad,
                    positions=np.concatenate(kept) if kept else None)


def compare_samplers(wf, hamiltonian, settings, *, walkers: int, sweeps: int, burn_in: int,
                     rng: np.random.Generator) -> list[dict]:
    """``settings``: ``[("metropolis", 1.0), ("importance", 0.1), ...]`` → one record per sampler."""
    rows = []
    for name, step in settings:
        sampler = make_sampler(name, step)
        chains = start(wf, walkers, rng)
        t0 = time.process_time()
        est = estimate(wf, hamiltonian, sampler, chains, sweeps, rng, burn_in=burn_in, gradient=False)
        seconds = time.process_time() - t0
        efficiency = 1.0 / (est.error ** 2 * seconds) if est.error > 0 else float("inf")
        rows.append({"sampler": name, "step": step, "acceptance": est.acceptance, "energy": est.energy,
                     "error": est.error, "naive_error": est.blocking.naive_error,
                     "blocking_level": est.blocking.level, "seconds": seconds, "efficiency": efficiency})
    return rows


def one_body_density(positions: np.ndarray, bins: int = 60) -> dict:
    """Histogram of positions ``(S, N, d)``: ``{"r" or "x": centres, "density": ρ}`` (see module doc)."""
    samples, n, dim = positions.shape
    if dim == 1:
        x = positions.ravel()
        hi = float(np.max(np.abs(x))) or 1.0
        counts, edges = np.histogram(x, bins=bins, range=(-hi, hi))
        rho = counts / (samples * np.diff(edges))
        return {"coordinate": "x", "centres": (0.5 * (edges[1:] + edges[:-1])).tolist(), "density": rho.tolist()}
    r = np.linalg.norm(positions, axis=-1).ravel()
    counts, edges = np.histogram(r, bins=bins, range=(0.0, float(r.max()) or 1.0))
    unit_ball = math.pi ** (dim / 2) / math.gamma(dim / 2 + 1)
    shell = unit_ball * (edges[1:] ** dim - edges[:-1] ** dim)
    return {"coordinate": "r", "centres": (0.5 * (edges[1:] + edges[:-1])).tolist(),
            "density": (counts / (samples * shell)).tolist()}


# -- spins on a lattice --------------------------------------------------------------------------------------------
def local_energy(ansatz, hamiltonian, s: np.ndarray) -> np.ndarray:
    """``E_L`` of configurations ``s (S, N)`` → ``(S,)`` (complex for a complex ansatz)."""
    out = []
    n = s.shape[1]
    step = max(1, CHUNK // (n * (n + 1)))
    for lo in range(0, len(s), step):
        conn, mels = hamiltonian.connected(s[lo:lo + step])
        b, k, _ = conn.shape
        logs = ansatz.log_psi(conn.reshape(b * k, n)).reshape(b, k)
        out.append(np.sum(mels * np.exp(logs - logs[:, :1]), axis=1))
    return np.concatenate(out)


def mean_with_error(values: np.ndarray) -> tuple[float, float]:
    """``values (T, B)``: (mean, blocking error of the per-sweep means)."""
    series = np.asarray(values).mean(axis=1)
    mean = float(series.mean())
    return mean, float(sweep_blocking(series, mean).error)


def energy_statistics(e_local: np.ndarray, n_sites: int, e_infinity: float = 0.0) -> dict:
    """``e_local (T, B)`` → ``energy``, ``error``, ``walker_error``, ``variance``, ``vscore``, ``imaginary``
    (mean of Im E_L)."""
    real = np.real(e_local)
    energy, error = mean_with_error(real)
    variance = float(np.var(real))
    denom = (energy - e_infinity) ** 2
    return {"energy": energy, "error": error, "walker_error": walker_error(real.mean(axis=0)), "variance": variance,
            "vscore": n_sites * variance / denom if denom > 0 else float("nan"),
            "imaginary": float(np.mean(np.imag(e_local)))}


def _entry(values: np.ndarray) -> dict:
    mean, error = mean_with_error(values)
    return {"value": mean, "error": error}


def measure(s: np.ndarray, lattice) -> dict:
    """``s (T, B, N)`` → ``{name: {"value", "error"}}`` and ``structure_factor`` as lists over momenta."""
    n = s.shape[-1]
    m = s.mean(axis=-1)
    bonds = lattice.bonds(1)
    out = {"magnetisation_abs": _entry(np.abs(m)), "magnetisation_sq": _entry(m ** 2),
           "nn_correlation": _entry(np.mean(s[..., bonds[:, 0]] * s[..., bonds[:, 1]], axis=-1))}
    q = lattice.momenta                                                   # (N, d)
    phases = np.exp(1j * lattice.coords @ q.T)                            # (N sites, N momenta)
    sq = np.abs(s @ phases) ** 2 / n                                      # (T, B, N momenta)
    values, errors = zip(*(mean_with_error(sq[..., k]) for k in range(len(q))))
    out["structure_factor"] = {"q": q.tolist(), "value": list(values), "error": list(errors)}
    return out
