"""``vmc.json`` and the HTML report of a run: energy versus iteration and the one-body density.

The one-body density is the histogram of all particles' positions in the final run.  In one dimension it
is ρ(x) normalised to ∫ρ dx = N; in d ≥ 2 it is the radial density ρ(r) = n(r)/(samples·V_shell(r)),
normalised to ∫ρ d^d r = N, drawn beside the non-interacting ground state's ρ₀ (N Gaussians of variance
1/2ω per coordinate) for comparison.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from physgen.atomic import write_json
from physgen.report.html import Report

EXACT_NOTE = {"trap": "ω·N·d/2 (no interaction)",
              "taut": "two electrons with Coulomb repulsion, exact (Taut, J. Phys. A 27, 1045 (1994))"}


def exact_energy(config) -> tuple[float, str] | None:
    """The exact ground-state energy where one is known: no interaction, or two electrons with
    (d, ω) = (2, 1) → 3 or (3, ½) → 2 (closed-form solutions; the relative wave function is
    (1 + r/(d − 1)) exp(−ω r²/4))."""
    if getattr(config, "fermions", False) and config.interaction == "none":
        from physgen.vmc.slater import noninteracting_energy

        return noninteracting_energy(config.particles, config.omega), "ω Σ 2(n+1)² over the filled shells (no interaction)"
    if config.interaction == "none" or config.particles == 1:
        return 0.5 * config.omega * config.particles * config.dim, EXACT_NOTE["trap"]
    if config.particles == 2 and (config.dim, config.omega) in {(2, 1.0), (3, 0.5)}:
        return (3.0 if config.dim == 2 else 2.0), EXACT_NOTE["taut"]
    return None


# Diffusion Monte Carlo energies of closed-shell quantum dots, (N, ω) → E (Pedersen Lohne, Hagen,
# Hjorth-Jensen, Kvaal & Pederiva, Phys. Rev. B 84, 115302 (2011)).
DMC_REFERENCE = {(6, 1.0): 20.15932, (6, 0.5): 11.78484, (6, 0.1): 3.55385, (12, 1.0): 65.70010}


def reference_energy(config) -> dict | None:
    """The diffusion Monte Carlo energy of ``config`` (2D electrons with Coulomb repulsion) where tabulated."""
    value = DMC_REFERENCE.get((config.particles, float(config.omega)))
    if not (getattr(config, "fermions", False) and config.interaction == "coulomb" and config.dim == 2 and value):
        return None
    return {"value": value, "source": "diffusion Monte Carlo (Pedersen Lohne et al., Phys. Rev. B 84, 115302 (2011))"}


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


def noninteracting_density(coords: np.ndarray, n: int, dim: int, omega: float) -> np.ndarray:
    """ρ₀ = N (ω/π)^{d/2} exp(−ω r²) (radial or along x)."""
    return n * (omega / math.pi) ** (dim / 2) * np.exp(-omega * np.asarray(coords) ** 2)


def summary(result, density: dict) -> dict:
    """The contents of ``vmc.json``."""
    cfg, final = result.config, result.final
    exact = exact_energy(cfg)
    return {"settings": {**cfg.as_dict(), "sweeps_per_iteration": cfg.sweeps, "final_sweeps": cfg.final_sweeps,
                         **result.extras},
            "wavefunction": {"psi": ("det↑ det↓ F (Slater determinants of oscillator orbitals × the RBM marginal)"
                                     if getattr(cfg, "fermions", False) else "F (the RBM marginal)"),
                             "sigma": result.wavefunction.sigma,
                             "parameters": result.wavefunction.n_params,
                             "jastrow_beta": (None if result.wavefunction.jastrow is None
                                              else math.exp(result.wavefunction.jastrow.log_beta))},
            "iterations": result.history,
            "final": {"energy": final.energy, "error": final.error,
                      "walker_error": final.walker_error if math.isfinite(final.walker_error) else None,
                      "variance": final.variance,
                      "acceptance": final.acceptance, "samples": int(final.series.size * cfg.walkers),
                      "blocking": final.blocking.as_dict()},
            "exact_energy": None if exact is None else {"value": exact[0], "source": exact[1]},
            "reference_energy": reference_energy(cfg),
            "one_body_density": density, "seconds": result.seconds}


def write_outputs(out: Path, result, *, overwrite: bool = True) -> dict:
    """Write ``params.safetensors``, ``report.html`` and, last, ``vmc.json`` into ``out``."""
    from physgen.vmc.params import save_params

    density = one_body_density(result.final.positions)
    data = summary(result, density)
    report = build_report(data)
    out.mkdir(parents=True, exist_ok=True)
    save_params(out / "params.safetensors", result.wavefunction)
    report.write(out / "report.html")
    write_json(out / "vmc.json", data)
    return data


def build_report(data: dict) -> Report:
    from matplotlib.figure import Figure

    s, fin = data["settings"], data["final"]
    rep = Report(f"Variational Monte Carlo: {s['particles']} particle(s) in {s['dim']}D, ω = {s['omega']:g}")
    rep.section("Result")
    rows = [["final energy", f"{fin['energy']:.6f} ± {fin['error']:.2g} (blocking)"],
            ["error from the spread of the walkers", f"{fin['walker_error']:.2g}" if fin["walker_error"] else "–"],
            ["variance of E_L", f"{fin['variance']:.3g}"], ["acceptance", f"{fin['acceptance']:.3f}"],
            ["samples (final run)", fin["samples"]], ["blocking level", fin["blocking"]["level"]]]
    if data["exact_energy"]:
        rows.append(["exact energy", f"{data['exact_energy']['value']:g} ({data['exact_energy']['source']})"])
    ref = data.get("reference_energy")
    if ref:
        rows.append(["reference energy", f"{ref['value']:g} ({ref['source']}); "
                                         f"{100 * (fin['energy'] / ref['value'] - 1):+.3f} %"])
    rep.table(["quantity", "value"], rows)
    rep.text(f"ψ = F, the Gaussian–binary RBM marginal with {s['hidden']} hidden units, σ = "
             f"{data['wavefunction']['sigma']:.4g}" + (", times a Padé–Jastrow factor" if s["jastrow"] == "pade"
                                                       else "") +
             f"; {s['sampler']} sampling, {s['optimizer']} with learning rate {s['lr']:g}.", cls="note")
    it = data["iterations"]
    fig = Figure(figsize=(7, 3.6))
    ax = fig.subplots()
    ax.errorbar([r["iteration"] for r in it], [r["energy"] for r in it], yerr=[r["error"] for r in it],
                fmt="o-", ms=2, lw=0.8, capsize=1.5, label="⟨E_L⟩ ± blocking error")
    if data["exact_energy"]:
        ax.axhline(data["exact_energy"]["value"], color="k", ls="--", lw=0.8, label="exact")
    if ref:
        ax.axhline(ref["value"], color="k", ls=":", lw=0.8, label="diffusion Monte Carlo")
    ax.set(xlabel="iteration", ylabel="energy", title="Energy versus iteration")
    ax.legend()
    rep.section("Energy versus iteration").figure(fig, alt="energy versus iteration")
    rep.text(f"Error bars: blocking errors of {s['sweeps_per_iteration']} sweeps per iteration. Blocking "
             "underestimates the error of short series; the error from the spread of the independent walkers "
             "(vmc.json, iterations[].walker_error) stays right for them.", cls="note")
    rho = data["one_body_density"]
    fig = Figure(figsize=(7, 3.6))
    ax = fig.subplots()
    c = np.array(rho["centres"])
    ax.plot(c, rho["density"], "o-", ms=2, lw=0.8, label="VMC")
    ax.plot(c, noninteracting_density(c, s["particles"], s["dim"], s["omega"]), "k--", lw=0.8,
            label="non-interacting exact")
    ax.set(xlabel=rho["coordinate"], ylabel="ρ", title="One-body density")
    ax.legend()
    rep.section("One-body density").figure(fig, alt="one-body density")
    return rep
