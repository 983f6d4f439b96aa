"""Thermodynamic comparison of real and generated Ising configurations, temperature by temperature.

For each temperature T the observables of :func:`physgen.physics.observables.thermodynamics` (energy per
spin ⟨e⟩, ⟨|m|⟩, specific heat C, susceptibility χ, Binder cumulant U₄; bootstrap errors) are computed
for the real and the generated configurations, with the difference ``Δ = fake − real``, its error
``σ_Δ = sqrt(σ_real² + σ_fake²)`` and ``z = Δ/σ_Δ``.  The floor is the same comparison between two
disjoint halves of the real configurations at that temperature.  The distributions of the energy per
spin and of |m| (discrete on a finite lattice) are compared by exact-category KL/JS
(:func:`~physgen.metrics.divergences.discrete_divergences`), and the spin–spin correlation function
G(r) is reported for both.  Infinite-lattice references come from :mod:`physgen.physics.onsager`.

Summary: ``chi2_per_dof = mean z²`` over all temperatures and observables — ≈ 1 when the generated
configurations reproduce the thermodynamics within errors (bootstrap errors ignore Monte Carlo
autocorrelation, so real-data χ²/dof can exceed 1 for strongly correlated chains).
"""
from __future__ import annotations

import math

import numpy as np

from physgen.metrics.divergences import discrete_divergences

OBSERVABLES = ("energy", "abs_magnetization", "specific_heat", "susceptibility", "binder")


def spin_features(spins: np.ndarray, *, J: float = 1.0, h: float = 0.0) -> np.ndarray:
    """``(N, L, L)`` ±1 configurations -> ``(N, 2)`` features [energy per spin, |m|]."""
    from physgen.physics.observables import energy_per_spin, magnetization

    spins = np.asarray(spins)
    return np.stack([np.asarray(energy_per_spin(spins, J=J, h=h), np.float64),
                     np.abs(np.asarray(magnetization(spins), np.float64))], axis=1)


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
            "specific_heat": safe(onsager.specific_heat), "susceptibility": None, "binder": None}


def _difference(a, b) -> dict[str, float | None]:
    """Δ = b − a of two Estimates with the error in quadrature and z (None when undefined)."""
    diff = float(b.value - a.value)
    err = math.sqrt(a.error ** 2 + b.error ** 2) if math.isfinite(a.error) and math.isfinite(b.error) else math.nan
    z = diff / err if err > 0 else (0.0 if diff == 0 else math.nan)
    return {"value": diff, "error": err if math.isfinite(err) else None, "z": z if math.isfinite(z) else None}


def compare_at_temperature(real: np.ndarray, fake: np.ndarray, t: float, *, J: float = 1.0, h: float = 0.0,
                           n_boot: int = 200, rng: np.random.Generator | None = None) -> dict:
    """Real vs fake (and real half vs real half) observables at temperature ``t``; ``(N, L, L)`` inputs."""
    from physgen.physics.observables import correlation_function, thermodynamics

    rng = rng if rng is not None else np.random.default_rng(0)
    half = len(real) // 2
    perm = rng.permutation(len(real))
    th = {name: thermodynamics(x, t, J=J, h=h, rng=rng, n_boot=n_boot)
          for name, x in (("real", real), ("fake", fake))}
    halves = [thermodynamics(real[perm[i * half:(i + 1) * half]], t, J=J, h=h, rng=rng, n_boot=n_boot)
              for i in range(2)] if half >= 2 else None
    ref = onsager_reference(t, J)
    out = {"n_real": int(len(real)), "n_fake": int(len(fake)), "observables": {}}
    for name in OBSERVABLES:
        entry = {"real": th["real"][name].to_json(), "fake": th["fake"][name].to_json(),
                 "difference": _difference(th["real"][name], th["fake"][name]), "onsager": ref.get(name)}
        entry["floor"] = _difference(halves[0][name], halves[1][name]) if halves else None
        out["observables"][name] = entry
    out["distributions"] = _distribution_divergences(real, fake, perm, half, J, h)
    r, g_real = correlation_function(real)
    _, g_fake = correlation_function(fake)
    out["correlation"] = {"r": np.asarray(r, float).tolist(), "real": np.asarray(g_real, float).tolist(),
                          "fake": np.asarray(g_fake, float).tolist()}
    return out


def _distribution_divergences(real, fake, perm, half, J, h) -> dict:
    fr, ff = spin_features(real, J=J, h=h), spin_features(fake, J=J, h=h)
    out = {}
    for j, name in enumerate(("energy", "abs_magnetization")):
        kl, js = discrete_divergences(fr[:, j], ff[:, j])
        floor = discrete_divergences(fr[perm[:half], j], fr[perm[half:2 * half], j]) if half >= 1 else (None, None)
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
