"""``result.json``, ``params.safetensors`` and the HTML report of a ``physgen nqs`` run.

The report shows the energy per iteration with its blocking error beside the exact ground-state energy, the
relative error on a logarithmic scale, the variance and V-score, and the structure factor of the final
state.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from physgen.atomic import write_bytes, write_json
from physgen.report.html import Report


def _clean(value):
    """JSON-safe: non-finite floats become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def summary(result) -> dict:
    """The contents of ``result.json``."""
    return _clean({"settings": {**result.config.as_dict(), **result.extras},
                   "exact": result.exact, "final": result.final, "observables": result.observables,
                   "iterations": result.history, "seconds": result.seconds})


def save_params(path: Path, ansatz) -> Path:
    """The ansatz's parameter arrays as float64 safetensors (complex ones as ``NAME.real``, ``NAME.imag``),
    with the class name in the metadata."""
    from safetensors.numpy import save

    tensors = {}
    for name, value in ansatz.tensors().items():
        if np.iscomplexobj(value):
            tensors[f"{name}.real"], tensors[f"{name}.imag"] = value.real, value.imag
        else:
            tensors[name] = value
    data = save({k: np.ascontiguousarray(v, dtype=np.float64) for k, v in tensors.items()},
                metadata={"ansatz": type(ansatz).__name__})
    return write_bytes(path, data)


def write_outputs(out: Path, result) -> dict:
    """Write ``params.safetensors``, ``report.html`` and, last, ``result.json`` into ``out``."""
    data = summary(result)
    out.mkdir(parents=True, exist_ok=True)
    save_params(out / "params.safetensors", result.ansatz)
    build_report(data).write(out / "report.html")
    write_json(out / "result.json", data)
    return data


def _fmt(entry) -> str:
    return "–" if entry is None else f"{entry:.6g}"


def build_report(data: dict) -> Report:
    from matplotlib.figure import Figure

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
    x = [r["iteration"] for r in it]
    fig = Figure(figsize=(7, 3.6))
    ax = fig.subplots()
    ax.errorbar(x, [r["energy"] for r in it], yerr=[r["error"] or 0.0 for r in it], fmt="o-", ms=2, lw=0.8,
                capsize=1.5, label="⟨E_L⟩ ± blocking error")
    if exact:
        ax.axhline(exact["energy"], color="k", ls="--", lw=0.8, label="exact")
    ax.set(xlabel="iteration", ylabel="energy", title="Energy convergence")
    ax.legend()
    rep.section("Energy convergence").figure(fig, alt="energy versus iteration")
    fig = Figure(figsize=(7, 3.6))
    ax = fig.subplots()
    if exact:
        ax.semilogy(x, [max(r["relative_error"], 1e-12) for r in it], lw=0.8, label="|E − E₀|/|E₀|")
    ax.semilogy(x, [max(r["vscore"] or 1e-12, 1e-12) for r in it], lw=0.8, label="V-score")
    ax.set(xlabel="iteration", title="Relative error and V-score")
    ax.legend()
    rep.section("Relative error and V-score").figure(fig, alt="relative error versus iteration")
    sf = data["observables"]["structure_factor"]
    fig = Figure(figsize=(7, 3.6))
    ax = fig.subplots()
    ax.errorbar(np.arange(len(sf["value"])), sf["value"], yerr=[e or 0.0 for e in sf["error"]], fmt="o", ms=3)
    ax.set(xlabel="momentum index (q = 2π n / L)", ylabel="S(q)", title="σᶻ structure factor")
    rep.section("Structure factor").figure(fig, alt="structure factor")
    return rep
