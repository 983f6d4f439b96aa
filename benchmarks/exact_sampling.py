"""What an exact sample costs: effectively independent samples per CPU-second at T_c, learned proposals
(`physgen sample --mcmc`) beside physgen's own Monte Carlo engines.

For every lattice size L (``--sizes``) at T = ``--temperature`` (default T_c):

* ``metropolis`` and ``wolff`` — ``physgen data ising --size L --temperatures T --samples N --thin 1
  --algorithm A`` (its default chains); the file records τ_int of E and |m| in sweeps, so the independent
  samples are N / (2 max τ_int) and the rate divides them by the command's CPU seconds;
* each family of ``--families`` — trained with its defaults on ``--train-samples`` Wolff lattices at T
  (``physgen train FAMILY --data F --out RUN``, no budget flag; its time is reported, not charged), then
  ``physgen sample RUN --n N --mcmc`` with its defaults; the file records the acceptance and τ_int of E and |m|
  in moves, so the independent samples are N / (2 max τ_int) per the command's CPU seconds.

τ_int is Sokal's automatic-window estimate for both (:mod:`physgen.stats.autocorr`); every command runs as a
subprocess with ``OMP_NUM_THREADS=--threads``; the load average is recorded before and after each.

Usage::

    python benchmarks/exact_sampling.py --out /tmp/exact                       # L = 16, rbm vae flow
    python benchmarks/exact_sampling.py --out /tmp/exact --sizes 16,32 --families rbm
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_runs import run_physgen, script_command, write_results  # noqa: E402

TC = 2.269185
ENGINES = ("metropolis", "wolff")
FAMILIES = ("rbm", "vae", "flow")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="working directory (data, runs, results.json)")
    p.add_argument("--sizes", default="16", help="comma list of L (default 16)")
    p.add_argument("--temperature", type=float, default=TC, help="T (default T_c = 2.269185)")
    p.add_argument("--families", default=",".join(FAMILIES), help="comma list of families (default rbm,vae,flow)")
    p.add_argument("--n", type=int, default=4000, help="samples per measurement (default 4000)")
    p.add_argument("--train-samples", type=int, default=1000, help="Wolff lattices to train on (default 1000)")
    p.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of every command (default 1)")
    return p.parse_args(argv)


def _h5_attrs(path: Path) -> dict:
    from physgen.data import load

    return load(path).attrs


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else the platform's machine type."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _first(v):
    return v[0] if isinstance(v, list) else v


def engine_row(L: int, algorithm: str, args, cwd: Path) -> dict:
    out = f"{algorithm}-{L}.h5"
    load_before = _load()
    r = run_physgen(["data", "ising", "--size", L, "--temperatures", args.temperature, "--samples", args.n,
                     "--thin", 1, "--algorithm", algorithm, "--seed", 1, "--out", out, "--overwrite"],
                    cwd=cwd, threads=args.threads)
    if r["error"]:
        return {"L": L, "sampler": algorithm, "error": r["error"]}
    a = _h5_attrs(cwd / out)
    tau = max(_first(a["tau_int_energy"]), _first(a["tau_int_abs_m"]))
    n_eff = args.n / (2 * tau)
    return {"L": L, "sampler": algorithm, "command": r["command"], "cpu_s": r["cpu_s"], "wall_s": r["wall_s"],
            "tau_int_energy": _first(a["tau_int_energy"]), "tau_int_abs_m": _first(a["tau_int_abs_m"]),
            "unit": "sweeps", "n_effective": n_eff, "per_cpu_s": n_eff / r["cpu_s"],
            "load": f"{load_before} -> {_load()}"}


def family_row(L: int, family: str, data: str, args, cwd: Path) -> dict:
    run = f"runs/{family}-{L}"
    t = run_physgen(["train", family, "--data", data, "--out", run, "--no-progress", "--overwrite"],
                    cwd=cwd, threads=args.threads)
    if t["error"]:
        return {"L": L, "sampler": f"{family} --mcmc", "error": t["error"]}
    out = f"mcmc-{family}-{L}.h5"
    load_before = _load()
    r = run_physgen(["sample", run, "--n", args.n, "--mcmc", "--out", out, "--overwrite"], cwd=cwd,
                    threads=args.threads)
    if r["error"]:
        return {"L": L, "sampler": f"{family} --mcmc", "error": r["error"]}
    a = _h5_attrs(cwd / out)
    return {"L": L, "sampler": f"{family} --mcmc", "command": r["command"], "train_command": t["command"],
            "train_cpu_s": t["cpu_s"], "cpu_s": r["cpu_s"], "wall_s": r["wall_s"],
            "acceptance": a["mcmc_acceptance"], "tau_int_energy": a["mcmc_tau_int_energy"],
            "tau_int_abs_m": a["mcmc_tau_int_abs_magnetization"], "unit": "moves",
            "n_effective": a["mcmc_n_effective"], "per_cpu_s": a["mcmc_n_effective"] / r["cpu_s"],
            "load": f"{load_before} -> {_load()}"}


def markdown(board: dict) -> str:
    lines = [f"T = {board['temperature']:g}, {board['n']} samples per row, {board['threads']} thread(s); "
             f"{board['machine']}; {board['date']}; `{board['command']}`.", "",
             "| L | sampler | acceptance | τ_int E / \\|m\\| | independent samples | CPU s | per CPU-second | load |",
             "|---|---|---|---|---|---|---|---|"]
    for r in board["rows"]:
        if "error" in r:
            lines.append(f"| {r['L']} | {r['sampler']} | failed: {r['error']} | | | | | |")
            continue
        acc = f"{100 * r['acceptance']:.1f}%" if "acceptance" in r else "—"
        lines.append(f"| {r['L']} | {r['sampler']} | {acc} | {r['tau_int_energy']:.2f} / {r['tau_int_abs_m']:.2f} "
                     f"{r['unit']} | {r['n_effective']:.0f} | {r['cpu_s']:.1f} | {r['per_cpu_s']:.1f} | {r['load']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    from physgen.atomic import write_json

    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cwd = args.out.resolve()
    board = {"temperature": args.temperature, "n": args.n, "threads": args.threads,
             "machine": f"{_cpu_model()}, {os.cpu_count()} CPUs",
             "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
             "command": script_command("exact_sampling.py"), "rows": []}
    for L in (int(x) for x in args.sizes.split(",")):
        for algorithm in ENGINES:
            board["rows"].append(engine_row(L, algorithm, args, cwd))
        data = f"train-{L}.h5"
        run_physgen(["data", "ising", "--size", L, "--temperatures", args.temperature, "--samples",
                     args.train_samples, "--algorithm", "wolff", "--seed", 0, "--out", data, "--overwrite"],
                    cwd=cwd, threads=args.threads)
        for family in args.families.split(","):
            board["rows"].append(family_row(L, family, data, args, cwd))
        write_json(cwd / "results.json", board)
    return write_results(cwd, board, markdown(board))


if __name__ == "__main__":
    sys.exit(main())
