"""``simulate``: Ising configurations at several temperatures as a physgen :class:`~physgen.data.Dataset`.

Protocol: ``chains`` independent chains per temperature (all temperatures run together in one batch),
``burn_in`` sweeps, then one sample every ``thin`` sweeps until every temperature has ``n_samples``.
|m| and the energy per spin are recorded after *every* sweep from the second half of burn-in on, and
their integrated autocorrelation times τ_int (in sweeps, Sokal's window,
:func:`physgen.stats.integrated_autocorrelation_time`) are stored per temperature; a :class:`ThinningWarning` is
issued where ``thin < 2 τ_int``
(samples then are not nearly independent; Sokal 1997 §3).
"""
from __future__ import annotations

import contextlib
import math
import types
import warnings
from dataclasses import dataclass

import numpy as np

from physgen import constraints
from physgen.data.io import Dataset
from physgen.errors import UserError
from physgen.memory_guard import require

ALGORITHMS = ("metropolis", "wolff")
STARTS = ("ordered", "random")
ENGINES = ("auto", "multispin", "torch")
SWEEP_DEFINITION = {
    "metropolis": "one checkerboard sweep = L^2 single-spin Metropolis attempts",
    "wolff": "one sweep = round(L^2 / <cluster size>) Wolff cluster flips (mean size from burn-in)",
}


class ThinningWarning(UserWarning):
    """Samples are thinned by fewer than 2 τ_int sweeps, so consecutive samples are correlated."""


@dataclass(frozen=True)
class _Plan:
    size: int
    temperatures: np.ndarray
    n_samples: int
    chains: int
    burn_in: int
    thin: int
    algorithm: str

    @property
    def per_chain(self) -> int:
        return math.ceil(self.n_samples / self.chains)

    def memory_bytes(self) -> int:
        """Peak bytes of a simulation: the ``int8`` snapshots three times over (the list, the stacked array and
        the per-temperature copy), the engine's work arrays (~32 bytes per site), the float32 e and m series
        after every recorded sweep, and the float64 temperature of every sample."""
        m, sites = len(self.temperatures) * self.chains, self.size * self.size
        n_burn = max(self.burn_in, 3)
        recorded = n_burn - n_burn // 2 + self.per_chain * self.thin
        return (3 * self.per_chain * m * sites + 32 * m * sites + 8 * recorded * m
                + 8 * len(self.temperatures) * self.n_samples)


def validate(size, temperatures, n_samples, *, chains=None, burn_in=1000, thin=10, algorithm="metropolis",
             J=1.0, h=0.0, start="ordered", engine="auto", names: dict[str, str] | None = None) -> _Plan:
    """Check every parameter; raise UserError('<name>: <problem>').  ``names`` maps parameter -> CLI option."""
    n = {k: k for k in ("size", "temperatures", "samples", "chains", "burn_in", "thin", "algorithm", "J", "h",
                        "start", "engine")} | (names or {})
    temps = np.atleast_1d(np.asarray(temperatures, dtype=np.float64))
    constraints.require(size, constraints.Interval(int, 2, None), n["size"])
    _check(temps.size >= 1 and temps.ndim == 1, n["temperatures"], "needs at least one temperature")
    _check(np.all(np.isfinite(temps)) and np.all(temps > 0), n["temperatures"],
           f"every temperature must be finite and > 0, got {', '.join(f'{t:g}' for t in temps)}")
    constraints.require(n_samples, constraints.POSITIVE_INT, n["samples"])
    chains = min(int(n_samples), 32) if chains is None else chains
    constraints.require(chains, constraints.POSITIVE_INT, n["chains"])
    constraints.require(burn_in, constraints.NON_NEGATIVE_INT, n["burn_in"])
    constraints.require(thin, constraints.POSITIVE_INT, n["thin"])
    _check(algorithm in ALGORITHMS, n["algorithm"],
           f"unknown algorithm {algorithm!r} (choose {' or '.join(ALGORITHMS)})")
    _check(start in STARTS, n["start"], f"unknown start {start!r} (choose {' or '.join(STARTS)})")
    _check(engine in ENGINES, n["engine"], f"unknown engine {engine!r} (choose {', '.join(ENGINES)})")
    if engine == "multispin":
        from physgen.data.ising import multispin

        _check(algorithm == "metropolis", n["engine"], "the multispin engine runs Metropolis only")
        _check(multispin.AVAILABLE, n["engine"], "the multispin engine needs numba (pip install numba)")
    constraints.require(J, constraints.FINITE, n["J"])
    constraints.require(h, constraints.FINITE, n["h"])
    if algorithm == "metropolis":
        _check(size % 2 == 0, n["size"], f"checkerboard Metropolis needs an even size, got {size} (use wolff)")
    else:
        _check(h == 0.0, n["h"], f"Wolff cluster updates are only valid at h = 0, got h = {h:g} (use metropolis)")
        _check(J > 0.0, n["J"], f"Wolff cluster updates need a ferromagnetic J > 0, got J = {J:g}")
    plan = _Plan(int(size), temps, int(n_samples), int(chains), int(burn_in), int(thin), algorithm)
    require(plan.memory_bytes(), what=f"{n['size']} {size} {n['samples']} {n_samples} x {temps.size} temperature(s)",
            reduce=f"lower {n['samples']}, {n['size']} or the number of temperatures (or make several files)")
    return plan


def _check(ok: bool, name: str, problem: str) -> None:
    if not ok:
        raise UserError(f"{name}: {problem}")


def simulate(size: int, temperatures, n_samples: int, *, chains: int | None = None, burn_in: int = 1000,
             thin: int = 10, algorithm: str = "metropolis", J: float = 1.0, h: float = 0.0, seed: int = 0,
             start: str = "ordered", engine: str = "auto", device=None, progress: bool = False) -> Dataset:
    """Sample the 2D Ising model E = -J Σ_<ij> s_i s_j - h Σ s_i (periodic L×L) at each temperature.

    Returns a Dataset of kind ``spins``: samples ``(n_T · n_samples, L, L)`` int8, grouped by temperature
    (in the order given; within one temperature time-major over the chains), ``conditions["temperature"]``
    and attrs ``size, J, h, algorithm, seed, burn_in, thin, chains, temperatures, tau_int_abs_m,
    tau_int_energy`` (τ_int in sweeps, one per temperature), ``sweep_definition``, ``device`` and ``engine``.
    Metropolis on the CPU runs the multispin-coded kernel (:mod:`~physgen.data.ising.multispin`, engine
    ``"multispin"``) when numba is installed, else the torch engine (``"torch"``,
    :class:`~physgen.data.ising.CheckerboardMetropolis`), which also runs on CUDA (the default ``device``
    when available); ``engine`` forces either.  The two have the same transition kernel and different random
    numbers, so a seed gives different samples with each.  Wolff runs on the CPU (NumPy, engine ``"wolff"``).
    ``start="ordered"`` starts each chain fully magnetised with a random sign (so both ordered phases
    appear below T_c, and no chain is caught in the long-lived striped states a random quench produces);
    ``"random"`` starts from independent random spins (infinite temperature).
    """
    plan = validate(size, temperatures, n_samples, chains=chains, burn_in=burn_in, thin=thin,
                    algorithm=algorithm, J=J, h=h, start=start, engine=engine)
    seeds = np.random.SeedSequence(int(seed)).spawn(2)
    beta = np.repeat(1.0 / plan.temperatures, plan.chains)                         # (M,)
    spins = _initial(len(beta), plan.size, start, np.random.default_rng(seeds[0]))
    runner = _Runner(plan, beta, spins, J, h, seeds[1], device, engine)
    snapshots, e_series, m_series = runner.run(progress)
    return _dataset(plan, snapshots, e_series, m_series, runner, J=J, h=h, seed=seed, start=start)


def _cuda(device) -> bool:
    """Whether the torch engine's default device would be CUDA (``device`` None and CUDA present).  A CPU-only
    torch build (local version ``+cpu``) answers without importing torch."""
    if device is not None:
        return False
    from importlib import metadata

    try:
        if metadata.version("torch").endswith("+cpu"):
            return False
    except metadata.PackageNotFoundError:                               # pragma: no cover - torch is a dependency
        return False
    import torch

    return bool(torch.cuda.is_available())


def _initial(m: int, size: int, start: str, rng: np.random.Generator) -> np.ndarray:
    if start == "ordered":
        signs = (2 * rng.integers(0, 2, size=m) - 1).astype(np.int8)
        return np.broadcast_to(signs[:, None, None], (m, size, size)).copy()
    return (2 * rng.integers(0, 2, size=(m, size, size), dtype=np.int8) - 1).astype(np.int8)


class _Runner:
    """Drives either engine through burn-in and sampling, recording e and m after every sweep from the
    second half of burn-in on, and a snapshot every ``thin`` sampling sweeps."""

    def __init__(self, plan: _Plan, beta: np.ndarray, spins: np.ndarray, J: float, h: float,
                 seed: np.random.SeedSequence, device, engine: str = "auto"):
        from physgen.data.ising import multispin
        from physgen.data.ising.wolff import WolffClusters

        self.plan, self.groups = plan, np.repeat(np.arange(len(plan.temperatures)), plan.chains)
        if plan.algorithm == "wolff":
            self.engine = WolffClusters(spins, beta, J=J, rng=np.random.default_rng(seed))
            self.device, self.name = "cpu", "wolff"
            return
        cpu = device is None or str(device).split(":")[0] == "cpu"
        if engine == "multispin" and not cpu:
            raise UserError(f"engine: the multispin engine runs on the CPU, not on {device}")
        if engine == "multispin" or (engine == "auto" and multispin.AVAILABLE and cpu and not _cuda(device)):
            self.engine = multispin.MultispinMetropolis(spins, beta, J=J, h=h, seed=int(seed.generate_state(1)[0]))
            self.name, self.device = "multispin", "cpu"
            return
        import torch

        from physgen.data.ising.metropolis import CheckerboardMetropolis

        dev = torch.device(device if device is not None else "cuda" if torch.cuda.is_available() else "cpu")
        self.engine = CheckerboardMetropolis(torch.from_numpy(spins).to(dev), beta, J=J, h=h,
                                             seed=int(seed.generate_state(1)[0]))
        self.name, self.device = "torch", str(dev)

    def _sweep(self, calibrate: bool = False) -> None:
        if self.plan.algorithm == "wolff":
            self.engine.sweep(1, calibrate=calibrate, groups=self.groups)
        else:
            self.engine.sweep(1)

    def _measure(self) -> tuple[np.ndarray, np.ndarray]:
        e, m = self.engine.energy_magnetization()
        if self.name == "torch":
            return e.cpu().numpy(), m.cpu().numpy()
        return np.asarray(e), np.asarray(m)

    def _spins(self) -> np.ndarray:
        if self.plan.algorithm == "wolff":
            return self.engine.spins.copy()
        if self.name == "multispin":
            return self.engine.spins()
        return self.engine.spins().cpu().numpy()

    def _advance(self, n: int, calibrate: bool, e: np.ndarray | None, m: np.ndarray | None) -> None:
        """``n`` sweeps; e and m after each into the (n, M) rows ``e``, ``m`` unless they are None.  The multispin
        engine runs them in one compiled call, the others sweep by sweep."""
        if self.name == "multispin":
            out = self.engine.sweep(n, record=e is not None)
            if out is not None:
                e[:], m[:] = out
            return
        for k in range(n):
            self._sweep(calibrate)
            if e is not None:
                e[k], m[k] = self._measure()

    def run(self, progress: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Burn-in, then sampling; e and m are recorded from the second half of burn-in on, in calls of at most
        :data:`CALL_SWEEPS` sweeps that end where recording starts, at the end of burn-in and at each snapshot."""
        plan = self.plan
        n_burn = max(plan.burn_in, 3) if plan.algorithm == "wolff" else plan.burn_in  # Wolff calibrates here
        n_total = n_burn + plan.per_chain * plan.thin
        first = n_burn - n_burn // 2                 # first recorded sweep
        e = np.empty((n_total - first, len(self.groups)), dtype=np.float32)
        m = np.empty_like(e)
        snaps = []
        stops = [first, n_burn] + [n_burn + plan.thin * (k + 1) for k in range(plan.per_chain)]
        t = 0
        with _progress(progress, n_total) as bar:
            for stop in stops:
                while t < stop:
                    n = min(stop - t, CALL_SWEEPS)
                    rows = slice(t - first, t - first + n)
                    self._advance(n, t < n_burn, *((e[rows], m[rows]) if t >= first else (None, None)))
                    t += n
                    bar.update(n)
                if t > n_burn:
                    snaps.append(self._spins())
        return np.stack(snaps), e, m


CALL_SWEEPS = 100
"""Most sweeps per engine call in :meth:`_Runner.run` (the progress bar moves once per call)."""


def _progress(enabled: bool, total: int):
    """A tqdm bar of ``total`` sweeps, or a stand-in that does nothing (tqdm is then not imported)."""
    if not enabled:
        return contextlib.nullcontext(types.SimpleNamespace(update=lambda n=1: None))
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="sweep", desc="ising")


def autocorrelation_times(series: np.ndarray, n_temperatures: int) -> list[float]:
    """τ_int (sweeps) per temperature from a (T, n_temperatures · chains) series, chains pooled."""
    from physgen.stats import integrated_autocorrelation_time

    per_t = np.split(np.asarray(series, dtype=np.float64), n_temperatures, axis=1)
    return [float(integrated_autocorrelation_time(x.T)) for x in per_t]


def _dataset(plan: _Plan, snaps: np.ndarray, e: np.ndarray, m: np.ndarray, runner: _Runner, **params) -> Dataset:
    n_t, c, L = len(plan.temperatures), plan.chains, plan.size
    k = snaps.shape[0]
    per_t = snaps.reshape(k, n_t, c, L, L).transpose(1, 0, 2, 3, 4).reshape(n_t, k * c, L, L)
    samples = per_t[:, :plan.n_samples].reshape(n_t * plan.n_samples, L, L)
    temps = np.repeat(plan.temperatures, plan.n_samples)
    tau_m, tau_e = autocorrelation_times(np.abs(m), n_t), autocorrelation_times(e, n_t)
    _warn_thinning(plan, tau_m, tau_e)
    attrs = {"source": "physgen data ising", "size": L, "J": float(params["J"]), "h": float(params["h"]),
             "algorithm": plan.algorithm, "seed": int(params["seed"]), "burn_in": plan.burn_in,
             "thin": plan.thin, "chains": c, "start": params["start"], "n_samples_per_temperature": plan.n_samples,
             "temperatures": [float(t) for t in plan.temperatures], "tau_int_abs_m": tau_m,
             "tau_int_energy": tau_e, "sweep_definition": SWEEP_DEFINITION[plan.algorithm], "device": runner.device,
             "engine": runner.name}
    if plan.algorithm == "wolff":
        n_cl = runner.engine.n_clusters.reshape(n_t, c)[:, 0]
        attrs["wolff_clusters_per_sweep"] = [int(x) for x in n_cl]
    return Dataset(np.ascontiguousarray(samples), "spins", {"temperature": temps}, None, attrs)


def _warn_thinning(plan: _Plan, tau_m: list[float], tau_e: list[float]) -> None:
    bad = [(t, a, b) for t, a, b in zip(plan.temperatures, tau_m, tau_e) if plan.thin < 2 * max(a, b)]
    if not bad:
        return
    worst = max(max(a, b) for _, a, b in bad)
    where = ", ".join(f"T={t:g} (|m| {a:.1f}, E {b:.1f})" for t, a, b in bad[:4]) + (" ..." if len(bad) > 4 else "")
    warnings.warn(ThinningWarning(
        f"thin={plan.thin} sweeps is shorter than 2 tau_int at {where} sweeps: samples are correlated; "
        f"use a thinning of at least {math.ceil(2 * worst)}"), stacklevel=4)
