"""Thermodynamic comparison of real and generated Ising configurations, temperature by temperature.

For each temperature T the observables of :func:`physgen.physics.observables.thermodynamics_report` (energy
per spin ⟨e⟩, ⟨|m|⟩, specific heat C, susceptibility χ, Binder cumulant U₄) are computed for the real and
the generated configurations, with the difference ``Δ = fake − real``, its error
``σ_Δ = sqrt(σ_real² + σ_fake²)`` and ``z = Δ/σ_Δ``.  Errors are block-bootstrap errors that respect how
each file's rows were produced (:class:`~physgen.physics.observables.Sampling`: Markov chains and their
τ_int from the file's attributes, measured on the rows where a real file records none, independent rows
for generated samples without τ_int attributes); weighted files (``log_weights``) give weighted averages
and weighted-bootstrap errors, renormalised per temperature.  Each file's entry states its
``error_method``, ``block_length``, ``tau_int`` and ``ess``.  The floor is the same comparison between two
disjoint halves of the real configurations at that temperature that share no chain segment
(:meth:`~physgen.physics.observables.Sampling.halves`).  The distributions of the energy per spin and of
|m| (discrete on a finite lattice) are compared by exact-category KL/JS
(:func:`~physgen.metrics.divergences.discrete_divergences`; weighted histograms scaled to the effective
sample size for weighted files), and the spin–spin correlation function G(r) is reported for both.
Infinite-lattice references come from :mod:`physgen.physics.onsager`.

Summary: ``chi2_per_dof = mean z²`` over all temperatures and observables — ≈ 1 when the generated
configurations reproduce the thermodynamics within errors.
"""
from __future__ import annotations

import math

import numpy as np

from physgen.metrics.divergences import discrete_divergences, kl_js_from_counts
from physgen.physics.observables import OBSERVABLES, Sampling


def spin_features(spins: np.ndarray, *, J: float = 1.0, h: float = 0.0, model=None) -> np.ndarray:
    """``(N, L, L)`` ±1 configurations (q states of a Potts ``model``) -> ``(N, 2)`` features [energy per spin,
    |m|] (the energy of the Ising ``J``, ``h``, or of a :mod:`physgen.lattice` ``model``; |m| of q states:
    :func:`physgen.physics.observables.magnetization`)."""
    from physgen.physics.observables import energy_per_spin, magnetization

    spins = np.asarray(spins)
    return np.stack([np.asarray(energy_per_spin(spins, J=J, h=h, model=model), np.float64),
                     np.abs(np.asarray(magnetization(spins, model), np.float64))], axis=1)


def temperature_key(t: float) -> str:
    """Stable JSON key of a temperature (``2.269185`` -> ``"2.269185"``, ``2.0`` -> ``"2"``)."""
    return f"{float(t):.10g}"


def onsager_reference(t: float, J: float = 1.0) -> dict[str, float | None]:
    """Infinite-lattice Onsager values at T (None where no closed form is used)."""
    from physgen.physics import onsager

    def safe(f):
        try:
            v = float(np.asarray(f(np.asarray([t]), J=J)).ravel()[0])
            return v if math.isfinite(v) else None
        except (ValueError, ZeroDivisionError, FloatingPointError):
            return None
    return {"energy": safe(onsager.energy_per_spin), "abs_magnetization": safe(onsager.spontaneous_magnetization),
            "specific_heat": safe(onsager.specific_heat), "susceptibility": None, "binder": None,
            "correlation_length": None}


def _difference(a, b) -> dict[str, float | None]:
    """Δ = b − a of two Estimates with the error in quadrature and z (None when undefined)."""
    diff = float(b.value - a.value)
    err = math.sqrt(a.error ** 2 + b.error ** 2) if math.isfinite(a.error) and math.isfinite(b.error) else math.nan
    z = diff / err if err > 0 else (0.0 if diff == 0 else math.nan)
    return {"value": diff, "error": err if math.isfinite(err) else None, "z": z if math.isfinite(z) else None}


def compare_at_temperature(real: np.ndarray, fake: np.ndarray, t: float, *, n_boot: int = 200,
                           rng: np.random.Generator | None = None,
                           real_sampling: Sampling | None = None, fake_sampling: Sampling | None = None,
                           real_log_weights: np.ndarray | None = None,
                           fake_log_weights: np.ndarray | None = None, model=None) -> dict:
    """Real vs fake (and real half vs real half) observables at temperature ``t``; ``(N, L, L)`` inputs, energies
    of the :mod:`physgen.lattice` ``model`` (None: the Ising model at J = 1, h = 0), with Onsager's
    infinite-lattice values beside those of the Ising model.

    ``*_sampling``: how each file's rows were produced (default: independent rows); ``*_log_weights``
    ``(N,)``: importance weights of weighted files (module docstring).  Every existing key of an entry is
    kept; the ``real``/``fake`` estimates carry their error method, and ``sampling`` describes both files.
    """
    from physgen.physics.observables import correlation_function, normalised_weights, thermodynamics_report

    rng = rng if rng is not None else np.random.default_rng(0)
    real_sampling = real_sampling if real_sampling is not None else Sampling.independent(len(real))
    fake_sampling = fake_sampling if fake_sampling is not None else Sampling.independent(len(fake))
    ia, ib = real_sampling.halves(rng)
    kw = dict(rng=rng, n_boot=n_boot, model=model)
    th = {"real": thermodynamics_report(real, t, sampling=real_sampling, log_weights=real_log_weights, **kw),
          "fake": thermodynamics_report(fake, t, sampling=fake_sampling, log_weights=fake_log_weights, **kw)}
    halves = [thermodynamics_report(real[i], t, sampling=real_sampling.take(i),
                                    log_weights=None if real_log_weights is None else real_log_weights[i], **kw)[0]
              for i in (ia, ib)] if min(len(ia), len(ib)) >= 2 else None
    ising = model is None or model.name == "ising"
    ref = onsager_reference(t, 1.0 if model is None else float(model.values["J"])) if ising else {}
    out = {"n_real": int(len(real)), "n_fake": int(len(fake)), "observables": {}}
    for name in OBSERVABLES:
        (r, r_notes), (f, f_notes) = ((th[k][0][name], th[k][1][name]) for k in ("real", "fake"))
        entry = {"real": {**r.to_json(), **r_notes}, "fake": {**f.to_json(), **f_notes},
                 "difference": _difference(r, f), "onsager": ref.get(name)}
        entry["floor"] = _difference(halves[0][name], halves[1][name]) if halves else None
        out["observables"][name] = entry
    w_real, w_fake = normalised_weights(real_log_weights, len(real)), normalised_weights(fake_log_weights, len(fake))
    out["sampling"] = {"real": _describe(real_sampling, real_log_weights, th["real"][1]),
                       "fake": _describe(fake_sampling, fake_log_weights, th["fake"][1]),
                       "floor_split": "real halves share no chain segment (whole chains to each half; an odd chain "
                                      "split in time)"}
    out["distributions"] = _distribution_divergences(real, fake, (ia, ib), (w_real, w_fake),
                                                     (real_log_weights is not None, fake_log_weights is not None), model)
    r, g_real = correlation_function(real, log_weights=real_log_weights, model=model)
    _, g_fake = correlation_function(fake, log_weights=fake_log_weights, model=model)
    out["correlation"] = {"r": np.asarray(r, float).tolist(), "real": np.asarray(g_real, float).tolist(),
                          "fake": np.asarray(g_fake, float).tolist()}
    if model is not None and model.quenched:
        weighted = real_log_weights is not None or fake_log_weights is not None
        out["overlap"] = overlap_entry(real, fake, weighted, n_boot, rng)
    return out


def overlap_entry(real: np.ndarray, fake: np.ndarray, weighted: bool, n_boot: int, rng: np.random.Generator) -> dict:
    """A quenched model's overlap P(q) of both files (:mod:`physgen.lattice.observables`): ``q2`` and ``binder``
    with ``real``, ``fake`` and their ``difference``, the ``histogram`` of each, and ``kl``/``js`` of the two
    P(q); importance-weighted files are left out (``skipped``)."""
    from physgen.lattice.observables import overlap_summary, overlaps

    if weighted:
        return {"skipped": "importance-weighted samples: the overlap of weighted pairs is not computed"}
    q_real, q_fake = overlaps(real), overlaps(fake)
    if min(len(q_real), len(q_fake)) < 2:
        return {"skipped": "fewer than 4 samples"}
    s_real, s_fake = (overlap_summary(q, n_boot=n_boot, rng=rng) for q in (q_real, q_fake))
    out = {name: {"real": s_real[name].to_json(), "fake": s_fake[name].to_json(),
                  "difference": _difference(s_real[name], s_fake[name])} for name in ("q2", "binder")}
    kl, js = discrete_divergences(np.round(q_real, 9), np.round(q_fake, 9))
    out.update(histogram={"real": s_real["histogram"], "fake": s_fake["histogram"]}, kl=float(kl), js=float(js))
    return out


def _describe(sampling: Sampling, log_weights, notes: dict) -> dict:
    """The ``sampling`` entry of one file: chains, τ_int (stored samples), weights and effective size."""
    return {**sampling.describe(), "weighted": log_weights is not None, "ess": notes["energy"]["ess"]}


def _counts(values: np.ndarray, categories: np.ndarray, w: np.ndarray, weighted: bool) -> np.ndarray:
    """Histogram of ``values`` over ``categories``: counts, or for weighted rows the normalised weights
    scaled to the effective sample size (Σ w)²/Σ w² (so the pseudo-count weighs as for that many draws)."""
    index = np.searchsorted(categories, values)
    if not weighted:
        return np.bincount(index, minlength=categories.size).astype(np.float64)
    w = w / w.sum()
    return np.bincount(index, weights=w, minlength=categories.size) / np.sum(w * w)


def _divergence(x: np.ndarray, y: np.ndarray, wx, wy, weighted: tuple[bool, bool]) -> tuple[float, float]:
    """(KL, JS) of two discrete samples ``(N,)``, ``(M,)``, weighted where ``weighted`` says so."""
    if not any(weighted):
        return discrete_divergences(x, y)
    x, y = np.round(np.asarray(x, np.float64), 9), np.round(np.asarray(y, np.float64), 9)
    categories = np.union1d(x, y)
    kl, js = kl_js_from_counts(_counts(x, categories, wx, weighted[0]), _counts(y, categories, wy, weighted[1]))
    return float(kl), float(js)


def _distribution_divergences(real, fake, halves, weights, weighted, model=None) -> dict:
    fr, ff = spin_features(real, model=model), spin_features(fake, model=model)
    (ia, ib), (wr, wf) = halves, weights
    out = {}
    for j, name in enumerate(("energy", "abs_magnetization")):
        kl, js = _divergence(fr[:, j], ff[:, j], wr, wf, weighted)
        floor = (_divergence(fr[ia, j], fr[ib, j], wr[ia], wr[ib], (weighted[0], weighted[0]))
                 if min(len(ia), len(ib)) >= 1 else (None, None))
        out[name] = {"kl": kl, "js": js, "kl_floor": floor[0], "js_floor": floor[1]}
    return out


def summarise(per_temperature: dict[str, dict]) -> dict:
    """χ²/dof of the fake−real differences (and of the half−half floors) over all T and observables."""
    def chi2(which: str) -> tuple[float | None, int]:
        zs = [e[which]["z"] if which == "difference" else (e["floor"] or {}).get("z")
              for entry in per_temperature.values() for e in entry["observables"].values()]
        zs = [z for z in zs if z is not None]
        return (float(np.mean(np.square(zs))) if zs else None), len(zs)
    value, k = chi2("difference")
    floor, k_floor = chi2("floor")
    return {"value": value, "error": math.sqrt(2.0 / k) if k else None, "floor": floor,
            "floor_error": math.sqrt(2.0 / k_floor) if k_floor else None, "dof": k}
