"""Neural quantum states of spin chains against exact energies (``physgen.quantum``, as ``physgen nqs``).

1. transverse-field Ising chain (periodic) across the transition, h = 0.5, 1, 1.5: the RBM (α = 1) with
   stochastic reconfiguration against the free-fermion ground-state energy;
2. Heisenberg chain (periodic, Marshall sign rule): the four ansätze — mean field, Jastrow, RBM,
   translation-symmetric RBM — at equal iterations, their relative errors against exact diagonalization and
   their V-scores;
3. the σᶻ structure factor S(q) of the RBM's Heisenberg ground state, peaked at q = π.

    python examples/nqs_spin_models.py [--quick] [--out DIR] [--seed S]
"""
from __future__ import annotations

import numpy as np

from _common import Gallery, parser

NAME = "nqs_spin_models"


def run(seed, **kw):
    from physgen.quantum import NQSConfig, run_nqs

    return run_nqs(NQSConfig(**kw), np.random.default_rng(seed))


def brief(res) -> dict:
    f = res.final
    return {"energy": f["energy"], "error": f["error"], "exact": res.exact["energy"],
            "relative_error": f["relative_error"], "vscore": f["vscore"], "seconds": res.seconds}


def main(argv=None) -> dict:
    args = parser(NAME, __doc__).parse_args(argv)
    g = Gallery(NAME, args)
    from matplotlib.figure import Figure

    size, iters = (8, 60) if args.quick else (16, 300)
    common = dict(iterations=iters, samples=500 if args.quick else 1000)

    fields = [0.5, 1.0, 1.5]
    tfim = {h: brief(run(args.seed, hamiltonian="tfim", size=size, h=h, **common)) for h in fields}
    for h, b in tfim.items():
        g.record(f"tfim_h{h:g}", b, f"E = {b['energy']:.5f} ± {b['error']:.1g}, exact {b['exact']:.5f}, "
                                    f"rel. error {b['relative_error']:.1e}")
    fig = Figure(figsize=(5, 3.4), layout="constrained")
    ax = fig.subplots()
    hh = np.linspace(0.3, 1.7, 100)
    from physgen.quantum.exact import tfim_chain_energy

    ax.plot(hh, [tfim_chain_energy(size, x) / size for x in hh], "k-", lw=0.8, label="free fermions (exact)")
    ax.errorbar(fields, [tfim[h]["energy"] / size for h in fields], yerr=[tfim[h]["error"] / size for h in fields],
                fmt="o", label="RBM α = 1, SR")
    ax.set(xlabel="h / J", ylabel="E / N", title=f"TFIM chain, N = {size}, periodic")
    ax.legend()
    g.save(fig, "tfim_energy_vs_field")

    ansatze = {}
    for name in ("mean-field", "jastrow", "rbm", "rbm-symmetric"):
        res = run(args.seed, hamiltonian="heisenberg", size=size, ansatz=name, alpha=1, **common)
        ansatze[name] = brief(res)
        if name == "rbm":
            sf = res.observables["structure_factor"]
        g.record(f"heisenberg_{name}", ansatze[name], f"rel. error {ansatze[name]['relative_error']:.2e}, "
                                                      f"V-score {ansatze[name]['vscore']:.2e}")
    fig = Figure(figsize=(6, 3.4), layout="constrained")
    ax = fig.subplots()
    names = list(ansatze)
    ax.bar(np.arange(4) - 0.2, [max(ansatze[n]["relative_error"], 1e-7) for n in names], 0.4, label="relative error")
    ax.bar(np.arange(4) + 0.2, [max(ansatze[n]["vscore"], 1e-7) for n in names], 0.4, label="V-score")
    ax.set(yscale="log", xticks=np.arange(4), xticklabels=names, title=f"Heisenberg chain, N = {size}")
    ax.legend()
    g.save(fig, "ansatz_comparison")

    q = np.array(sf["q"])[:, 0]
    g.record("heisenberg_structure_factor_at_pi", sf["value"][int(np.argmin(np.abs(q - np.pi)))])
    fig = Figure(figsize=(5, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.errorbar(q, sf["value"], yerr=sf["error"], fmt="o-", ms=3)
    ax.set(xlabel="q", ylabel="S(q)", title="σᶻ structure factor, Heisenberg chain (RBM)")
    g.save(fig, "structure_factor")
    return g.finish()


if __name__ == "__main__":
    main()
