"""Observables of 2D Ising configurations, with bootstrap errors (used by the engine tests, the demo and
the evaluation suite).

``spins``: ``(N, L, L)`` array of ±1 (any integer or float dtype), periodic boundaries.  Conventions match
:mod:`physgen.physics.exact` (N_s = L²):

    e = (−J Σ_<ij> s_i s_j − h Σ s_i)/N_s (2L² bonds),   m = Σ s_i / N_s,
    C = N_s (⟨e²⟩ − ⟨e⟩²)/T²,   χ = N_s (⟨m²⟩ − ⟨|m|⟩²)/T,   U = 1 − ⟨m⁴⟩/(3⟨m²⟩²)  (Binder 1981),
    ξ₂ = sqrt(⟨m²⟩/⟨|m̃(k₁)|²⟩ − 1) / (2 sin(π/L)),

the second-moment correlation length in lattice spacings (Cooper, Freedman & Preston, Nucl. Phys. B 210,
210, 1982; Caracciolo et al., Phys. Rev. Lett. 74, 2969, 1995), with m̃(k) = Σ_x s_x e^{ik·x}/N_s the
Fourier magnetisation at the smallest non-zero wave vector k₁ = (2π/L, 0), averaged with (0, 2π/L).

Weighted samples (``log_weights``, self-normalised importance weights w_k): every average is
⟨O⟩ = Σ w_k O_k / Σ w_k, and the effective sample size is (Σ w)²/Σ w² (Kish 1965).

Errors (:func:`thermodynamics_report`) come from a non-overlapping block bootstrap
(:func:`physgen.stats.bootstrap.block_bootstrap_replicates`; Carlstein 1986, Künsch 1989) that respects how
the rows were produced (:class:`~physgen.physics.sampling.Sampling`, read from the file by :func:`sampling_of`): the
rows of each Markov chain are cut into blocks of b = ⌈4 τ_int⌉ − 1 consecutive stored samples (b = 1, the ordinary
bootstrap, for independent rows), with τ_int of e for ⟨e⟩ and C and τ_int of |m| for ⟨|m|⟩, χ and U
(τ_int in stored samples, Sokal 1997 §3).  A block bootstrap misses the correlation across the block
boundaries inside a chain, a relative bias O(τ_int/b) of the variance (Künsch 1989; Lahiri, *Resampling
Methods for Dependent Data*, 2003, ch. 3); the error is corrected for it under a single-exponential
autocorrelation with that τ_int by the factor sqrt(Σ_chains v(ℓ_c) / Σ_blocks v(ℓ_B)), v(ℓ) the variance of
a sum of ℓ consecutive values (:func:`physgen.physics.sampling.block_bias_correction`): 1 when blocks are whole
chains or rows are independent.  Weighted rows are resampled the same way with their weights renormalised in
every resample.
"""
from __future__ import annotations

import math

import numpy as np

from physgen.errors import UserError
from physgen.physics.sampling import Sampling, block_bias_correction, block_length

OBSERVABLES = ("energy", "abs_magnetization", "specific_heat", "susceptibility", "binder", "correlation_length")
SERIES = {"energy": "energy", "specific_heat": "energy", "abs_magnetization": "abs_m", "susceptibility": "abs_m",
          "binder": "abs_m", "correlation_length": "abs_m"}
"""The series whose τ_int sets the block length of each observable's error."""


def _as_spins(spins: np.ndarray) -> np.ndarray:
    """(N, L, L) view of the input; integer spins stay integers (sums are done in int64/float64)."""
    s = np.asarray(spins)
    if s.ndim == 2:
        s = s[None]
    if s.ndim != 3 or s.shape[1] != s.shape[2] or s.shape[0] < 1:
        raise UserError(f"spins: expected configurations (N, L, L), got shape {np.shape(spins)}")
    return s if s.dtype.kind in "iuf" else s.astype(np.float64)


def _sum(x: np.ndarray) -> np.ndarray:
    return x.sum((1, 2), dtype=np.float64)


ENERGY_CHUNK = 1 << 22   # sites per block of energy_per_spin


def energy_per_spin(spins: np.ndarray, J: float = 1.0, h: float = 0.0, *, model=None) -> np.ndarray:
    """(N,) energy per spin e = (−J Σ_<ij> s_i s_j − h Σ s_i)/L² (right and down bonds, periodic), or with
    ``model`` (a :mod:`physgen.lattice` model: a spin glass, a frustrated magnet) that model's E(s)/N."""
    if model is None:
        from physgen.lattice import registry

        s = _as_spins(spins)
        model = registry.build("ising", s.shape[1], params={"J": J, "h": h})
    else:
        s = np.asarray(spins)
    rows = max(1, ENERGY_CHUNK // model.n_sites)   # float64 intermediates stay bounded on large data
    return np.concatenate([model.energy(s[i:i + rows]) for i in range(0, len(s), rows)]) / model.n_sites


def _fields(s: np.ndarray, model) -> np.ndarray | None:
    """``(N, k, L, L)`` order-parameter components of a q-state ``model``'s lattices
    (:meth:`physgen.lattice.space.States.components`), or None for spins (the spin is its own field)."""
    if model is None or model.space.kind == "spins":
        return None
    return model.space.components(s)


def magnetization(spins: np.ndarray, model=None) -> np.ndarray:
    """(N,) signed magnetization per spin m = Σ s_i / L²; for a q-state ``model`` (Potts) the length of the
    simplex-representation magnetisation, |Σ_x φ(x)| / L² (:meth:`physgen.lattice.space.States.magnetization`),
    which is ≥ 0."""
    s = _as_spins(spins)
    if model is not None and model.space.kind != "spins":
        return model.space.magnetization(s)
    return _sum(s) / (s.shape[1] * s.shape[2])


def correlation_function(spins: np.ndarray, chunk: int = 2048, log_weights: np.ndarray | None = None,
                         model=None) -> tuple[np.ndarray, np.ndarray]:
    """Spin–spin correlation G(r) = ⟨s_x s_{x+r}⟩ for r = 0..L//2 along the two lattice axes.

    Averaged over sites, both axes and all configurations (weighted by the normalised
    ``exp(log_weights)`` ``(N,)`` when given); computed from the FFT autocorrelation
    C(d) = (1/N_s) Σ_x s_x s_{x+d} = IFFT(|FFT s|²)/N_s (Wiener–Khinchin), ``chunk`` configurations at a
    time.  Not connected: above T_c G(r) → 0, below it G(r) → m² at large r.  For a q-state ``model`` the
    sum over the order-parameter components, G(r) = (q⟨δ(s_x, s_{x+r})⟩ − 1)/(q − 1).  Returns ``(r, G)``,
    each ``(L//2 + 1,)``.
    """
    s = _as_spins(spins)
    L = s.shape[1]
    w = normalised_weights(log_weights, len(s))
    total = np.zeros((L, L))
    for start in range(0, len(s), chunk):
        part = s[start:start + chunk]
        fields = _fields(part, model)
        f = np.fft.rfft2(part.astype(np.float64)[:, None] if fields is None else fields)
        power = np.fft.irfft2(f * np.conj(f), s=(L, L)).sum(1)
        total += np.tensordot(w[start:start + chunk], power, axes=1)
    corr = total / (L * L)
    r = np.arange(L // 2 + 1)
    return r, 0.5 * (corr[0, r] + corr[r, 0])


def lowest_mode_power(spins: np.ndarray, model=None) -> np.ndarray:
    """(N,) |m̃(k₁)|² = |Σ_x s_x e^{ik₁·x}|²/N_s², averaged over k₁ = (2π/L, 0) and (0, 2π/L): the structure
    factor at the smallest non-zero wave vector (per spin²), the denominator of the second-moment
    correlation length (module docstring); for a q-state ``model`` summed over the order-parameter components."""
    s = _as_spins(spins)
    L = s.shape[1]
    fields = _fields(s, model)
    f = s.astype(np.float64)[:, None] if fields is None else fields          # (N, k, L, L)
    phase = np.exp(2j * np.pi * np.arange(L) / L)
    rows, cols = f.sum(3) @ phase, f.sum(2) @ phase                            # (N, k)
    return 0.5 * (np.abs(rows) ** 2 + np.abs(cols) ** 2).sum(1) / (L * L) ** 2


def second_moment_length(m2: np.ndarray, f1: np.ndarray, L: int) -> np.ndarray:
    """ξ₂ = sqrt(⟨m²⟩/⟨|m̃(k₁)|²⟩ − 1) / (2 sin(π/L)) from the averages ``m2`` and ``f1`` (NaN where the ratio
    is below 1 or ``f1`` is 0 to rounding, as on a fully ordered lattice)."""
    m2, f1 = np.asarray(m2, dtype=np.float64), np.asarray(f1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(f1 > 1e-12 * np.abs(m2), m2 / f1, np.nan)
        return np.where(ratio >= 1.0, np.sqrt(ratio - 1.0), np.nan) / (2.0 * math.sin(math.pi / L))


def binder_cumulant(m: np.ndarray) -> float:
    """U = 1 − ⟨m⁴⟩ / (3⟨m²⟩²): 2/3 deep in the ordered phase, → 0 for Gaussian m (disordered)."""
    m = np.asarray(m, dtype=np.float64)
    m2 = np.mean(m ** 2)
    return float(1.0 - np.mean(m ** 4) / (3.0 * m2 ** 2)) if m2 > 0 else float("nan")


def normalised_weights(log_weights: np.ndarray | None, n: int) -> np.ndarray:
    """``(n,)`` weights w_k = exp(log w_k) / Σ_j exp(log w_j), renormalised over the given rows (1/n each
    without ``log_weights``)."""
    if log_weights is None:
        return np.full(n, 1.0 / max(n, 1))
    lw = np.asarray(log_weights, dtype=np.float64)
    if lw.shape != (n,) or not np.all(np.isfinite(lw)):
        raise UserError(f"log_weights: expected {n} finite numbers (one per configuration), got shape {lw.shape}")
    w = np.exp(lw - lw.max())
    return w / w.sum()


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size (Σ w)² / Σ w² of weights ``(N,)`` (N for equal weights)."""
    w = np.asarray(weights, dtype=np.float64)
    return float(w.sum() ** 2 / np.sum(w * w)) if np.any(w > 0) else 0.0


def _moments(e: np.ndarray, m: np.ndarray, f1: np.ndarray) -> np.ndarray:
    """``(N, 7)`` per-row moments [e − ē, (e − ē)², |m| − a, (|m| − a)², m², m⁴, |m̃(k₁)|²] (ē, a: plain
    means; centring keeps ⟨e²⟩ − ⟨e⟩² accurate)."""
    a = np.abs(m)
    de, da = e - e.mean(), a - a.mean()
    return np.stack([de, de * de, da, da * da, m * m, m ** 4, f1], axis=1)


def _observables(moments: np.ndarray, w: np.ndarray, n_spins: int, T: float, shift: tuple[float, float]
                 ) -> np.ndarray:
    """``(B, 6)`` observables (order of :data:`OBSERVABLES`) of the rows weighted by ``w`` ``(B, N)``:
    ⟨O⟩ = Σ w_k O_k / Σ w_k from the per-row ``moments`` ``(N, 7)`` of :func:`_moments` (``shift`` = (ē, a))."""
    avg = (w @ moments) / w.sum(-1, keepdims=True)
    de, de2, da, da2, m2, m4, f1 = np.moveaxis(avg, -1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        binder = np.where(m2 > 0, 1.0 - m4 / (3.0 * m2 * m2), np.nan)
    return np.stack([shift[0] + de, shift[1] + da, n_spins * (de2 - de * de) / T ** 2,
                     n_spins * (da2 - da * da) / T, binder,
                     second_moment_length(m2, f1, math.isqrt(n_spins))], axis=-1)


def thermodynamics_report(spins: np.ndarray, temperature: float, *, J: float = 1.0, h: float = 0.0, rng=None,
                          n_boot: int = 200, level: float = 0.68, sampling: Sampling | None = None,
                          log_weights: np.ndarray | None = None, model=None) -> tuple[dict, dict]:
    """Energy, |m|, specific heat, susceptibility, Binder cumulant and ξ₂ at one temperature, with errors.

    ``spins`` ``(N, L, L)``; energies of the Ising ``J``, ``h`` or of ``model`` (:func:`energy_per_spin`);
    ``sampling``: how the rows were produced (default: independent rows);
    ``log_weights`` ``(N,)``: importance weights (renormalised over these rows; default equal).  Values are
    the (weighted) averages of the module docstring; errors the (weighted) block bootstrap described there,
    ``n_boot`` resamples.  Returns ``(estimates, errors)``: ``{name: Estimate}`` for the names of
    :data:`OBSERVABLES`, and ``{name: {"error_method", "block_length", "n_blocks", "tau_int", "tau_source",
    "bias_correction", "ess"}}`` (τ_int in stored samples, ``ess`` = (Σ w)²/Σ w²).
    """
    from physgen.stats.bootstrap import block_bootstrap_replicates, block_labels, estimate_from_replicates

    if not (np.isfinite(temperature) and temperature > 0):
        raise UserError(f"temperature: must be finite and > 0, got {temperature!r}")
    s = _as_spins(spins)
    n, n_spins, T = len(s), s.shape[1] * s.shape[2], float(temperature)
    sampling = Sampling.independent(n) if sampling is None else sampling
    if len(sampling) != n:
        raise UserError(f"sampling: describes {len(sampling)} rows, the sample has {n}")
    w = normalised_weights(log_weights, n)
    e, m = energy_per_spin(s, J, h, model=model), magnetization(s, model)
    shift = (float(e.mean()), float(np.abs(m).mean()))
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    ess, weighted = effective_sample_size(w), log_weights is not None
    estimates, notes, done = {}, {}, {}
    for series in ("energy", "abs_m"):
        tau = sampling.tau(series)
        b = block_length(tau, n)
        if b not in done:
            labels, sizes = block_labels(sampling.chain, sampling.time, b)
            moments = _moments(e, m, lowest_mode_power(s, model))
            done[b] = (sizes, *block_bootstrap_replicates(lambda x, ww: _observables(x, ww, n_spins, T, shift),
                                                          moments, labels=labels, weights=w, n_boot=n_boot, rng=rng))
        sizes, value, reps = done[b]
        factor = block_bias_correction(sampling, sizes, tau)
        method = ("weighted-" if weighted else "") + ("block-bootstrap" if sizes.max(initial=1) > 1 else "bootstrap")
        for j, name in enumerate(OBSERVABLES):
            if SERIES[name] == series:
                estimates[name] = estimate_from_replicates(value[j], reps[:, j], level, factor)
                notes[name] = {"error_method": method, "block_length": b, "n_blocks": int(len(sizes)),
                               "tau_int": float(tau), "tau_source": sampling.source, "bias_correction": factor,
                               "ess": ess}
    return {k: estimates[k] for k in OBSERVABLES}, {k: notes[k] for k in OBSERVABLES}


def thermodynamics(spins: np.ndarray, temperature: float, *, J: float = 1.0, h: float = 0.0, rng=None,
                   n_boot: int = 200, sampling: Sampling | None = None, log_weights: np.ndarray | None = None,
                   model=None) -> dict:
    """Energy, |m|, specific heat, susceptibility, Binder cumulant and ξ₂ of samples at one temperature.

    Returns ``{"energy", "abs_magnetization", "specific_heat", "susceptibility", "binder",
    "correlation_length"}`` ->
    :class:`physgen.stats.Estimate` (value on all samples, weighted by ``log_weights`` when given; error =
    standard deviation over block-bootstrap resamples that respect ``sampling``, the ordinary bootstrap over
    configurations for independent rows; energies per spin, C and χ per spin).  See
    :func:`thermodynamics_report` for the method of each error.
    """
    return thermodynamics_report(spins, temperature, J=J, h=h, rng=rng, n_boot=n_boot, sampling=sampling,
                                 log_weights=log_weights, model=model)[0]


def _numbers(value) -> np.ndarray:
    """An attribute (number, list or array) as a flat float64 array."""
    return np.atleast_1d(np.asarray(value, dtype=np.float64)).ravel()


def _position(values, t: float) -> int | None:
    """Index of temperature ``t`` in the attribute ``values`` (None when absent)."""
    hit = np.flatnonzero(np.isclose(_numbers(values), t, rtol=1e-6, atol=1e-9))
    return int(hit[0]) if hit.size else None


def _simulation_sampling(attrs: dict, t: float, n: int) -> Sampling | None:
    """Layout and τ_int of rows from :func:`physgen.data.ising.simulate` (or a merge of such files, whose
    differing attributes sit under ``shards``): each part's rows at ``t`` time-major over its chains, τ_int
    per temperature in sweeps thinned to stored samples.  None when the attributes do not describe ``n`` rows."""
    from physgen.stats.autocorr import thinned_tau

    parts, taus = [], []
    for part in attrs.get("shards") or [{}]:
        get = lambda key: part.get(key, attrs.get(key))  # noqa: E731
        if any(get(k) is None for k in ("tau_int_energy", "tau_int_abs_m", "thin", "chains", "temperatures")):
            return None
        j = _position(get("temperatures"), t)
        if j is None:
            continue
        rows = get("shard_samples_per_temperature") or get("n_samples_per_temperature")
        chains = int(get("shard_chains") or get("chains"))
        if rows is None or j >= len(_numbers(get("tau_int_energy"))) or j >= len(_numbers(get("tau_int_abs_m"))):
            return None
        thin = float(get("thin"))
        parts.append((int(rows), min(chains, int(rows))))
        taus.append((int(rows), thinned_tau(_numbers(get("tau_int_energy"))[j], thin),
                     thinned_tau(_numbers(get("tau_int_abs_m"))[j], thin)))
    if not parts or sum(r for r, _ in parts) != n:
        return None
    rows = np.array([r for r, _, _ in taus], dtype=np.float64)
    tau_e, tau_m = (float(np.dot(rows, [x[k] for x in taus]) / rows.sum()) for k in (1, 2))
    return Sampling.chains(parts, order="time-major", tau_energy=tau_e, tau_abs_m=tau_m)


def _mcmc_sampling(attrs: dict, t: float, n: int, has_temperature: bool) -> Sampling | None:
    """Layout and τ_int (recorded steps) of ``physgen sample --mcmc`` rows: chain-major over ``mcmc_chains``
    chains, numbers or lists per ``mcmc_temperature``."""
    keys = ("mcmc_tau_int_energy", "mcmc_tau_int_abs_magnetization", "mcmc_chains")
    if any(attrs.get(k) is None for k in keys):
        return None
    values = [_numbers(attrs[k]) for k in keys]
    temps = attrs.get("mcmc_temperature")
    j = _position(temps, t) if temps is not None else None
    if j is None and not has_temperature and all(len(v) == 1 for v in values):
        j = 0
    if j is None or any(j >= len(v) for v in values):
        return None
    chains = max(1, min(int(values[2][j]), n))
    return Sampling.chains([(n, chains)], order="chain-major", tau_energy=max(0.5, values[0][j]),
                           tau_abs_m=max(0.5, values[1][j]))


TAU_KEYS = ("tau_int_energy", "tau_int_abs_m", "mcmc_tau_int_energy", "mcmc_tau_int_abs_magnetization")


def sampling_of(dataset, temperature: float, rows: np.ndarray | None = None, *,
                unrecorded: str = "estimate", model=None) -> Sampling:
    """How the ``rows`` (default: all) of an Ising Dataset at ``temperature`` were produced.

    From the file's attributes when they describe these rows (:func:`physgen.data.ising.simulate`'s
    ``tau_int_energy``, ``tau_int_abs_m``, ``thin``, ``chains``, ``temperatures``; or ``physgen sample
    --mcmc``'s ``mcmc_tau_int_energy``, ``mcmc_tau_int_abs_magnetization``, ``mcmc_chains``,
    ``mcmc_temperature``).  Otherwise, with ``unrecorded="estimate"`` (or when the file has τ_int attributes
    that do not match its rows), τ_int is measured on the rows in file order (:meth:`Sampling.estimated`);
    with ``unrecorded="independent"`` the rows are taken as independent (a model's samples).
    """
    if unrecorded not in ("estimate", "independent"):
        raise UserError(f"unrecorded: must be 'estimate' or 'independent', got {unrecorded!r}")
    rows = np.arange(len(dataset)) if rows is None else np.asarray(rows)
    attrs, t, n = dataset.attrs, float(temperature), len(rows)
    found = (_simulation_sampling(attrs, t, n)
             or _mcmc_sampling(attrs, t, n, "temperature" in dataset.conditions))
    if found is not None:
        return found
    recorded = any(k in attrs for k in TAU_KEYS) or any(k in part for part in attrs.get("shards") or []
                                                         for k in TAU_KEYS)
    if unrecorded == "independent" and not recorded:
        return Sampling.independent(n)
    s = dataset.samples[rows]
    return Sampling.estimated(energy_per_spin(s, model=model), magnetization(s, model))


def thermodynamics_by_temperature(dataset, *, rng=None, n_boot: int = 200) -> dict[float, dict]:
    """:func:`thermodynamics` for each distinct ``conditions['temperature']`` of an Ising Dataset, with the
    rows' :func:`sampling_of` and the file's ``log_weights`` (renormalised per temperature)."""
    if "temperature" not in dataset.conditions:
        raise UserError("dataset: has no /conditions/temperature")
    from physgen.lattice.registry import model_of

    model = model_of(dataset)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    temps = dataset.conditions["temperature"]
    out = {}
    for T in np.unique(temps):
        rows = np.flatnonzero(temps == T)
        lw = None if dataset.log_weights is None else dataset.log_weights[rows]
        out[float(T)] = thermodynamics(dataset.samples[rows], float(T), rng=rng, n_boot=n_boot,
                                       sampling=sampling_of(dataset, float(T), rows, model=model),
                                       log_weights=lw, model=model)
    return out
