"""What an exact sample costs: effectively independent samples per CPU-second at T_c, learned proposals
(`physgen sample --mcmc`) beside physgen's own Monte Carlo engines.

For every lattice size L (``--sizes``) at T = ``--temperature`` (default T_c):

* ``metropolis`` and ``wolff`` — ``physgen data ising --size L --temperatures T --samples N --thin 1
  --algorithm A`` (its default chains); the file records τ_int of E and |m| in sweeps, so the independent
  samples are N / (2 max τ_int) and the rate divides them by the command's CPU seconds;
* each family of ``--families`` — trained with its defaults on ``--train-samples`` Wolff lattices at T
  (``physgen train FAMILY --data F --out RUN``, no budget flag; its time is reported, not charged), then
  ``physgen sample RUN --n N --mcmc`` with its defaults; the file records the acceptance and τ_int of E and |m|
  in moves, so the independent samples are N / (2 max τ_int) per the command's CPU seconds;
* ``van (Hamiltonian) --mcmc`` — with ``--van-runs L=RUN,…``: a ``van`` trained on the Ising Hamiltonian alone at
  T (``physgen train van --hamiltonian ising --size L --temperatures T``, e.g. by ``van_targets.py``), then
  ``physgen sample RUN --n N --mcmc`` as for the families; the run's training time is reported from its
  summary, not charged.

τ_int is Sokal's automatic-window estimate for both (:mod:`physgen.stats.autocorr`); every command runs as a
subprocess with ``OMP_NUM_THREADS=--threads``; the load average is recorded before and after each.  A whole
command carries the interpreter's start-up (``import torch``, ~1.5 s), which at small n dominates a fast engine, so
every command also runs at ``--scale`` × n, and the rate past start-up is the extra independent samples over the
extra CPU seconds.  ``--reuse`` keeps a family's run already trained in ``OUT/runs`` (re-measuring on a quiet
machine without training again).

Usage::

    python benchmarks/exact_sampling.py --out /tmp/exact                       # L = 16, rbm vae flow
    python benchmarks/exact_sampling.py --out /tmp/exact --sizes 16,32 --families rbm
    python benchmarks/exact_sampling.py --out /tmp/exact --sizes 32 --families rbm --reuse
    python benchmarks/exact_sampling.py --out /tmp/exact --sizes 16,32 --families none --van-runs 16=R16,32=R32
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
    p.add_argument("--families", default=",".join(FAMILIES),
                   help="comma list of families trained on Wolff data (default rbm,vae,flow; none: no family)")
    p.add_argument("--n", type=int, default=4000, help="samples per measurement (default 4000)")
    p.add_argument("--train-samples", type=int, default=1000, help="Wolff lattices to train on (default 1000)")
    p.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of every command (default 1)")
    p.add_argument("--scale", type=int, default=4,
                   help="each command also runs at SCALE × n, for the rate past start-up (default 4)")
    p.add_argument("--reuse", action="store_true", help="keep a family's run already trained in OUT/runs")
    p.add_argument("--van-runs", default="", help="L=RUN,...: data-free van runs at T to sample with --mcmc")
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


def _timed(argv_for, attrs_tau, args, cwd: Path) -> dict:
    """Run ``argv_for(n, out)`` at n = ``args.n`` and at ``args.scale`` × n: the whole command's rate at n, and
    the rate past start-up from the difference of the two, ((scale − 1) n / 2τ) / (CPU(scale·n) − CPU(n)),
    τ read (``attrs_tau``) from the longer run's file."""
    load_before = _load()
    small = run_physgen(argv_for(args.n, "small.h5"), cwd=cwd, threads=args.threads)
    if small["error"]:
        return {"error": small["error"]}
    big_n = args.scale * args.n
    big = run_physgen(argv_for(big_n, "big.h5"), cwd=cwd, threads=args.threads)
    if big["error"]:
        return {"error": big["error"]}
    a_small, a_big = _h5_attrs(cwd / "small.h5"), _h5_attrs(cwd / "big.h5")
    tau_e, tau_m, extra = attrs_tau(a_small)
    n_eff = args.n / (2 * max(tau_e, tau_m))
    tau_big = max(attrs_tau(a_big)[:2])
    extra_cpu = big["cpu_s"] - small["cpu_s"]
    marginal = (big_n - args.n) / (2 * tau_big) / extra_cpu if extra_cpu > 0 else None   # None: within the noise
    return {"command": small["command"], "cpu_s": small["cpu_s"], "wall_s": small["wall_s"],
            "tau_int_energy": tau_e, "tau_int_abs_m": tau_m, "n_effective": n_eff, "per_cpu_s": n_eff / small["cpu_s"],
            "scaled_n": big_n, "scaled_cpu_s": big["cpu_s"], "tau_int_scaled": tau_big, "per_cpu_s_past_startup": marginal,
            "load": f"{load_before} -> {_load()}", **extra}


def engine_row(L: int, algorithm: str, args, cwd: Path) -> dict:
    def argv(n, out):
        return ["data", "ising", "--size", L, "--temperatures", args.temperature, "--samples", n, "--thin", 1,
                "--algorithm", algorithm, "--seed", 1, "--out", out, "--overwrite"]

    def tau(a):
        return _first(a["tau_int_energy"]), _first(a["tau_int_abs_m"]), {}

    return {"L": L, "sampler": algorithm, "unit": "sweeps", **_timed(argv, tau, args, cwd)}


def family_row(L: int, family: str, data: str, args, cwd: Path) -> dict:
    run = f"runs/{family}-{L}"
    row = {"L": L, "sampler": f"{family} --mcmc", "unit": "moves"}
    if args.reuse and (cwd / run / "summary.json").is_file():
        row["train_command"] = "(reused)"
    else:
        t = run_physgen(["train", family, "--data", data, "--out", run, "--no-progress", "--overwrite"],
                        cwd=cwd, threads=args.threads)
        if t["error"]:
            return {**row, "error": t["error"]}
        row.update(train_command=t["command"], train_cpu_s=t["cpu_s"])

    def argv(n, out):
        return ["sample", run, "--n", n, "--mcmc", "--out", out, "--overwrite"]

    def tau(a):
        return a["mcmc_tau_int_energy"], a["mcmc_tau_int_abs_magnetization"], {"acceptance": a["mcmc_acceptance"]}

    return {**row, **_timed(argv, tau, args, cwd)}


def van_row(L: int, run: str, args, cwd: Path) -> dict:
    """``physgen sample RUN --mcmc`` of a van trained on the Hamiltonian alone (its training time from the run)."""
    import json

    summary = json.loads((Path(run) / "summary.json").read_text())
    row = {"L": L, "sampler": "van (Hamiltonian) --mcmc", "unit": "moves", "train_command": f"(run {run})",
           "train_wall_s": summary.get("wall_time_s")}

    def argv(n, out):
        return ["sample", str(Path(run).resolve()), "--n", n, "--mcmc", "--out", out, "--overwrite"]

    def tau(a):
        return a["mcmc_tau_int_energy"], a["mcmc_tau_int_abs_magnetization"], {"acceptance": a["mcmc_acceptance"]}

    return {**row, **_timed(argv, tau, args, cwd)}


def _rate(value: float | None) -> str:
    return "— (no extra CPU time measured)" if value is None else f"{value:.1f}"


def markdown(board: dict) -> str:
    lines = [f"T = {board['temperature']:g}, {board['n']} samples per row, {board['threads']} thread(s); "
             f"{board['machine']}; {board['date']}; `{board['command']}`.", "",
             "| L | sampler | acceptance | τ_int E / \\|m\\| | independent samples | CPU s | per CPU-second "
             f"| per CPU-second past start-up ({board['scale']}× n) | load |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in board["rows"]:
        if "error" in r:
            lines.append(f"| {r['L']} | {r['sampler']} | failed: {r['error']} | | | | | | |")
            continue
        acc = f"{100 * r['acceptance']:.1f}%" if "acceptance" in r else "—"
        lines.append(f"| {r['L']} | {r['sampler']} | {acc} | {r['tau_int_energy']:.2f} / {r['tau_int_abs_m']:.2f} "
                     f"{r['unit']} | {r['n_effective']:.0f} | {r['cpu_s']:.1f} | {r['per_cpu_s']:.1f} "
                     f"| {_rate(r['per_cpu_s_past_startup'])} | {r['load']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    from physgen.atomic import write_json

    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cwd = args.out.resolve()
    board = {"temperature": args.temperature, "n": args.n, "scale": args.scale, "threads": args.threads,
             "machine": f"{_cpu_model()}, {os.cpu_count()} CPUs",
             "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
             "command": script_command("exact_sampling.py"), "rows": []}
    van_runs = dict(item.split("=", 1) for item in args.van_runs.split(",") if item)
    families = [f for f in args.families.split(",") if f and f != "none"]
    for L in (int(x) for x in args.sizes.split(",")):
        for algorithm in ENGINES:
            board["rows"].append(engine_row(L, algorithm, args, cwd))
        if str(L) in van_runs:
            board["rows"].append(van_row(L, van_runs[str(L)], args, cwd))
        if families:
            data = f"train-{L}.h5"
            run_physgen(["data", "ising", "--size", L, "--temperatures", args.temperature, "--samples",
                         args.train_samples, "--algorithm", "wolff", "--seed", 0, "--out", data, "--overwrite"],
                        cwd=cwd, threads=args.threads)
        for family in families:
            board["rows"].append(family_row(L, family, data, args, cwd))
        write_json(cwd / "results.json", board)
    return write_results(cwd, board, markdown(board))


if __name__ == "__main__":
    sys.exit(main())
