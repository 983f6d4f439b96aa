"""Exact samples from learned models, judged: ``physgen sample --mcmc`` of rbm, vae and flow, each trained
with its defaults, against a long independent Wolff run, observable by observable.

At L = ``--size`` and each T of ``--temperatures`` (default 1.8, T_c, 3.0):

* the reference — ``physgen data ising --algorithm wolff --samples S --thin K`` with S·K =
  ``--reference-sweeps`` sweeps per temperature (seed 7); its errors are block-bootstrap errors with the
  τ_int the file records;
* the training data — ``--train-samples`` Wolff lattices per T (seed 0), the acceptance benchmark's recipe;
* per family: ``physgen train FAMILY --data F --condition temperature --out RUN`` (its defaults, no budget
  flag), then at each T ``physgen sample RUN --n N --mcmc --condition temperature=T`` (its errors from the
  chains' recorded τ_int) and the plain ``physgen sample`` beside it.

Each of ⟨e⟩, ⟨|m|⟩, C, χ and U₄ is judged by z = (sample − reference)/√(σ_s² + σ_r²) with the errors of
:func:`physgen.physics.observables.thermodynamics_report`: ``--mcmc`` passes where every |z| ≤ 3 (the target);
the plain samples' z show what the correction removed.  Writes ``OUT/results.json`` and ``OUT/results.md``.

Usage::

    python benchmarks/exact_targets.py --out /tmp/targets
    python benchmarks/exact_targets.py --out /tmp/targets --families rbm --reference-sweeps 20000   # quicker
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_runs import run_physgen, script_command, write_results  # noqa: E402
from exact_sampling import _cpu_model, _load  # noqa: E402

JUDGED = ("energy", "abs_magnetization", "specific_heat", "susceptibility", "binder")
LABELS = {"energy": "⟨e⟩", "abs_magnetization": "⟨|m|⟩", "specific_heat": "C", "susceptibility": "χ",
          "binder": "U₄"}
Z_TARGET = 3.0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="working directory (data, runs, results)")
    p.add_argument("--size", type=int, default=16, help="L (default 16)")
    p.add_argument("--temperatures", default="1.8,2.269185,3.0", help="comma list (default 1.8,2.269185,3.0)")
    p.add_argument("--families", default="rbm,vae,flow", help="comma list (default rbm,vae,flow)")
    p.add_argument("--reference-sweeps", type=int, default=100_000, help="Wolff sweeps per T (default 100000)")
    p.add_argument("--thin", type=int, default=10, help="reference thinning in sweeps (default 10)")
    p.add_argument("--train-samples", type=int, default=1000, help="training lattices per T (default 1000)")
    p.add_argument("--n", type=int, default=10_000, help="--mcmc samples per T (default 10000)")
    p.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of every command (default 1)")
    return p.parse_args(argv)


def _observables(path: Path, t: float) -> dict:
    """``{name: (value, error)}`` of the rows of ``path`` at ``t``, errors that respect the recorded chains
    (:func:`physgen.physics.observables.thermodynamics_by_temperature`)."""
    from physgen.data import load
    from physgen.physics.observables import thermodynamics_by_temperature

    by_t = thermodynamics_by_temperature(load(path), rng=0)
    est = by_t[min(by_t, key=lambda k: abs(k - t))]
    return {k: (float(est[k].value), float(est[k].error)) for k in JUDGED}


def _z(sample: dict, ref: dict) -> dict:
    return {k: (sample[k][0] - ref[k][0]) / float(np.hypot(sample[k][1], ref[k][1])) for k in JUDGED}


def family_rows(family: str, temps: list[float], refs: dict, args, cwd: Path) -> list[dict]:
    run = f"runs/{family}"
    t = run_physgen(["train", family, "--data", "train.h5", "--condition", "temperature", "--out", run,
                     "--no-progress", "--overwrite"], cwd=cwd, threads=args.threads, log=cwd / f"logs/{family}.txt")
    if t["error"]:
        return [{"family": family, "error": t["error"]}]
    rows = []
    for T in temps:
        row = {"family": family, "T": T, "train_command": t["command"], "train_cpu_s": t["cpu_s"]}
        for mode, extra in (("mcmc", ["--mcmc"]), ("plain", [])):
            out = f"{mode}-{family}-{T:g}.h5"
            load_before = _load()
            r = run_physgen(["sample", run, "--n", args.n, "--condition", f"temperature={T:g}", *extra,
                             "--out", out, "--overwrite"], cwd=cwd, threads=args.threads)
            if r["error"]:
                row[mode] = {"error": r["error"]}
                continue
            obs = _observables(cwd / out, T)
            row[mode] = {"command": r["command"], "cpu_s": r["cpu_s"], "load": f"{load_before} -> {_load()}",
                         "values": obs, "z": _z(obs, refs[T])}
            if mode == "mcmc":
                from physgen.data import load

                a = load(cwd / out).attrs
                row[mode].update(acceptance=float(a["mcmc_acceptance"]), n_effective=float(a["mcmc_n_effective"]))
        z = row.get("mcmc", {}).get("z")
        row["passes"] = None if z is None else bool(max(abs(v) for v in z.values()) <= Z_TARGET)
        rows.append(row)
    return rows


def reference_check(board: dict) -> list[str]:
    """Lines: the reference's ⟨e⟩ and C against the exact finite-lattice values (Kaufman), as z."""
    from physgen.physics.thermo import exact_values

    out = []
    for t, obs in board["reference"].items():
        exact = exact_values((board["size"], board["size"]), float(t), 1.0, 0.0, True)
        if exact is None:
            continue
        z = {k: (obs[k][0] - exact[e]) / obs[k][1] for k, e in (("energy", "energy"), ("specific_heat", "specific_heat"))}
        out.append(f"T = {float(t):g}: ⟨e⟩ {obs['energy'][0]:.4f} ± {obs['energy'][1]:.4f} (exact {exact['energy']:.4f}, "
                   f"z {z['energy']:+.1f}), C {obs['specific_heat'][0]:.3f} ± {obs['specific_heat'][1]:.3f} (exact "
                   f"{exact['specific_heat']:.3f}, z {z['specific_heat']:+.1f})")
    return out


def markdown(board: dict) -> str:
    head = " | ".join("z " + LABELS[k].replace("|", "\\|") for k in JUDGED)
    lines = [f"L = {board['size']}; reference: Wolff, {board['reference_sweeps']:,} sweeps per T; "
             f"{board['n']:,} samples per row; {board['threads']} thread(s); {board['machine']}; {board['date']}; "
             f"`{board['command']}`.", "",
             f"| family | T | sampler | acceptance | {head} | within 3σ |",
             "|---|---|---|---|" + "---|" * len(JUDGED) + "---|"]
    for r in board["rows"]:
        if "error" in r:
            lines.append(f"| {r['family']} | | training failed: {r['error']} |" + " |" * (len(JUDGED) + 2))
            continue
        for mode in ("mcmc", "plain"):
            m = r.get(mode, {})
            if "error" in m or not m:
                lines.append(f"| {r['family']} | {r['T']:g} | {mode} | failed: {m.get('error')} |"
                             + " |" * (len(JUDGED) + 1))
                continue
            acc = f"{100 * m['acceptance']:.1f}%" if "acceptance" in m else "—"
            zs = " | ".join(f"{m['z'][k]:+.1f}" for k in JUDGED)
            ok = "yes" if max(abs(v) for v in m["z"].values()) <= Z_TARGET else "no"
            lines.append(f"| {r['family']} | {r['T']:g} | {'--mcmc' if mode == 'mcmc' else 'plain'} | {acc} | {zs} | {ok} |")
    checked = reference_check(board)
    if checked:
        lines += ["", "The reference against Kaufman's exact finite-lattice values: " + "; ".join(checked) + "."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    from physgen.atomic import write_json

    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cwd = args.out.resolve()
    temps = [float(x) for x in args.temperatures.split(",")]
    tlist = ",".join(f"{t:g}" for t in temps)
    board = {"size": args.size, "temperatures": temps, "reference_sweeps": args.reference_sweeps, "n": args.n,
             "threads": args.threads, "machine": f"{_cpu_model()}",
             "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
             "command": script_command("exact_targets.py"), "rows": []}
    for name, seed, samples, thin in (("reference.h5", 7, args.reference_sweeps // args.thin, args.thin),
                                      ("train.h5", 0, args.train_samples, None)):
        extra = [] if thin is None else ["--thin", thin]
        r = run_physgen(["data", "ising", "--size", args.size, "--temperatures", tlist, "--samples", samples,
                         "--algorithm", "wolff", "--seed", seed, *extra, "--out", name, "--overwrite"],
                        cwd=cwd, threads=args.threads)
        if r["error"]:
            print(f"exact_targets: {name}: {r['error']}", file=sys.stderr)
            return 1
    refs = {T: _observables(cwd / "reference.h5", T) for T in temps}
    board["reference"] = {f"{T:g}": v for T, v in refs.items()}
    for family in args.families.split(","):
        board["rows"] += family_rows(family, temps, refs, args, cwd)
        write_json(cwd / "results.json", board)
    return write_results(cwd, board, markdown(board))


if __name__ == "__main__":
    sys.exit(main())
