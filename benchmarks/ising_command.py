"""``physgen data ising`` as a whole command against the same job in plain NumPy, both as processes.

Each contender is a fresh process, timed from start to exit (interpreter start-up, imports, numba's cache
loading, the sweeps, the measurements and the HDF5 file included), ``--repeat`` times interleaved; medians.

* **physgen** — ``physgen data ising`` with its defaults (the multispin engine on every core this process may
  use, :func:`physgen.data.ising.multispin.kernel_threads`) and the sizes given here;
* **numpy** — ``benchmarks/numpy_ising.py``: the four-sublattice NumPy checkerboard of ``benchmarks/ising.py``
  doing the same job (same chains, sweeps, e and |m| after every recorded sweep, snapshots, an HDF5 file),
  single-threaded as NumPy's element-wise work is.

Rates are single-spin flip attempts (chains × L² × sweeps) per wall second of the whole process, and per CPU
second (user + system of the child).  Cases (``--case``, repeatable; default both):

* ``one``:  L = 128, T = 2.269, 64 chains, 2,000 sweeps (burn-in 1,990, thin 10, 64 samples);
* ``four``: L = 128, T = 1.5, 2.0, 2.269, 3.0, 64 chains each, 2,000 sweeps.

``--physgen PATH`` times another installation's ``physgen`` (for example one installed without the ``hep``
extra, whose packages bring numba extensions that numba imports before its first call).

``--pairs`` then starts two ``physgen`` commands of case ``one`` at once (a user running two jobs on the two
cores) and prints the wall time of each pair: with the defaults, with ``OMP_NUM_THREADS=1``, and with OpenMP's
own spin count (``GOMP_SPINCOUNT=300000``, which physgen's multispin module otherwise lowers to 1,000).

    python benchmarks/ising_command.py
    python benchmarks/ising_command.py --case one --repeat 5 --pairs
    python benchmarks/ising_command.py --case one --repeat 5 --physgen /path/to/base-env/bin/physgen
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import conditions  # noqa: E402

CASES = {"one": "2.269", "four": "1.5,2.0,2.269,3.0"}
SIZE, CHAINS, BURN_IN, THIN, SAMPLES = 128, 64, 1990, 10, 64


def commands(temperatures: str, out: Path, physgen: Path | None = None) -> dict[str, list[str]]:
    """The two contenders' command lines for one case (``physgen``: the executable; default this Python's)."""
    job = ["--size", str(SIZE), "--temperatures", temperatures, "--chains", str(CHAINS), "--samples", str(SAMPLES),
           "--burn-in", str(BURN_IN), "--thin", str(THIN)]
    physgen = physgen or Path(sys.executable).with_name("physgen")
    return {"physgen": [str(physgen), "data", "ising", *job, "--out", str(out / "physgen.h5"), "--overwrite"],
            "numpy": [sys.executable, str(HERE / "numpy_ising.py"), *job, "--out", str(out / "numpy.h5")]}


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", action="append", choices=sorted(CASES), help="default: both")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--pairs", action="store_true", help="also time two commands side by side (module docstring)")
    p.add_argument("--physgen", type=Path, default=None,
                   help="the physgen executable to time (default: this Python's), e.g. one of an environment "
                        "without the hep extra")
    args = p.parse_args()
    print(f"machine: {conditions.machine()}")
    print(f"command: {' '.join(['python', 'benchmarks/ising_command.py', *sys.argv[1:]])}")
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(f"OMP_NUM_THREADS {threads}; cores this process may use: {conditions.cores()}")
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.case or sorted(CASES, reverse=True):
            temps = CASES[case]
            cmds = commands(temps, Path(tmp), args.physgen)
            flips = len(temps.split(",")) * CHAINS * SIZE * SIZE * (BURN_IN + -(-SAMPLES // CHAINS) * THIN)
            runs = {k: [] for k in cmds}
            loads = []
            for _ in range(args.repeat):
                for k, cmd in cmds.items():
                    runs[k].append(timed(cmd))
                    loads.append(os.getloadavg()[0])
            print(f"case {case}: L={SIZE}, T={temps}, {CHAINS} chains per T, "
                  f"{BURN_IN + -(-SAMPLES // CHAINS) * THIN} sweeps; median of {args.repeat} interleaved runs, "
                  f"load {min(loads):.2f}-{max(loads):.2f}")
            wall = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
            cpu = {k: statistics.median(c for _, c in v) for k, v in runs.items()}
            for k, cmd in cmds.items():
                shown = " ".join(["physgen data ising" if k == "physgen" else "python benchmarks/numpy_ising.py",
                                  *(cmd[3:-3] if k == "physgen" else cmd[2:-2])])
                print(f"  {k:<8} {wall[k]:6.2f} s wall ({', '.join(f'{w:.2f}' for w, _ in runs[k])}), "
                      f"{cpu[k]:6.2f} CPU s; {flips / wall[k] / 1e6:7.1f} M flips/s, "
                      f"{flips / cpu[k] / 1e6:7.1f} per CPU s   [{shown}]")
            print(f"  ratio physgen / numpy: {wall['numpy'] / wall['physgen']:.2f}x wall, "
                  f"{cpu['numpy'] / cpu['physgen']:.2f}x per CPU second")
        if args.pairs:
            pairs(commands(CASES["one"], Path(tmp), args.physgen)["physgen"], args.repeat)


def pairs(cmd: list[str], repeat: int) -> None:
    """Two copies of ``cmd`` at once, under three settings of the environment; the slower copy's wall time."""
    settings = {"defaults": {}, "OMP_NUM_THREADS=1": {"OMP_NUM_THREADS": "1"},
                "GOMP_SPINCOUNT=300000": {"GOMP_SPINCOUNT": "300000"}}
    print(f"two case-one commands side by side, slower of the two, median of {repeat}:")
    times = {k: [] for k in settings}
    loads = []
    for _ in range(repeat):
        for k, extra in settings.items():
            env = os.environ | extra
            second = [*cmd[:-2], cmd[-2].replace("physgen.h5", "second.h5"), cmd[-1]]
            t0 = time.perf_counter()
            procs = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for c in (cmd, second)]
            ends = []
            for proc in procs:
                proc.wait()
                ends.append(time.perf_counter() - t0)
            times[k].append(max(ends))
            loads.append(os.getloadavg()[0])
    for k, v in times.items():
        print(f"  {k:<22} {statistics.median(v):6.2f} s   ({', '.join(f'{x:.2f}' for x in v)})")
    print(f"  load {min(loads):.2f}-{max(loads):.2f}")


if __name__ == "__main__":
    main()
