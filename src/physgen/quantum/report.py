"""The outputs of the quantum runs: ``params.safetensors`` (:mod:`physgen.quantum.params`), ``report.html``
and, last, the run's JSON summary (:func:`write_outputs`).

* ``physgen vmc`` writes ``vmc.json``; its report shows the energy versus iteration beside the exact (or
  diffusion Monte Carlo) energy and the one-body density of the final run
  (:func:`physgen.quantum.estimators.one_body_density`) beside the non-interacting ground state's ρ₀
  (:func:`physgen.quantum.exact.noninteracting_density`) for comparison.
* ``physgen nqs`` writes ``result.json``; its report shows the energy per iteration with its blocking error
  beside the exact ground-state energy, the relative error on a logarithmic scale, the variance and V-score,
  and the structure factor of the final state.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from physgen.atomic import write_json
from physgen.quantum.estimators import one_body_density
from physgen.quantum.exact import exact_trap_energy, noninteracting_density, reference_energy
from physgen.quantum.nqs import NQSResult
from physgen.quantum.params import save_ansatz, save_params
from physgen.report.html import Report


def write_outputs(out: Path, result) -> dict:
    """Write ``params.safetensors``, ``report.html`` and, last, ``vmc.json`` (a
    :class:`~physgen.quantum.vmc.VMCResult`) or ``result.json`` (a :class:`~physgen.quantum.nqs.NQSResult`)
    into ``out``; returns the JSON's contents."""
    if isinstance(result, NQSResult):
        data = nqs_summary(result)
        name, report, params = "result.json", nqs_report(data), lambda path: save_ansatz(path, result.ansatz)
    else:
        data = vmc_summary(result, one_body_density(result.final.positions))
        name, report, params = "vmc.json", vmc_report(data), lambda path: save_params(path, result.wavefunction)
    out.mkdir(parents=True, exist_ok=True)
    params(out / "params.safetensors")
    report.write(out / "report.html")
    write_json(out / name, data)
    return data


def _figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.6))
    return fig, fig.subplots()


def _energy_section(rep: Report, title: str, history: list[dict], lines) -> None:
    """Section ``title``: the energy per iteration with its blocking error and the horizontal ``lines``
    ``(value, linestyle, label)``."""
    fig, ax = _figure()
    ax.errorbar([r["iteration"] for r in history], [r["energy"] for r in history],
                yerr=[r["error"] or 0.0 for r in history], fmt="o-", ms=2, lw=0.8, capsize=1.5,
                label="⟨E_L⟩ ± blocking error")
    for value, ls, label in lines:
        ax.axhline(value, color="k", ls=ls, lw=0.8, label=label)
    ax.set(xlabel="iteration", ylabel="energy", title=title)
    ax.legend()
    rep.section(title).figure(fig, alt="energy versus iteration")


# -- physgen vmc ---------------------------------------------------------------------------------------------------
def vmc_summary(result, density: dict) -> dict:
    """The contents of ``vmc.json``."""
    cfg, final = result.config, result.final
    exact = exact_trap_energy(cfg)
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


def vmc_report(data: dict) -> Report:
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
    lines = [(data["exact_energy"]["value"], "--", "exact")] if data["exact_energy"] else []
    lines += [(ref["value"], ":", "diffusion Monte Carlo")] if ref else []
    _energy_section(rep, "Energy versus iteration", data["iterations"], lines)
    rep.text(f"Error bars: blocking errors of {s['sweeps_per_iteration']} sweeps per iteration. Blocking "
             "underestimates the error of short series; the error from the spread of the independent walkers "
             "(vmc.json, iterations[].walker_error) stays right for them.", cls="note")
    rho = data["one_body_density"]
    fig, ax = _figure()
    c = np.array(rho["centres"])
    ax.plot(c, rho["density"], "o-", ms=2, lw=0.8, label="VMC")
    ax.plot(c, noninteracting_density(c, s["particles"], s["dim"], s["omega"]), "k--", lw=0.8,
            label="non-interacting exact")
    ax.set(xlabel=rho["coordinate"], ylabel="ρ", title="One-body density")
    ax.legend()
    rep.section("One-body density").figure(fig, alt="one-body density")
    return rep


# -- physgen nqs ---------------------------------------------------------------------------------------------------
def _clean(value):
    """JSON-safe: non-finite floats become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def nqs_summary(result) -> dict:
    """The contents of ``result.json``."""
    return _clean({"settings": {**result.config.as_dict(), **result.extras},
                   "exact": result.exact, "final": result.final, "observables": result.observables,
                   "iterations": result.history, "seconds": result.seconds})


def _fmt(entry) -> str:
    return "–" if entry is None else f"{entry:.6g}"


def nqs_report(data: dict) -> Report:
    s, fin, exact = data["settings"], data["final"], data["exact"]
    shape = f"{s['size']}" if s["lattice"] == "chain" else f"{s['size']}×{s['size']}"
    rep = Report(f"Neural quantum state: {s['hamiltonian']} on a {shape} {s['lattice']} "
                 f"({'periodic' if s['pbc'] else 'open'})")
    rep.section("Result")
    rows = [["energy", f"{fin['energy']:.8g} ± {_fmt(fin['error'])} (blocking)"],
            ["error from the spread of the walkers", _fmt(fin["walker_error"])],
            ["variance of E_L", f"{fin['variance']:.4g}"], ["V-score N·Var/E²", _fmt(fin["vscore"])],
            ["acceptance", f"{fin['acceptance']:.3f}"], ["samples (final run)", fin["samples"]]]
    if exact:
        rows += [["exact energy", f"{exact['energy']:.10g} ({exact['method']})"],
                 ["relative error", f"{fin['relative_error']:.3g}"]]
    for name, entry in data["observables"].items():
        if name != "structure_factor":
            rows.append([name.replace("_", " "), f"{entry['value']:.6g} ± {_fmt(entry['error'])}"])
    rep.table(["quantity", "value"], rows)
    rep.text(f"Ansatz {s['ansatz']} (α = {s['alpha']:g}, {'complex' if s['complex_params'] else 'real'} "
             f"parameters, {s['parameters']} in all), {s['sampler']} Metropolis moves"
             f"{', Marshall sign rule' if s['marshall'] else ''}; {s['optimizer']} with learning rate "
             f"{s['lr'] if s['lr'] is not None else 'default'}, {s['samples']} samples per iteration.", cls="note")
    it = data["iterations"]
    _energy_section(rep, "Energy convergence", it, [(exact["energy"], "--", "exact")] if exact else [])
    x = [r["iteration"] for r in it]
    fig, ax = _figure()
    if exact:
        ax.semilogy(x, [max(r["relative_error"], 1e-12) for r in it], lw=0.8, label="|E − E₀|/|E₀|")
    ax.semilogy(x, [max(r["vscore"] or 1e-12, 1e-12) for r in it], lw=0.8, label="V-score")
    ax.set(xlabel="iteration", title="Relative error and V-score")
    ax.legend()
    rep.section("Relative error and V-score").figure(fig, alt="relative error versus iteration")
    sf = data["observables"]["structure_factor"]
    fig, ax = _figure()
    ax.errorbar(np.arange(len(sf["value"])), sf["value"], yerr=[e or 0.0 for e in sf["error"]], fmt="o", ms=3)
    ax.set(xlabel="momentum index (q = 2π n / L)", ylabel="S(q)", title="σᶻ structure factor")
    rep.section("Structure factor").figure(fig, alt="structure factor")
    return rep
