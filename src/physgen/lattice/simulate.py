"""Monte Carlo data of any lattice model as a physgen :class:`~physgen.data.Dataset`.

Protocol (as :mod:`physgen.data.ising.simulate`): ``chains`` independent chains per temperature, ``burn_in``
sweeps, then one sample every ``thin`` sweeps until every temperature has ``n_samples``.  The energy per site and
the model's order parameter (for quenched models the overlap q² of chain pairs) are recorded after every sweep
from the second half of burn-in on; their integrated autocorrelation times (sweeps, Sokal's window) are stored
per temperature, with a warning where ``thin < 2 τ_int``.  Samplers: ``metropolis`` (:mod:`.metropolis`),
``swendsen-wang`` (:mod:`.cluster`), ``tempering`` (:mod:`.tempering`: every chain is a ladder of ``replicas``
temperatures, the requested ones included; the acceptance of each neighbouring pair is stored), ``hmc`` for a
continuous field (:mod:`.hmc`: one trajectory per sweep, its step size adapted during burn-in) and, for the Ising
model, physgen's Ising engine (``metropolis`` and ``wolff``, :func:`physgen.data.ising.simulate`).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from physgen import constraints
from physgen.data.io import Dataset
from physgen.errors import UserError
from physgen.lattice.cluster import SwendsenWang
from physgen.lattice.metropolis import Metropolis
from physgen.lattice.model import LatticeModel
from physgen.lattice.tempering import Tempering, ladder
from physgen.memory_guard import require

ALGORITHMS = ("metropolis", "wolff", "swendsen-wang", "tempering", "hmc")
SWEEP_DEFINITION = {
    "metropolis": "one sweep = N single-site Metropolis attempts, colour class by colour class",
    "swendsen-wang": "one sweep = one Swendsen-Wang cluster decomposition and relabelling of the lattice",
    "tempering": "one sweep = one Metropolis sweep of every replica, then one round of neighbour exchanges",
    "hmc": "one sweep = one HMC trajectory of every chain (leapfrog, then accept or reject)",
}


def check_algorithm(model: LatticeModel, algorithm: str, key: str = "algorithm") -> None:
    """A UserError (about ``key``) naming the algorithms that apply where ``algorithm`` does not apply to
    ``model``."""
    if algorithm not in ALGORITHMS:
        raise UserError(f"unknown algorithm {algorithm!r} (choose {', '.join(ALGORITHMS)})", key=key)
    clusters = [a for a in model.algorithms if a in ("wolff", "swendsen-wang")]
    if algorithm not in model.algorithms:
        extra = (f"; cluster updates apply to {', '.join(_cluster_models())}" if algorithm in ("wolff", "swendsen-wang")
                 else "")
        raise UserError(f"{algorithm} does not apply to {model.name} (it has {', '.join(model.algorithms)})" + extra,
                        key=key)
    why = getattr(model, "cluster_ok", lambda: None)() if algorithm in clusters else None
    if why:
        raise UserError(f"{algorithm} on {model.name} {why} (use metropolis or tempering)", key=key)


def _cluster_models() -> list[str]:
    from physgen.lattice import registry

    return [n for n in registry.names() if {"wolff", "swendsen-wang"} & set(registry.get(n).algorithms)]


def simulate(model: LatticeModel, temperatures, n_samples: int, *, chains: int | None = None, burn_in: int = 1000,
             thin: int = 10, algorithm: str = "metropolis", start: str = "ordered", replicas: int = 16,
             seed: int = 0, progress: bool = False, names: dict[str, str] | None = None,
             step_size: float | None = None, trajectory: float = 1.0) -> Dataset:
    """``n_samples`` configurations of ``model`` at each temperature (see the module docstring); ``step_size``
    and ``trajectory`` are HMC's (:class:`~physgen.lattice.hmc.HMC`)."""
    n = {k: k for k in ("temperatures", "samples", "chains", "burn_in", "thin", "replicas")} | (names or {})
    temps = np.atleast_1d(np.asarray(temperatures, dtype=np.float64))
    if temps.ndim != 1 or not (np.all(np.isfinite(temps)) and np.all(temps > 0)):
        raise UserError(f"{n['temperatures']}: every temperature must be finite and > 0")
    constraints.require(n_samples, constraints.POSITIVE_INT, n["samples"])
    chains = min(int(n_samples), 32) if chains is None else chains
    for value, key in ((chains, "chains"), (thin, "thin"), (replicas, "replicas")):
        constraints.require(value, constraints.POSITIVE_INT, n[key])
    constraints.require(burn_in, constraints.NON_NEGATIVE_INT, n["burn_in"])
    check_algorithm(model, algorithm, n.get("algorithm", "algorithm"))
    if start not in ("ordered", "random"):
        raise UserError(f"start: unknown start {start!r} (choose ordered or random)")
    if model.name == "ising" and algorithm in ("metropolis", "wolff") and model.boundary == "periodic":
        return _ising_engine(model, temps, n_samples, chains, burn_in, thin, algorithm, start, seed, progress)
    per_chain = math.ceil(n_samples / chains)
    rungs = ladder(temps, replicas) if algorithm == "tempering" else temps
    require(3 * per_chain * len(rungs) * chains * model.n_sites + 64 * len(rungs) * chains * model.n_sites,
            what=f"{n['samples']} {n_samples} x {len(temps)} temperature(s)", reduce=f"lower {n['samples']}")
    if algorithm != "hmc" and (step_size is not None or trajectory != 1.0):
        raise UserError("the step size and trajectory length are hmc's: drop them or use hmc", key="algorithm")
    return _Run(model, temps, rungs, n_samples, chains, burn_in, thin, algorithm, start, seed, progress,
                hmc={"step_size": step_size, "trajectory": trajectory}).dataset()


def _ising_engine(model, temps, n_samples, chains, burn_in, thin, algorithm, start, seed, progress) -> Dataset:
    from physgen.data.ising import simulate as ising_simulate

    if len({float(v) for J in model.couplings.values() for v in np.unique(J)}) != 1:
        raise UserError("ising: physgen's Ising engine needs one uniform coupling")
    ds = ising_simulate(model.size, temps, n_samples, chains=chains, burn_in=burn_in, thin=thin,
                        algorithm=algorithm, J=model.values["J"], h=model.values["h"], start=start, seed=seed,
                        progress=progress)
    ds.attrs.update(model.attrs())
    return ds


class _Run:
    def __init__(self, model, temps, rungs, n_samples, chains, burn_in, thin, algorithm, start, seed, progress,
                 hmc: dict | None = None):
        self.model, self.temps, self.rungs, self.hmc_options = model, temps, rungs, hmc or {}
        self.n_samples, self.chains, self.burn_in, self.thin = n_samples, chains, burn_in, thin
        self.algorithm, self.start, self.seed, self.progress = algorithm, start, seed, progress
        self.rng = np.random.default_rng(seed)
        self.where = np.searchsorted(rungs, temps)   # the rung of each requested temperature

    def initial(self, count: int) -> np.ndarray:
        space, shape = self.model.space, (count, *self.model.shape)
        if self.start == "random":
            return space.random(self.rng, shape)
        if space.kind == "field":
            return space.ordered(self.rng, count, self.model.shape)
        pick = space.values[self.rng.integers(0, space.q, size=count)]
        return np.broadcast_to(pick[:, None, None], shape).astype(np.int8).copy()

    def dataset(self) -> Dataset:
        R, C, L = len(self.rungs), self.chains, self.model.size
        if self.algorithm == "tempering":
            engine = Tempering(self.model, self.rungs)
            x = self.initial(C * R).reshape(C, R, L, L)
            step = lambda x: engine.sweep(x, self.rng)  # noqa: E731
            view = lambda x: x.transpose(1, 0, 2, 3)[self.where]  # noqa: E731  (T, C, L, L)
        else:
            engine = self._engine()
            beta = np.repeat(1.0 / self.temps, C)
            x = self.initial(len(self.temps) * C)
            step = lambda x: engine.sweep(x, beta, self.rng)  # noqa: E731
            view = lambda x: x.reshape(len(self.temps), C, L, L)  # noqa: E731
        per_chain = math.ceil(self.n_samples / C)
        total = self.burn_in + per_chain * self.thin
        energy, order, snaps = [], [], []
        bar = _bar(self.progress, total)
        for sweep in range(1, total + 1):
            x = step(x)
            bar.update(1)
            if sweep > self.burn_in // 2:
                v = view(x)
                energy.append(self.model.energy(v) / self.model.n_sites)
                order.append(self._order(v))
            if sweep > self.burn_in and (sweep - self.burn_in) % self.thin == 0:
                snaps.append(view(x).copy())
        bar.close()
        return self._pack(np.stack(snaps, 2), np.stack(energy, -1), np.stack(order, -1), engine)

    def _engine(self):
        """The sampler of one temperature per chain: HMC (adapting its step during burn-in), Swendsen–Wang or
        Metropolis."""
        if self.algorithm == "hmc":
            from physgen.lattice.hmc import HMC

            return HMC(self.model, adapt=self.burn_in, **self.hmc_options)
        return (SwendsenWang if self.algorithm == "swendsen-wang" else Metropolis)(self.model)

    def _order(self, v: np.ndarray) -> np.ndarray:
        """``(T, C')``: the order parameter per chain, or for quenched models q² of chain pairs (2k, 2k+1)."""
        T, C = v.shape[:2]
        if self.model.quenched:
            pairs = C // 2 * 2
            if pairs == 0:
                return np.zeros((T, 1))
            s = v[:, :pairs].reshape(T, pairs // 2, 2, -1).astype(np.float64)
            return (s[:, :, 0] * s[:, :, 1]).mean(-1) ** 2
        return self.model.order_parameter(v.reshape(T * C, *v.shape[2:])).reshape(T, C)

    def _pack(self, snaps, energy, order, engine) -> Dataset:
        from physgen.stats import integrated_autocorrelation_time as tau

        T, C, k, L = len(self.temps), self.chains, snaps.shape[2], self.model.size
        samples = snaps.transpose(0, 2, 1, 3, 4).reshape(T, k * C, L, L)[:, :self.n_samples]
        tau_e = [float(tau(e)) for e in energy]
        tau_o = [float(tau(o)) for o in order]
        order_key = "overlap_sq" if self.model.quenched else self.model.order_name
        attrs = {"source": "physgen data lattice", **self.model.attrs(), "algorithm": self.algorithm,
                 "seed": int(self.seed), "burn_in": self.burn_in, "thin": self.thin, "chains": C,
                 "start": self.start, "n_samples_per_temperature": self.n_samples,
                 "temperatures": [float(t) for t in self.temps], "tau_int_energy": tau_e,
                 f"tau_int_{order_key}": tau_o, "sweep_definition": SWEEP_DEFINITION[self.algorithm]}
        if self.algorithm in ("metropolis", "hmc"):
            attrs["acceptance"] = float(engine.acceptance)
        if self.algorithm == "hmc":
            attrs.update(hmc_step_size=engine.step_size, hmc_trajectory_length=engine.trajectory,
                         hmc_leapfrog_steps=engine.leapfrog_steps())
        if self.algorithm == "swendsen-wang":
            attrs["mean_cluster_size"] = float(engine.mean_cluster)
        if self.algorithm == "tempering":
            attrs["ladder"] = [float(t) for t in self.rungs]
            attrs["tempering_acceptance"] = [float(a) for a in engine.acceptance]
        _warn_thinning(self.thin, self.temps, tau_e, tau_o)
        samples = samples.astype(np.float32) if self.model.space.kind == "field" else samples
        return Dataset(np.ascontiguousarray(samples.reshape(T * self.n_samples, L, L)), self.model.space.kind,
                       {"temperature": np.repeat(self.temps, self.n_samples)}, None, attrs,
                       hamiltonian=self.model.datasets())


def _warn_thinning(thin, temps, tau_e, tau_o) -> None:
    from physgen.data.ising.simulate import ThinningWarning

    worst = max(max(a, b) for a, b in zip(tau_e, tau_o))
    if thin < 2 * worst:
        warnings.warn(ThinningWarning(f"thin={thin} sweeps is shorter than 2 tau_int ({worst:.1f} sweeps at worst): "
                                      f"samples are correlated; use a thinning of at least {math.ceil(2 * worst)}"),
                      stacklevel=3)


def _bar(enabled: bool, total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="sweep", disable=not enabled, leave=False)
