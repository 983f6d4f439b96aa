"""The data-free ``van`` judged against Kaufman's exact finite-lattice solution, as users run it.

Parts (``--parts``, default all):

* ``single`` — for each L of ``--sizes`` (default 16, 32): ``physgen train van --hamiltonian ising --size L
  --temperatures T`` (``--temperature``, default 2.272727, β = 0.44) with the family's defaults, then
  ``physgen thermo RUN --n 20000`` and ``physgen sample RUN --n 10000 --mcmc``: the variational F_q/N's
  relative error, the importance-sampled F/N and S/N against exact, the effective sample size and the
  ``--mcmc`` acceptance (``--single-flags`` adds flags to the training, printed beside the result); with
  ``--wolff N``, also ``physgen data ising --size L --temperatures T --samples N --algorithm wolff`` and the
  ``--mcmc`` samples' ⟨e⟩, ⟨|m|⟩ and C against it, each with its blocked error (``--reuse``: judge a run
  already in ``OUT/runs`` without training it again);
* ``range`` — one model of L = ``--range-size`` (default 16) over ``--t-range`` (default 1.5:3.5:9), trained
  with ``--range-flags`` added (printed beside the result), then ``physgen thermo`` at 21 temperatures of
  [1.5, 3.5] (how many F/N lie within 3 errors of exact) and at 41 temperatures of [2.1, 2.5] (the peak of the
  estimated C(T) against the exact finite-lattice peak).

Every command runs as a subprocess with ``OMP_NUM_THREADS=--threads`` (default 1); its wall and CPU time and
the load average are recorded.  Writes ``OUT/results.json`` and ``OUT/results.md``.

Usage::

    python benchmarks/van_targets.py --out /tmp/van
    python benchmarks/van_targets.py --out /tmp/van --parts single --sizes 16
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_runs import check, run_physgen, script_command, write_results  # noqa: E402
from exact_sampling import _cpu_model, _load  # noqa: E402

BETA_C_ISH = 2.272727   # T = 1/0.44


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="working directory (runs, results)")
    p.add_argument("--parts", default="single,range", help="comma list of single,range (default both)")
    p.add_argument("--sizes", default="16,32", help="L of the single-temperature part (default 16,32)")
    p.add_argument("--temperature", type=float, default=BETA_C_ISH,
                   help="T of the single-temperature part (default 2.272727, beta = 0.44)")
    p.add_argument("--wolff", type=int, default=0,
                   help="samples of a Wolff run at T to judge the --mcmc samples' e, |m| and C against (0: none)")
    p.add_argument("--mcmc-n", type=int, default=10000, help="--mcmc samples of each single-temperature run "
                   "(default 10000)")
    p.add_argument("--single-flags", default="", help="extra flags of the single-temperature trainings (printed "
                                                       "beside the result), e.g. '--steps 2000'")
    p.add_argument("--reuse", action="store_true",
                   help="keep a run already trained in OUT/runs (judge it again without training)")
    p.add_argument("--range-size", type=int, default=16, help="L of the range part (default 16)")
    p.add_argument("--t-range", default="1.5:3.5:9", help="the range model's temperatures (default 1.5:3.5:9)")
    p.add_argument("--range-flags", default="", help="extra flags of the range model's training, e.g. "
                                                      "'--set model.samples=64'")
    p.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of every command (default 1)")
    return p.parse_args(argv)


def _timed(argv: list, cwd: Path, threads: int) -> dict:
    load = _load()
    r = check(run_physgen(argv, cwd=cwd, threads=threads))
    return {"command": r["command"], "wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "load": f"{load} -> {_load()}"}


def _thermo(run: str, temps: list[float], n: int, out: str, cwd: Path, threads: int) -> tuple[dict, list]:
    t = _timed(["thermo", run, "--temperatures", ",".join(f"{x:.6g}" for x in temps), "--n", n, "--out", out,
                "--overwrite"], cwd, threads)
    return t, json.loads((cwd / out / "thermo.json").read_text())["temperatures"]


def _reused(run: Path) -> dict:
    """A run kept from before (``--reuse``): its training's wall time from its summary, as CPU time too."""
    wall = json.loads((run / "summary.json").read_text())["wall_time_s"]
    return {"command": "(reused)", "wall_s": wall, "cpu_s": wall, "load": "(reused; CPU s = wall s)"}


def single(L: int, args, cwd: Path) -> dict:
    run = f"runs/van-{L}"
    if args.reuse and (cwd / run / "summary.json").is_file():
        train = _reused(cwd / run)
    else:
        train = _timed(["train", "van", "--hamiltonian", "ising", "--size", L, "--temperatures", args.temperature,
                        *args.single_flags.split(), "--out", run, "--no-progress", "--overwrite"], cwd, args.threads)
    thermo, (rec,) = _thermo(run, [args.temperature], 20000, f"thermo-{L}", cwd, args.threads)
    mcmc = _timed(["sample", run, "--n", args.mcmc_n, "--mcmc", "--out", f"mcmc-{L}.h5", "--overwrite"], cwd, args.threads)
    from physgen.data import load

    attrs = load(cwd / f"mcmc-{L}.h5").attrs
    est, exact = rec["estimates"], rec["exact"]
    return {"L": L, "T": args.temperature, "flags": args.single_flags, "train": train, "thermo": thermo, "mcmc": mcmc,
            "f_exact": exact["free_energy"], "s_exact": exact["entropy"],
            "f_q": est["variational_free_energy"], "f": est["free_energy"], "s": est["entropy"],
            "rel_err_f_q": (est["variational_free_energy"]["value"] - exact["free_energy"]) / abs(exact["free_energy"]),
            "delta_f": est["free_energy"]["value"] - exact["free_energy"],
            "delta_s": est["entropy"]["value"] - exact["entropy"], "ess_fraction": rec["ess_fraction"],
            "acceptance": float(attrs["mcmc_acceptance"]), "n_effective": float(attrs["mcmc_n_effective"]),
            **(versus_wolff(L, cwd / f"mcmc-{L}.h5", args, cwd) if args.wolff else {})}


def observables(path: Path, T: float) -> dict:
    """⟨e⟩ and ⟨|m|⟩ per spin of a file's lattices in their order, each with its blocking error (Flyvbjerg &
    Petersen), and C/N = N β² Var(e) with the jackknife error over 20 contiguous blocks."""
    from physgen.data import load
    from physgen.stats.blocking import blocking

    s = load(path).samples.astype(np.float64)
    n_sites = s.shape[1] * s.shape[2]
    e = -((s * np.roll(s, -1, 1)).sum((1, 2)) + (s * np.roll(s, -1, 2)).sum((1, 2))) / n_sites
    m = np.abs(s.sum((1, 2))) / n_sites
    heat = lambda x: n_sites * np.var(x) / T ** 2  # noqa: E731
    blocks = np.array_split(np.arange(len(e)), 20)
    leave_out = np.array([heat(np.delete(e, b)) for b in blocks])
    c_err = float(np.sqrt((len(blocks) - 1) * np.var(leave_out)))
    out = {name: {"value": r.mean, "error": r.error} for name, r in (("e", blocking(e)), ("abs_m", blocking(m)))}
    return {**out, "C": {"value": float(heat(e)), "error": c_err}, "n": len(e)}


def load_file(path: Path):
    from physgen.data import load

    return load(path)


def versus_wolff(L: int, mcmc: Path, args, cwd: Path) -> dict:
    """The ``--mcmc`` samples' observables against a Wolff run of ``args.wolff`` lattices at T (with ``--reuse``, the
    one already in the working directory): z per observable."""
    reference = cwd / f"wolff-{L}.h5"
    if args.reuse and reference.is_file() and len(load_file(reference)) == args.wolff:
        wolff = {"command": "(reused)", "wall_s": None, "cpu_s": None, "load": ""}
    else:
        wolff = _timed(["data", "ising", "--size", L, "--temperatures", args.temperature, "--samples", args.wolff,
                        "--algorithm", "wolff", "--seed", 7, "--out", reference.name, "--overwrite"], cwd, args.threads)
    a, b = observables(mcmc, args.temperature), observables(cwd / f"wolff-{L}.h5", args.temperature)
    z = {k: (a[k]["value"] - b[k]["value"]) / float(np.hypot(a[k]["error"], b[k]["error"])) for k in ("e", "abs_m", "C")}
    return {"wolff": wolff, "mcmc_observables": a, "wolff_observables": b, "z": z}


def exact_peak(L: int, lo: float = 2.1, hi: float = 2.6) -> float:
    """T of the maximum of the exact C(T) of the periodic L×L lattice (Kaufman), to 10⁻⁴."""
    from scipy.optimize import minimize_scalar

    from physgen.physics.thermo import exact_values

    res = minimize_scalar(lambda t: -exact_values((L, L), t, 1.0, 0.0, True)["specific_heat"], bounds=(lo, hi),
                          method="bounded", options={"xatol": 1e-5})
    return float(res.x)


def range_part(args, cwd: Path) -> dict:
    L, run = args.range_size, f"runs/van-range-{args.range_size}"
    extra = args.range_flags.split()
    train = _reused(cwd / run) if args.reuse and (cwd / run / "summary.json").is_file() else \
        _timed(["train", "van", "--hamiltonian", "ising", "--size", L, "--t-range", args.t_range, *extra,
                "--out", run, "--no-progress", "--overwrite"], cwd, args.threads)
    wide, records = _thermo(run, list(np.linspace(1.5, 3.5, 21)), 10000, f"thermo-range-{L}", cwd, args.threads)
    z = [(r["estimates"]["free_energy"]["value"] - r["exact"]["free_energy"]) / r["estimates"]["free_energy"]["error"]
         for r in records]
    near, fine = _thermo(run, list(np.linspace(2.1, 2.5, 41)), 10000, f"thermo-peak-{L}", cwd, args.threads)
    c = np.array([r["estimates"]["specific_heat"]["value"] for r in fine])
    t_fine = np.array([r["temperature"] for r in fine])
    return {"L": L, "t_range": args.t_range, "flags": args.range_flags, "train": train, "thermo": [wide, near],
            "temperatures": [r["temperature"] for r in records], "z_f": z,
            "within_3": int(np.sum(np.abs(z) <= 3)), "n_temperatures": len(z),
            "ess_fraction": [r["ess_fraction"] for r in records],
            "c_peak_estimated": float(t_fine[int(np.argmax(c))]), "c_peak_exact": exact_peak(L),
            "c_max_estimated": float(c.max())}


def markdown(board: dict) -> str:
    lines = [f"{board['machine']}; {board['threads']} thread(s); {board['date']}; `{board['command']}`.", ""]
    if board.get("single"):
        lines += ["| L | flags | F_q/N rel. err. | F/N (IS) − exact | S/N (IS) − exact | ESS/M | `--mcmc` acceptance | "
                  "train wall / CPU s | load |", "|---|---|---|---|---|---|---|---|---|"]
        for r in board["single"]:
            lines.append(f"| {r['L']} | {r.get('flags') or '(defaults)'} | {r['rel_err_f_q']:.2e} | "
                         f"{r['delta_f']:+.1e} ± {r['f']['error']:.1e} | "
                         f"{r['delta_s']:+.1e} ± {r['s']['error']:.1e} | {100 * r['ess_fraction']:.1f}% | "
                         f"{100 * r['acceptance']:.1f}% | {r['train']['wall_s']:.0f} / {r['train']['cpu_s']:.0f} | "
                         f"{r['train']['load']} |")
        lines.append("")
        for r in board["single"]:
            if "z" in r:
                a, b = r["mcmc_observables"], r["wolff_observables"]
                cells = "; ".join(f"{k} {a[k]['value']:.5f} ± {a[k]['error']:.5f} against {b[k]['value']:.5f} ± "
                                  f"{b[k]['error']:.5f} (z {r['z'][k]:+.2f})" for k in ("e", "abs_m", "C"))
                lines += [f"L = {r['L']}, `--mcmc` ({a['n']}) against Wolff ({b['n']}): {cells}.", ""]
    if board.get("range"):
        r = board["range"]
        lines += [f"Range model: L = {r['L']}, `--t-range {r['t_range']}` {r['flags']} (train {r['train']['wall_s']:.0f} s "
                  f"wall, {r['train']['cpu_s']:.0f} s CPU, load {r['train']['load']}): F/N within 3 errors of exact at "
                  f"{r['within_3']} of {r['n_temperatures']} temperatures of [1.5, 3.5]; peak of the estimated C(T) at "
                  f"T = {r['c_peak_estimated']:.3f} (grid 0.01) against the exact {r['c_peak_exact']:.4f}.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    from physgen.atomic import write_json

    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cwd = args.out.resolve()
    parts = args.parts.split(",")
    board = {"machine": _cpu_model(), "threads": args.threads, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
             "command": script_command("van_targets.py")}
    if "single" in parts:
        board["single"] = []
        for L in (int(x) for x in args.sizes.split(",")):
            board["single"].append(single(L, args, cwd))
            write_json(cwd / "results.json", board)
    if "range" in parts:
        board["range"] = range_part(args, cwd)
    return write_results(cwd, board, markdown(board))


if __name__ == "__main__":
    sys.exit(main())
