"""RBM benchmarks and recorded runs.  Run one experiment per call:

    python benchmarks/rbm.py speed  [--epochs 320]    # throughput vs scikit-learn BernoulliRBM + trainer overhead
    python benchmarks/rbm.py kl     [--hidden 16 ...]  # exact KL on 4×4 Ising at T = 2.5 (PCD/flip/PT/exact)
    python benchmarks/rbm.py ising  [--hidden 64]      # L = 8 thermodynamics at six temperatures
    python benchmarks/rbm.py digits                    # course reproduction: 500 hidden, CD-1, lr 0.1, batch 64
    python benchmarks/rbm.py chains --run RUN --reference MC.h5   # model or sampler? Gibbs from three starts

Each prints a Markdown table (docs/benchmarks.md, docs/rbm.md).  Timings are wall
clock on whatever machine runs it; ratios are measured in the same run.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from physgen.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
PHYSGEN = [sys.executable, "-m", "physgen"]


# --- speed -------------------------------------------------------------------------------------------
def upsampled_digits(factor: int = 3) -> np.ndarray:
    """Binarized sklearn digits, each pixel repeated ``factor``×``factor``: (1797, 64·factor²) float in {0,1}."""
    from sklearn.datasets import load_digits
    img = load_digits().images / 16.0 > 0.5
    big = img.repeat(factor, 1).repeat(factor, 2)
    return big.reshape(len(big), -1).astype(np.float64)


def sklearn_rbm(x: np.ndarray, epochs: int, seed: int) -> tuple[float, float]:
    """scikit-learn's BernoulliRBM (PCD-1, in ``x``'s dtype: float64 as ``load_digits`` gives it, or float32):
    (samples/s, pseudo-likelihood by its score_samples)."""
    from sklearn.neural_network import BernoulliRBM
    rbm = BernoulliRBM(n_components=500, learning_rate=0.1, batch_size=64, n_iter=epochs, random_state=seed)
    t = time.perf_counter()
    rbm.fit(x)
    dt = time.perf_counter() - t
    return len(x) * epochs / dt, float(rbm.score_samples(x).mean())


LOG_EVERY = TrainConfig.log_every  # the trainer asks closed-form models for the loss value every LOG_EVERY steps
RBM_SETS = ["model.n_hidden=500", "model.k=1", "model.n_chains=64", "model.monitor_every=1000000000",
            "train.lr=0.1", "train.momentum=0.0", "train.schedule=constant", "train.progress=false",
            "data.val_fraction=0.0"]  # scikit-learn's settings: SGD lr 0.1, batch 64, 64 persistent chains


def pseudo_likelihood(model, x: np.ndarray) -> float:
    from physgen.models.rbm import pseudo_log_likelihood
    data = torch.tensor(x, dtype=torch.float32)
    return float(pseudo_log_likelihood(model.energy(0).detach(), data, torch.Generator().manual_seed(0)).mean())


def physgen_rbm_loop(x: np.ndarray, epochs: int, seed: int, method: str = "pcd",
                     precision: str = "medium") -> tuple[float, float]:
    """A hand-written loop over the rbm's step, no trainer: ``model.gradients`` (the closed-form CD
    gradient the trainer uses) + SGD (lr 0.1, ``torch.optim.SGD`` fused, as the trainer builds it), batches gathered with
    ``index_select`` as the trainer does (2x faster than ``data[rows]`` here, ~20 us per update, so the
    overhead measured is the trainer's bookkeeping alone): (samples/s, PL)."""
    from physgen.models.base import DataSpec
    from physgen.models.rbm import RBM, RBMConfig
    torch.manual_seed(seed)
    model = RBM(RBMConfig(n_hidden=500, method=method, k=1, n_chains=64, monitor_every=10 ** 9),
                DataSpec("binary", (x.shape[1],)))
    data, g = torch.tensor(x, dtype=torch.float32), torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, fused=True)
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(precision)  # as the trainer does for the rbm's defaults
    t, step = time.perf_counter(), 0
    for _ in range(epochs):
        perm = torch.randperm(len(data), generator=g)
        for i in range(0, len(data), 64):
            step += 1
            opt.zero_grad(set_to_none=True)
            batch = {"x": data.index_select(0, perm[i:i + 64])}
            loss, _ = model.gradients(batch, generator=g)
            opt.step()
            if step % LOG_EVERY == 0:
                float(loss)  # the trainer logs it
    dt = time.perf_counter() - t
    torch.set_float32_matmul_precision(before)
    return len(x) * epochs / dt, pseudo_likelihood(model, x)


def handwritten_cd1(x: np.ndarray, epochs: int, seed: int) -> float:
    """The course's hand-written PyTorch CD-1 loop (explicit outer-product updates, float32), samples/s."""
    g = torch.Generator().manual_seed(seed)
    data = torch.tensor(x, dtype=torch.float32)
    W = 0.01 * torch.randn(data.shape[1], 500, generator=g)
    a, b = torch.zeros(data.shape[1]), torch.zeros(500)
    t = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(data), generator=g)
        for i in range(0, len(data), 64):
            v0 = data[perm[i:i + 64]]
            ph0 = torch.sigmoid(v0 @ W + b)
            h0 = (torch.rand(ph0.shape, generator=g) < ph0).float()
            v1 = (torch.rand(v0.shape, generator=g) < torch.sigmoid(h0 @ W.T + a)).float()
            ph1 = torch.sigmoid(v1 @ W + b)
            W += 0.1 * (v0.T @ ph0 - v1.T @ ph1) / len(v0)
            a += 0.1 * (v0 - v1).mean(0)
            b += 0.1 * (ph0 - ph1).mean(0)
    return len(x) * epochs / (time.perf_counter() - t)


def handwritten_pcd1_bf16(x: np.ndarray, epochs: int, seed: int) -> float:
    """The fastest PyTorch PCD-1 loop we know for this CPU: hand-written, bfloat16 operands (W cast once
    per update), the same three products and draws as ``physgen train rbm``, the loss value on every
    ``LOG_EVERY``-th update as the trainer logs it, direct SGD updates and no autograd/optimizer/trainer;
    samples/s."""
    bf = torch.bfloat16
    g = torch.Generator().manual_seed(seed)
    data = torch.tensor(x, dtype=torch.float32)
    W = 0.01 * torch.randn(data.shape[1], 500, generator=g)
    a, b = torch.zeros(data.shape[1]), torch.zeros(500)
    h = torch.rand(64, 500, generator=g).round_()
    t, step = time.perf_counter(), 0
    for _ in range(epochs):
        perm = torch.randperm(len(data), generator=g)
        for i in range(0, len(data), 64):
            step += 1
            v0 = data.index_select(0, perm[i:i + 64])
            Wc = W.to(bf)
            vn = torch.rand(64, data.shape[1], generator=g).sub_(torch.sigmoid((h.to(bf) @ Wc.mT).float() + a)).lt_(0)
            v = torch.cat([v0, vn])
            xl = (v.to(bf) @ Wc).float() + b
            p = torch.sigmoid(xl)
            h = torch.rand(64, 500, generator=g).sub_(p[len(v0):]).lt_(0)
            w = torch.full((len(v),), 1.0 / 64)
            w[:len(v0)] = -1.0 / len(v0)
            dW = (v.to(bf).mT @ (p * w[:, None]).to(bf)).float()
            if step % LOG_EVERY == 0:
                float(w @ (v @ a) + (w @ torch.nn.functional.softplus(xl)).sum())  # the logged loss value
            W.sub_(dW, alpha=0.1)
            a.sub_(w @ v, alpha=0.1)
            b.sub_(w @ p, alpha=0.1)
    return len(x) * epochs / (time.perf_counter() - t)


USER_SETS = ["model.n_hidden=500", "train.batch_size=64"]  # the problem size of the scikit-learn rows, nothing else


def trainer_rbm(x: np.ndarray, epochs: int, seed: int, method: str = "pcd", precision: str | None = None,
                extra: tuple[str, ...] = (), sets: list[str] | None = None) -> tuple[float, float]:
    """``physgen train rbm`` (trainer, logging, checkpoints) with ``sets`` (default: scikit-learn's settings,
    ``RBM_SETS``, plus ``model.method``): (samples/s over the trainer's wall time
    ``summary.json wall_time_s``, PL)."""
    from physgen.data import Dataset, save
    from physgen.training import load_run
    from physgen.training.launch import train
    if sets is None:
        sets = RBM_SETS + [f"model.method={method}", *extra]
    sets = sets + ([f"train.matmul_precision={precision}"] if precision else [])
    with tempfile.TemporaryDirectory() as tmp:
        save(Dataset(x.astype(np.uint8), "binary", attrs={"source": "benchmark"}), f"{tmp}/d.h5")
        summary = train("rbm", data=f"{tmp}/d.h5", out=f"{tmp}/run", epochs=epochs, seed=seed, sets=sets)
        pl = pseudo_likelihood(load_run(f"{tmp}/run", device="cpu").model, x)
    return len(x) * epochs / float(summary["wall_time_s"]), pl   # data.val_fraction is 0 by default


def cmd_speed(args) -> None:
    """Throughput: best of ``--repeats`` interleaved runs of each implementation (the machine's noise only
    slows runs down, so the fastest repeat is the cleanest estimate; timeit's convention).  Two ratios,
    each printed with its conditions: at equal precision and settings (float32 products on both sides),
    and physgen as a user runs it (``physgen train rbm`` defaults, only the problem size set) against
    scikit-learn as a user runs it (float64 input).  Trainer overhead: ``--overhead-repeats`` back-to-back
    pairs (loop, trainer; the order alternates) of ``--overhead-epochs`` each, and the median over pairs."""
    from threadpoolctl import threadpool_limits
    torch.set_num_threads(args.threads)
    x = upsampled_digits(3)
    best: dict[str, float] = {}
    pls: dict[str, float] = {}
    loads = []
    for _ in range(args.repeats):
        with threadpool_limits(args.threads):  # scikit-learn's BLAS gets the same number of threads
            runs = {"sk": sklearn_rbm(x, args.epochs, 0), "sk32": sklearn_rbm(x.astype(np.float32), args.epochs, 0)}
        runs["pg"] = trainer_rbm(x, args.epochs, 0)
        runs["pg_fp32"] = trainer_rbm(x, args.epochs, 0, precision="highest")
        runs["pg_user"] = trainer_rbm(x, args.epochs, 0, sets=USER_SETS)
        if args.loops:
            runs["loop_pcd"] = physgen_rbm_loop(x, args.epochs, 0, "pcd")
            runs["hw"] = (handwritten_cd1(x, args.epochs, 0), float("nan"))
            runs["hw_bf16"] = (handwritten_pcd1_bf16(x, args.epochs, 0), float("nan"))
        best = {k: max(v[0], best.get(k, 0.0)) for k, v in runs.items()}
        pls = {k: v[1] for k, v in runs.items()}
        loads.append(os.getloadavg()[0])
    overhead, pair = trainer_overhead(x, args.overhead_epochs, args.overhead_repeats)
    best.update({k: max(v[0] for v in vs) for k, vs in pair.items() if vs})
    pls.update({k: vs[-1][1] for k, vs in pair.items() if vs})
    loads.append(os.getloadavg()[0])
    load = f"load average {min(loads):.2f}-{max(loads):.2f} on {os.cpu_count()} cores"
    print(f"threads={args.threads} data={x.shape} epochs={args.epochs} best of {args.repeats} interleaved "
          f"repeats; {load}")
    sk_sets = "PCD-1, 500 hidden, batch 64, lr 0.1, 64 persistent chains, plain SGD"
    print("| implementation | settings | samples/s | pseudo-likelihood |\n|---|---|---|---|")
    rows = [("sk", "scikit-learn BernoulliRBM, float64 input (its default)", sk_sets),
            ("sk32", "scikit-learn BernoulliRBM, float32 input", sk_sets),
            ("pg_fp32", "physgen train rbm, float32 products (train.matmul_precision=highest)",
             f"{sk_sets}: --set {' '.join(RBM_SETS)}"),
            ("pg", "physgen train rbm, bfloat16 products (its default matmul_precision=medium)",
             f"{sk_sets}: --set {' '.join(RBM_SETS)}"),
            ("pg_user", "physgen train rbm, its defaults", f"--set {' '.join(USER_SETS)} (nothing else)"),
            ("hw", "hand-written PyTorch CD-1, explicit updates, float32", "CD-1, as above"),
            ("hw_bf16", "hand-written PyTorch PCD-1, bfloat16 products, no autograd/optimizer/trainer", "as above"),
            ("loop_pcd", "hand-written loop over the rbm's PCD-1 step (model.gradients + SGD), no trainer", "as above"),
            ("loop", f"hand-written loop over the rbm's CD-1 step ({args.overhead_epochs} epochs, best pair)", "CD-1"),
            ("trainer", f"physgen train rbm, CD-1, same model ({args.overhead_epochs} epochs, best pair)", "CD-1")]
    for key, label, how in rows:
        if key in best:   # (--repeats 0: the overhead pairs only)
            print(f"| {label} | {how} | {best[key]:.0f} | {'' if pls[key] != pls[key] else f'{pls[key]:.2f}'} |")
    if "sk" in best:
        print(f"\nequal precision: physgen float32 (matmul_precision=highest) / scikit-learn float32 input = "
              f"{best['pg_fp32'] / best['sk32']:.2f}x  [{sk_sets}; {args.threads} thread(s); {load}]")
        print(f"as users run them: physgen train rbm defaults (bfloat16 products; --set {' '.join(USER_SETS)}) / "
              f"scikit-learn default float64 input = {best['pg_user'] / best['sk']:.2f}x  "
              f"[physgen: its own lr, momentum, schedule, chains and monitoring; {args.threads} thread(s); {load}]")
        print(f"same settings, physgen's default precision: bfloat16 products / scikit-learn float32 = "
              f"{best['pg'] / best['sk32']:.2f}x, / scikit-learn float64 = {best['pg'] / best['sk']:.2f}x  "
              f"[{sk_sets}; {args.threads} thread(s); {load}]")
    if overhead:
        lo, hi = median_interval(overhead)
        print(f"trainer overhead vs the hand-written loop of the same model: median {100 * np.median(overhead):+.2f}% "
              f"(90% bootstrap interval {100 * lo:+.1f} … {100 * hi:+.1f}%) over {len(overhead)} pairs "
              f"({', '.join(f'{100 * o:+.1f}' for o in overhead)}%)  [~1 ms steps; {load}]")


def median_interval(values: list[float], level: float = 0.9) -> tuple[float, float]:
    """Percentile-bootstrap interval of the median of ``values`` (this VM's pair-to-pair noise is ±2–3%, so a
    median of a few pairs moves by about a percent between runs; the interval says how far)."""
    if len(values) < 3:
        return float("nan"), float("nan")
    from scipy.stats import bootstrap
    ci = bootstrap((np.asarray(values),), np.median, confidence_level=level, method="percentile",
                   n_resamples=9999, random_state=0).confidence_interval
    return float(ci.low), float(ci.high)


def trainer_overhead(x: np.ndarray, epochs: int, pairs: int) -> tuple[list[float], dict[str, list]]:
    """``pairs`` back-to-back runs of the hand-written CD-1 loop and ``physgen train`` over the same model;
    returns each pair's overhead ``t_trainer / t_loop − 1`` and the runs' (samples/s, PL) by name."""
    runs: dict[str, list] = {"loop": [], "trainer": []}
    overhead = []
    for i in range(pairs):
        order = ("loop", "trainer") if i % 2 == 0 else ("trainer", "loop")
        got = {name: (physgen_rbm_loop if name == "loop" else trainer_rbm)(x, epochs, 0, "cd") for name in order}
        for name, r in got.items():
            runs[name].append(r)
        overhead.append(got["loop"][0] / got["trainer"][0] - 1)
    return overhead, runs


# --- exact KL on 4x4 Ising -----------------------------------------------------------------------------
def cmd_kl(args) -> None:
    from physgen.data import Dataset, save
    from physgen.models.rbm.partition import exact_log_prob_all
    from physgen.physics.exact import ExactIsing
    from physgen.training import load_run
    ising = ExactIsing(4, 2.5)
    rng = np.random.default_rng(0)
    x = ising.states[ising.sample_indices(20000, rng)]
    print("| hidden | method | flip | epochs | KL(p‖q) nats | time s |\n|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        save(Dataset(x, "spins", attrs={"source": "ExactIsing(4, 2.5)"}), f"{tmp}/d.h5")
        for spec in args.variants:
            hidden, method, flip, epochs = spec.split(":")
            out = f"{tmp}/run-{spec.replace(':', '-')}"
            t = time.perf_counter()
            subprocess.run(PHYSGEN + ["train", "rbm", "--data", f"{tmp}/d.h5", "--out", out, "--epochs", epochs,
                                      "--set", "model.filters=0", "--set", f"model.n_hidden={hidden}",
                                      "--set", f"model.method={method}",
                                      "--set", f"model.flip={flip}", "--set", "train.progress=false",
                                      *[a for kv in args.set for a in ("--set", kv)]], check=True,
                           stdout=subprocess.DEVNULL)
            q = exact_log_prob_all(load_run(out).model.energy(0).detach()).numpy()
            kl = float(np.sum(ising.probabilities * (np.log(ising.probabilities) - q)))
            print(f"| {hidden} | {method} | {flip} | {epochs} | {kl:.4f} | {time.perf_counter() - t:.0f} |", flush=True)


# --- L = 8 Ising thermodynamics ---------------------------------------------------------------------------
TEMPS = (1.5, 2.0, 2.27, 2.5, 3.0, 3.5)


def cmd_ising(args) -> None:
    from physgen.data import load
    from physgen.physics.observables import thermodynamics
    with tempfile.TemporaryDirectory() as tmp:
        data, run, samples = f"{tmp}/ising.h5", f"{tmp}/run", f"{tmp}/s.h5"
        temps = tuple(float(t) for t in args.temperatures.split(","))
        subprocess.run(PHYSGEN + ["data", "ising", "--size", "8", "--temperatures", ",".join(map(str, temps)),
                                  "--samples", str(args.samples), "--algorithm", "wolff", "--thin", "5",
                                  "--seed", "0", "--out", data], check=True, stdout=subprocess.DEVNULL)
        t = time.perf_counter()
        subprocess.run(PHYSGEN + ["train", "rbm", "--data", data, "--out", run, "--condition", "temperature",
                                  "--epochs", str(args.epochs), "--set", "model.filters=0",
                                  "--set", f"model.n_hidden={args.hidden}",
                                  "--set", "train.progress=false", *[a for kv in args.set for a in ("--set", kv)]],
                       check=True, stdout=subprocess.DEVNULL)
        train_s = time.perf_counter() - t
        subprocess.run(PHYSGEN + ["sample", run, "--n", str(args.samples * len(temps)), "--out", samples],
                       check=True, stdout=subprocess.DEVNULL)
        real, fake = load(data), load(samples)
    print(f"L=8, {args.samples} Wolff samples per T, hidden={args.hidden}, epochs={args.epochs}, "
          f"--set {' '.join(args.set) or '(defaults)'}, train {train_s:.0f} s")
    print("| T | ⟨e⟩ data | ⟨e⟩ RBM | Δ% | ⟨abs m⟩ data | RBM | Δ% | C data | RBM | Δ% | χ data | RBM | Δ% |")
    print("|---|" + "---|" * 12)
    for T in temps:
        r = thermodynamics(real.samples[real.conditions["temperature"] == T], T, rng=0, n_boot=100)
        f = thermodynamics(fake.samples[fake.conditions["temperature"] == T], T, rng=0, n_boot=100)
        cells = []
        for key in ("energy", "abs_magnetization", "specific_heat", "susceptibility"):
            a, b = r[key].value, f[key].value
            z = (b - a) / max(float(np.hypot(r[key].error, f[key].error)), 1e-300)  # bootstrap errors
            err = f" ± {r[key].error:.4f}" if key in ("specific_heat", "susceptibility") else ""
            cells += [f"{a:.4f}{err}", f"{b:.4f}", f"{100 * (b - a) / abs(a):+.1f} ({z:+.1f}σ)"]
        print(f"| {T} | " + " | ".join(cells) + " |", flush=True)


# --- digits course reproduction --------------------------------------------------------------------------
def cmd_digits(args) -> None:
    from physgen.data import load
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data, run = out / "digits_bin.h5", out / "run"
    subprocess.run(PHYSGEN + ["data", "digits", "--binarize", "0.5", "--out", str(data), "--overwrite"], check=True)
    subprocess.run(PHYSGEN + ["train", "rbm", "--data", str(data), "--out", str(run), "--overwrite",
                              "--epochs", str(args.epochs), "--set", "model.n_hidden=500", "--set", "model.method=cd",
                              "--set", "train.lr=0.1", "--set", "train.momentum=0.0", "--set", "train.schedule=constant",
                              "--set", "train.progress=false"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(PHYSGEN + ["sample", str(run), "--n", "64", "--out", str(out / "samples.h5"), "--overwrite"], check=True)
    save_grid(load(data).samples[:64], out / "digits_real.png", "real (binarized digits)")
    save_grid(load(out / "samples.h5").samples, out / "digits_rbm.png", "RBM samples (500 hidden, CD-1)")
    print(f"wrote {out / 'digits_real.png'} and {out / 'digits_rbm.png'}")


def save_grid(x: np.ndarray, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(8, 8, figsize=(4, 4.3))
    for img, ax in zip(x, axes.flat):
        ax.imshow(img.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.axis("off")
    fig.suptitle(title, fontsize=8)
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --- chains ------------------------------------------------------------------------------------------
def cmd_chains(args) -> None:
    """A trained temperature-conditioned spin RBM (``--run``) sampled by block Gibbs from three starts: its
    persistent chains, random spins, and the reference Monte Carlo lattices (``--reference``, a ``physgen data
    ising`` file).  Relative errors of ⟨e⟩ and ⟨|m|⟩ against the reference per T: starts that agree place the
    error in the model, starts that disagree in the sampler's burn-in."""
    from physgen.data import load
    from physgen.metrics.observables import spin_features
    from physgen.training import load_run

    run, ref = load_run(args.run, which=args.checkpoint), load(args.reference)
    temps = np.asarray(ref.conditions["temperature"])
    print(f"`{args.run}` ({run.checkpoint}), {args.burn_in} sweeps, {args.n} lattices per T: "
          "relative error of ⟨e⟩ / ⟨|m|⟩ against the reference\n")
    print("| T | persistent | random | reference lattices |\n|---|---|---|---|")
    for t in np.unique(temps):
        real = np.asarray(ref.samples)[temps == t][:args.n]
        truth = spin_features(real).mean(0)
        cells = []
        for init in ("persistent", "random", real):
            fake = run.model.sample(len(real), generator=torch.Generator().manual_seed(args.seed),
                                    condition={"temperature": float(t)}, burn_in=args.burn_in, init=init)
            err = 100 * (spin_features(fake.numpy()).mean(0) / truth - 1)
            cells.append(f"{err[0]:+.1f}% / {err[1]:+.1f}%")
        print(f"| {t:g} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--epochs", type=int, default=320)  # the same for every implementation: 9,280 updates, the
    # course's 10 MNIST epochs at batch 64 (start-up amortised as in a real run; --epochs 20 for a quick look)
    # 320 epochs of the 1,797 digits = 9,280 updates: the course's 10 MNIST epochs at batch 64 (9,380)
    s.add_argument("--overhead-epochs", type=int, default=320)
    s.add_argument("--overhead-repeats", type=int, default=9)
    s.add_argument("--repeats", type=int, default=3, help="interleaved throughput repeats (0: only the overhead pairs)")
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--loops", action="store_true", help="also time the hand-written PyTorch loops")
    k = sub.add_parser("kl")
    k.add_argument("--set", nargs="*", default=[], help="extra config overrides for every variant")
    k.add_argument("--variants", nargs="+", default=["16:pcd:false:30", "16:pcd:true:30", "16:pt:false:30",
                                                     "16:pt:true:30", "16:exact:true:5", "32:pcd:true:60"])
    i = sub.add_parser("ising")
    i.add_argument("--hidden", type=int, default=64)
    i.add_argument("--epochs", type=int, default=30)
    i.add_argument("--samples", type=int, default=10000)
    i.add_argument("--set", nargs="*", default=[], help="extra config overrides, e.g. train.lr=0.05")
    i.add_argument("--temperatures", default=",".join(map(str, TEMPS)), help="comma-separated subset (one RBM each)")
    d = sub.add_parser("digits")
    d.add_argument("--epochs", type=int, default=200)  # 1797 images: ~5,600 updates, as 10 MNIST epochs
    d.add_argument("--out", default=str(ROOT / "docs" / "img" / "rbm"))
    c = sub.add_parser("chains")
    c.add_argument("--run", required=True, help="a physgen train rbm run on spins, conditioned on temperature")
    c.add_argument("--reference", required=True, help="independent Monte Carlo lattices (physgen data ising)")
    c.add_argument("--checkpoint", choices=("best", "latest"), default="best")
    c.add_argument("--burn-in", type=int, default=1000, help="Gibbs sweeps (the sampler's default: 1000)")
    c.add_argument("--n", type=int, default=1000, help="lattices per temperature")
    c.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    {"speed": cmd_speed, "kl": cmd_kl, "ising": cmd_ising, "digits": cmd_digits, "chains": cmd_chains}[args.cmd](args)


if __name__ == "__main__":
    main()
