"""Ising engine speed against the strongest plain references we could write, idle and under CPU load.

physgen's engines — ``engine default``, what ``physgen data ising`` runs on the CPU: the multispin-coded
kernel (:mod:`physgen.data.ising.multispin`, 64 chains per machine word, its default threads; the torch
engine when numba is missing), the same kernel on one thread (``engine multispin 1 thread``), and the torch
engine :class:`~physgen.data.ising.CheckerboardMetropolis` (``engine torch``, 1 and all threads) — are timed
against

* **NumPy** (``benchmarks/numpy_ising.py``) — the lattice kept as its four (L/2)×(L/2) checkerboard
  sublattices, so each half sweep touches only the sites it updates; neighbour sums by slicing into a
  preallocated int8 buffer (no ``np.roll`` copies); one float32 uniform per site compared with a 5-entry
  acceptance table indexed by s_i Σ s_j (no ``exp`` per site); the flip as an int8 product.
  Single-threaded (NumPy does not parallelise element-wise work).
* **numba** — a compiled checkerboard loop, one spin per byte, chains in
  parallel (``prange``), a 24-bit uniform from an inline xorshift64* generator (one stream per chain)
  for every site (branch-free), compared with an integer table of round(e^{-βΔE} 2^24).

Every implementation first passes an exactness check: the mean energy per spin of its chains at
L = 16, T = 2.269 against Kaufman's exact finite-lattice value (:mod:`physgen.physics.kaufman`),
within 4 standard errors (errors from the integrated autocorrelation time).

Timings are interleaved ``--repeat`` times (medians), with the 1-minute load average printed beside
each figure.  ``--under-load`` then starts one busy-loop process per core (each stops by itself after
at most ``--load-seconds``; all are stopped when the measurement ends) and times the engines and the
NumPy reference again, each as a fraction of its own idle figure and of the idle default engine.

    python benchmarks/ising.py                       # L = 128, 64 chains, T_c, CPU
    python benchmarks/ising.py --under-load
    python benchmarks/ising.py --device cuda --chains 1024
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import conditions  # noqa: E402
from numpy_ising import NumpyCheckerboard  # noqa: E402

from physgen.data.ising import CheckerboardMetropolis, multispin  # noqa: E402
from physgen.physics import kaufman  # noqa: E402
from physgen.stats import mean_with_error  # noqa: E402

CHECK_L, CHECK_T, CHECK_CHAINS, CHECK_BURN, CHECK_SWEEPS = 16, 2.269, 32, 400, 1500


# ---------------------------------------------------------------------------------------- numba
def numba_kernels():
    """(sweep, energy) compiled with numba, or None when numba is not installed."""
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(parallel=True, cache=False)
    def sweep(s, table, n, state):
        C, L = s.shape[0], s.shape[1]
        prev, nxt = np.roll(np.arange(L), 1), np.roll(np.arange(L), -1)
        for c in numba.prange(C):
            x = state[c]                                  # xorshift64* stream of this chain
            for _ in range(n):
                for colour in range(2):
                    for i in range(L):
                        up, down = prev[i], nxt[i]
                        for j in range((i + colour) & 1, L, 2):
                            si = s[c, i, j]
                            prod = si * (s[c, up, j] + s[c, down, j] + s[c, i, prev[j]] + s[c, i, nxt[j]])
                            x ^= x >> np.uint64(12)
                            x ^= x << np.uint64(25)
                            x ^= x >> np.uint64(27)
                            flip = ((x * np.uint64(2685821657736338717)) >> np.uint64(40)) < table[(prod + 4) >> 1]
                            s[c, i, j] = si - 2 * si * flip             # branch-free
            state[c] = x

    @numba.njit(parallel=True, cache=False)
    def energy(s):
        C, L = s.shape[0], s.shape[1]
        out = np.empty(C)
        for c in numba.prange(C):
            b = 0
            for i in range(L):
                for j in range(L):
                    b += s[c, i, j] * (s[c, (i + 1) % L, j] + s[c, i, (j + 1) % L])
            out[c] = -b / (L * L)
        return out

    return numba, sweep, energy


class NumbaCheckerboard:
    """The numba kernel with the NumPy class's interface; ``threads`` numba threads."""

    def __init__(self, kernels, spins: np.ndarray, beta: float, seed: int, threads: int):
        self.numba, self._sweep, self._energy = kernels
        self.threads = threads
        self.s = spins.astype(np.int8).copy()
        p = np.minimum(1.0, np.exp(-2.0 * beta * np.arange(-4, 5, 2)))       # s_i Σ s_j = -4 … 4
        self.table = np.round(p * 2 ** 24).astype(np.uint64)                   # 24-bit uniforms
        self.state = np.random.default_rng(seed).integers(1, 2 ** 63, size=len(self.s), dtype=np.uint64)

    def sweep(self, n: int = 1) -> None:
        self.numba.set_num_threads(self.threads)
        self._sweep(self.s, self.table, n, self.state)

    def energy(self) -> np.ndarray:
        return self._energy(self.s)


# ---------------------------------------------------------------------------------------- engine
class Engine:
    """physgen's engine with the same interface; ``threads=None`` is the engine's default."""

    def __init__(self, spins: np.ndarray, beta: float, seed: int, device: str = "cpu", threads=None):
        kw = {} if threads is None else {"threads": threads}
        self.device = torch.device(device)
        self.eng = CheckerboardMetropolis(torch.from_numpy(spins).to(self.device), np.full(len(spins), beta),
                                          seed=seed, **kw)

    def sweep(self, n: int = 1) -> None:
        self.eng.sweep(n)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def energy(self) -> np.ndarray:
        return self.eng.energy_magnetization()[0].cpu().numpy()


class Multispin:
    """physgen's multispin-coded engine (what ``physgen data ising`` runs on the CPU) with the same interface;
    ``threads=None`` is its default (:func:`physgen.data.ising.multispin.kernel_threads`)."""

    def __init__(self, spins: np.ndarray, beta: float, seed: int, threads: int | None = None):
        self.eng = multispin.MultispinMetropolis(spins, np.full(len(spins), beta), seed=seed, threads=threads)

    def sweep(self, n: int = 1) -> None:
        self.eng.sweep(n)

    def energy(self) -> np.ndarray:
        return self.eng.energy_magnetization()[0]


# ---------------------------------------------------------------------------------------- measuring
def random_spins(chains: int, L: int, seed: int) -> np.ndarray:
    return (2 * np.random.default_rng(seed).integers(0, 2, size=(chains, L, L)) - 1).astype(np.int8)


def exactness(make, name: str) -> dict:
    """Mean energy per spin at L = 16, T = 2.269 against Kaufman; passes within 4 standard errors."""
    sim = make(random_spins(CHECK_CHAINS, CHECK_L, 1), 1.0 / CHECK_T, 7)
    sim.sweep(CHECK_BURN)
    series = np.empty((CHECK_SWEEPS, CHECK_CHAINS))
    for t in range(CHECK_SWEEPS):
        sim.sweep(1)
        series[t] = sim.energy()
    est = mean_with_error(series.T)
    exact = float(kaufman.energy_per_spin(CHECK_L, CHECK_T))
    z = (est.value - exact) / est.error
    ok = abs(z) < 4.0
    print(f"  exactness {name:<24} <e> = {est.value:.5f} ± {est.error:.5f}, Kaufman {exact:.5f} "
          f"({z:+.1f} sigma) {'ok' if ok else 'FAILED'}")
    return {"name": name, "mean": est.value, "error": est.error, "exact": exact, "z": z, "ok": ok}


def flips_per_s(make, L: int, chains: int, T: float, seconds: float, seed: int) -> tuple[float, float]:
    """(flips per wall second, flips per CPU second of this process).  Sweeps in calls of k = 1, 2, 4, …
    (k doubles while a call takes < seconds/20, so numba's parallel region spans many sweeps) until
    ``seconds`` have passed: bounded even when the machine stalls a run."""
    sim = make(random_spins(chains, L, seed), 1.0 / T, seed)
    sim.sweep(2)                                                 # warm-up (and numba compilation)
    n, k, t0, p0 = 0, 1, time.perf_counter(), time.process_time()
    while True:
        c0 = time.perf_counter()
        sim.sweep(k)
        n += k
        now = time.perf_counter()
        if now - t0 >= seconds:
            flips = chains * L * L * n
            return flips / (now - t0), flips / max(time.process_time() - p0, 1e-9)
        if now - c0 < seconds / 20:
            k *= 2


def measure(contenders: dict, args) -> dict:
    """Median flips/s (wall and per CPU second) of each contender over ``args.repeat`` interleaved rounds of
    ~``args.seconds`` each."""
    L, C, T = args.size, args.chains, args.temperature
    rates = {k: [] for k in contenders}
    loads = []
    for r in range(args.repeat):
        for k, make in contenders.items():
            rates[k].append(flips_per_s(make, L, C, T, args.seconds, args.seed + r))
        loads.append(os.getloadavg()[0])
    return {k: {"median": statistics.median(w for w, _ in v), "runs": [w for w, _ in v],
                "cpu_median": statistics.median(c for _, c in v)} for k, v in rates.items()} | {
        "_load": (min(loads), max(loads))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--chains", type=int, default=64)
    p.add_argument("--temperature", type=float, default=2.269)
    p.add_argument("--seconds", type=float, default=1.0, help="target seconds per timed run")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--under-load", action="store_true", help="also time with one busy loop per core")
    p.add_argument("--load-seconds", type=float, default=120.0, help="upper bound on the busy loops' life")
    p.add_argument("--no-check", action="store_true", help="skip the exactness checks")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args()

    ncores = conditions.cores()
    kernels = numba_kernels()
    cpu_multispin = args.device == "cpu" and multispin.AVAILABLE
    contenders = {
        "engine default": (lambda s, b, sd: Multispin(s, b, sd)) if cpu_multispin
        else (lambda s, b, sd: Engine(s, b, sd, args.device)),
        "engine torch 1 thread": lambda s, b, sd: Engine(s, b, sd, args.device, threads=1),
    }
    if cpu_multispin:
        contenders["engine multispin 1 thread"] = lambda s, b, sd: Multispin(s, b, sd, threads=1)
    if args.device == "cpu" and ncores > 1:
        contenders[f"engine torch {ncores} threads"] = lambda s, b, sd: Engine(s, b, sd, args.device,
                                                                               threads=ncores)
    contenders["numpy (1 thread)"] = lambda s, b, sd: NumpyCheckerboard(s, b, sd)
    if kernels is None:
        print("numba is not installed: the numba reference is skipped and the default engine is the torch engine")
    else:
        contenders[f"numba ({ncores} threads)"] = lambda s, b, sd: NumbaCheckerboard(kernels, s, b, sd, ncores)
        contenders["numba (1 thread)"] = lambda s, b, sd: NumbaCheckerboard(kernels, s, b, sd, 1)

    print(f"machine: {conditions.machine()}")
    words = -(-args.chains // multispin.BITS) * args.size ** 2
    default = f"multispin (numba, {multispin.kernel_threads(words)} threads)" if cpu_multispin else "torch"
    print(f"engine default: {default}")
    print(f"command: {' '.join(['python', 'benchmarks/ising.py', *sys.argv[1:]])}")
    checks = []
    if not args.no_check:
        print(f"exactness at L={CHECK_L}, T={CHECK_T}, {CHECK_CHAINS} chains, {CHECK_SWEEPS} sweeps "
              f"({conditions.load()}):")
        checks = [exactness(make, k) for k, make in contenders.items()
                  if k in ("engine default", "numpy (1 thread)") or k.startswith("numba (1")]
    res = measure(contenders, args)
    lo, hi = res.pop("_load")
    print(f"L={args.size}, {args.chains} chains, T={args.temperature}, h=0, device {args.device}, "
          f"median of {args.repeat} interleaved runs, load {lo:.2f}-{hi:.2f}/{ncores} cores")
    for k, v in res.items():
        print(f"  {k:<24} {v['median'] / 1e6:10.1f} M flips/s   runs {', '.join(f'{x / 1e6:.0f}' for x in v['runs'])}"
              f"   (per CPU second of the process: {v['cpu_median'] / 1e6:.1f} M)")
    ratios = {}
    pairs = [(eng, ref) for ref in res if ref.startswith(("numpy", "numba")) for eng in res if eng.startswith("engine")]
    pairs += [("engine default", ref) for ref in res if ref.startswith("engine torch")]
    for eng, ref in pairs:
        ratios[f"{eng} / {ref}"] = res[eng]["median"] / res[ref]["median"]
        cpu = res[eng]["cpu_median"] / res[ref]["cpu_median"]
        print(f"  ratio {eng} / {ref}: {ratios[f'{eng} / {ref}']:.2f}x   (per CPU second: {cpu:.2f}x)")
    out = {"machine": conditions.machine(), "size": args.size, "chains": args.chains, "T": args.temperature,
           "device": args.device, "load_idle": [lo, hi], "rates": {k: v["median"] for k, v in res.items()},
           "rates_per_cpu_second": {k: v["cpu_median"] for k, v in res.items()},
           "ratios": ratios, "checks": checks}
    if args.under_load:
        out["under_load"] = under_load(contenders, res, args)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    if checks and not all(c["ok"] for c in checks):
        sys.exit("an exactness check failed")


def under_load(contenders: dict, idle: dict, args) -> dict:
    """Time the engines and the NumPy reference with one busy loop per core."""
    keep = {k: v for k, v in contenders.items() if k.startswith("engine") or k == "numpy (1 thread)"}
    with conditions.busy_cores(max_seconds=args.load_seconds):
        loaded = measure(keep, args)
    lo, hi = loaded.pop("_load")
    base = idle["engine default"]["median"]
    print(f"under load: one busy-loop process per core ({conditions.cores()}), load {lo:.2f}-{hi:.2f}; "
          f"fraction of the idle default engine ({base / 1e6:.1f} M flips/s):")
    out = {}
    for k, v in loaded.items():
        frac = v["median"] / base
        own = v["median"] / idle[k]["median"]
        out[k] = {"flips_per_s": v["median"], "of_idle_engine_default": frac, "of_own_idle": own}
        print(f"  {k:<24} {v['median'] / 1e6:10.1f} M flips/s   {frac:6.2f} of idle default engine, "
              f"{own:.2f} of its own idle figure")
    return out | {"load": [lo, hi]}


if __name__ == "__main__":
    main()
