"""GAN benchmarks.

``python benchmarks/gan.py overhead``  the course's vanilla GAN (Raschka ch. 17: 784→100→1 discriminator,
    20→100→784 generator, batch 64, Adam) through physgen's trainer versus a hand-written loop of the same
    model step, batches and seeds (alternating pairs, ``benchmarks/trainer_overhead.py``); prints the
    median overhead and its spread.
``python benchmarks/gan.py ttbar --model wgan-gp --max-time 300``  train on 10k pp → tt̄ events (s, t, y)
    from ``physgen data pythia`` (hard level, seed 1; made once next to ``--out`` and reused), or with
    ``--ttbar FILE`` on a text table of (s, t, y) such as the thesis' MadGraph LO file (skipped with a
    message when absent); sample 10k events and evaluate them with physgen.metrics: per-feature KL (50
    bins over the data's range), W1, the s–t correlation and the classifier AUC, each beside its
    real-vs-real floor; prints a markdown table and the CPU wall time.

Both print their results with the command and the load; docs/benchmarks.md holds the current ones.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


# --- overhead -------------------------------------------------------------------------------------
def _digits_like(n: int, seed: int = 0):
    """28×28 images in [0, 1] (random strokes: the timing does not depend on the pixel values)."""
    from physgen.data import Dataset

    rng = np.random.default_rng(seed)
    x = (rng.random((n, 28, 28), dtype=np.float32) < 0.2).astype(np.float32)
    return Dataset(x, "image", attrs={"source": "benchmark"})


def overhead(args) -> int:
    """The vanilla GAN through the trainer vs a hand-written loop of the same model step, batches and
    step seeds (``benchmarks/trainer_overhead.py``'s pairs; a ~1–2 ms step, so the trainer's fixed
    per-step costs weigh more here than on the WGAN-GP step that script times by default)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import trainer_overhead

    torch.set_num_threads(args.threads)
    res = trainer_overhead.measure_pairs("gan", _digits_like(args.n), ["model.diagnostics=false"], args.steps,
                                         args.repeats)
    print(f"command: python benchmarks/gan.py overhead {' '.join(sys.argv[2:])}")
    trainer_overhead.report(res, args.threads)
    return 0


# --- tt̄ evaluation ----------------------------------------------------------------------------------
def st_correlation(x: np.ndarray) -> float:
    return float(np.corrcoef(x[:, 0], x[:, 1])[0, 1])


def ttbar_data(args, directory: Path) -> Path | None:
    """The training file: Pythia events made once into ``directory``, or ``--ttbar FILE`` converted once
    (None, with a one-line message, when that file is absent)."""
    from physgen.data import Dataset, save

    if args.ttbar is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import pythia_ttbar

        return pythia_ttbar.ensure(directory)
    if not args.ttbar.is_file():
        print(f"gan.py ttbar: skipped: --ttbar {args.ttbar}: no such file")
        return None
    data = directory / f"ttbar-{args.ttbar.stem}.h5"
    if not data.exists():
        raw = np.loadtxt(args.ttbar, dtype=np.float32)
        save(Dataset(raw, "continuous", attrs={"feature_names": ["s", "t", "y"], "source": args.ttbar.name}), data)
    return data


def ttbar(args) -> int:
    from physgen.data import load
    from physgen.metrics import evaluate
    from physgen.training import load_run, train

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    data = ttbar_data(args, out.parent)
    if data is None:
        return 0
    t0 = time.perf_counter()
    if args.eval_only:
        summary = json.loads((out / "summary.json").read_text())
    else:
        summary = train(args.model, data=data, out=out, sets=args.set, overwrite=True, max_time=args.max_time,
                        steps=args.steps, epochs=None if args.steps else 10**6, seed=args.seed)
    wall = summary.get("wall_time_s", time.perf_counter() - t0)
    run = load_run(out)
    fake = run.sample(10_000, seed=args.seed + 1)
    real = load(data)
    res = evaluate(real, fake, metrics=["kl", "w1", "c2st"], seed=0, n_boot=50)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(real))
    half_a, half_b = real.samples[idx[:5000]], real.samples[idx[5000:]]
    corr_floor = abs(st_correlation(half_a) - st_correlation(half_b))
    rows = [("model", args.model), ("steps", summary["steps"]), ("train wall time (s)", f"{wall:.0f}"),
            ("set", " ".join(args.set) or "(defaults)")]
    for key, label in (("kl", "KL"), ("w1", "W1")):
        e = res[key]
        per, floor = e.get("per_feature", {}), e.get("floor", {})
        for name in ("s", "t", "y"):
            v = per.get(name, {})
            rows.append((f"{label} {name}", f"{_val(v)} (floor {_val(v.get('floor'))})"))
        rows.append((f"{label} mean", f"{_val(e)} (floor {_val(floor)})"))
    rows.append(("s-t correlation", f"fake {st_correlation(fake.samples):.4f} real {st_correlation(real.samples):.4f} "
                                    f"|diff| {abs(st_correlation(fake.samples) - st_correlation(real.samples)):.4f} "
                                    f"(floor {corr_floor:.4f})"))
    rows.append(("classifier AUC", f"{_val(res['c2st_auc'])} (floor {_val(res['c2st_auc'].get('floor'))})"))
    print(f"| tt̄ {args.model} | |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    return 0


# --- temperature-conditioned Ising --------------------------------------------------------------------
ISING_TRAIN_T = "1.5,1.75,2.0,2.125,2.375,2.5,3.0,3.5"   # brackets 2.25 at ±0.125, 2.75 at ±0.25
ISING_LEFT_OUT_T = "2.25,2.75"


def ising_data(directory: Path, train_samples: int = 1000, thin: int = 20,
               temperatures: str = ISING_TRAIN_T, test_samples: int = 20000) -> tuple[Path, Path]:
    """L = 16 Metropolis configurations (50 chains, burn-in 2000 sweeps, ``thin`` sweeps apart):
    ``train_samples`` at each training temperature, ``test_samples`` at 2.25 and 2.75 (thin 20; 2,000
    would leave ⟨E⟩ at 2.25 some 2.8 standard errors below the exact value).  Cached in
    ``directory`` under names that record the sets' sizes, thinning and (when not the default) grid."""
    from physgen.cli import main as physgen

    name = "ising_train.h5" if (train_samples, thin) == (1000, 20) else f"ising_train_{train_samples}_thin{thin}.h5"
    if temperatures != ISING_TRAIN_T:
        name = name.replace(".h5", "_T" + temperatures.replace(",", "_") + ".h5")
    test_name = "ising_test.h5" if test_samples == 2000 else f"ising_test_{test_samples}.h5"
    train_h5, test_h5 = directory / name, directory / test_name
    common = ["--size", "16", "--chains", "50", "--burn-in", "2000", "--overwrite"]
    if not train_h5.exists():
        physgen(["data", "ising", "--temperatures", temperatures, "--samples", str(train_samples), "--seed", "1",
                 "--thin", str(thin), "--out", str(train_h5), *common])
    if not test_h5.exists():
        physgen(["data", "ising", "--temperatures", ISING_LEFT_OUT_T, "--samples", str(test_samples), "--seed", "2",
                 "--thin", "20", "--out", str(test_h5), *common])
    return train_h5, test_h5


def ising_table(run_dir: Path, train_h5: Path, test_h5: Path, n: int = 2000, seed: int = 1) -> list[tuple]:
    """(T, trained?, MC <|m|>, generated <|m|>, rel. diff, MC <E>, exact <E>, generated <E>, rel. diff, MC C,
    generated C, MC chi, generated chi) per temperature (E, C and chi per spin; exact <E> of the finite lattice
    by Kaufman's solution, a check of the Monte Carlo reference; C and chi from the spread of E and |m|, so
    they show whether the generated ensemble, not only its means, is the Monte Carlo one)."""
    from physgen.data import load
    from physgen.physics.kaufman import energy_per_spin
    from physgen.physics.observables import thermodynamics
    from physgen.training import load_run

    run = load_run(run_dir)
    rows = []
    for path, trained in ((train_h5, True), (test_h5, False)):
        ds = load(path)
        for t in np.unique(ds.conditions["temperature"]):
            mc = ds.samples[ds.conditions["temperature"] == t].astype(np.float64)
            gen = run.sample(n, seed=seed, condition={"temperature": float(t)}).samples.astype(np.float64)
            a, b = (thermodynamics(x, float(t), n_boot=2, rng=0) for x in (mc, gen))
            (m_mc, m_g), (e_mc, e_g), (c_mc, c_g), (x_mc, x_g) = (
                (a[k].value, b[k].value) for k in ("abs_magnetization", "energy", "specific_heat", "susceptibility"))
            e_exact = energy_per_spin(mc.shape[1], float(t), cols=mc.shape[2])
            rows.append((float(t), trained, m_mc, m_g, m_g / m_mc - 1, e_mc, e_exact, e_g, e_g / e_mc - 1, c_mc, c_g,
                         x_mc, x_g))
    return sorted(rows)


def ising(args) -> int:
    from physgen.training import train

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    left_out = {float(t) for t in ISING_LEFT_OUT_T.split(",")}
    if left_out & {float(t) for t in args.train_temperatures.split(",")}:
        raise SystemExit(f"--train-temperatures {args.train_temperatures}: must leave out {ISING_LEFT_OUT_T}")
    train_h5, test_h5 = ising_data(out.parent, args.train_samples, args.thin, args.train_temperatures,
                                   args.test_samples)
    t0 = time.perf_counter()
    if args.resume:  # continue the run in --out for another --max-time (its recorded config)
        summary = train(args.model, data=None, out=out, resume=True, max_time=args.max_time, steps=args.steps,
                        epochs=None if args.steps else 10**6)
    else:
        summary = train(args.model, data=train_h5, out=out, sets=args.set, overwrite=True, max_time=args.max_time,
                        steps=args.steps, epochs=None if args.steps else 10**6, seed=args.seed,
                        condition="temperature")
    wall = time.perf_counter() - t0
    print(f"{args.model} on L=16 Ising, trained at T = {args.train_temperatures} ({args.train_samples} configurations each, "
          f"thin {args.thin}); {summary['steps']} steps, {wall:.0f} s; "
          f"set: {'(resumed: the recorded config)' if args.resume else ' '.join(args.set) or '(defaults)'}")
    print_ising_table(ising_table(out, train_h5, test_h5, args.eval_samples, args.eval_seed))
    return 0


def print_ising_table(rows: list[tuple], tol: float = 0.05) -> bool:
    """Markdown table of :func:`ising_table` rows and the verdict of the check: every left-out temperature
    within ``tol`` (relative) of Monte Carlo in both ⟨|m|⟩ and ⟨E⟩ (C and χ are shown, not judged).
    Returns the verdict."""
    print("| T | trained | <abs m> MC | <abs m> gen | rel. diff | <E> MC | <E> exact | <E> gen | rel. diff "
          "| C MC | C gen | rel. diff | chi MC | chi gen | rel. diff |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    ok = True
    for t, trained, m_mc, m_g, dm, e_mc, e_exact, e_g, de, c_mc, c_g, x_mc, x_g in rows:
        print(f"| {t:g} | {'yes' if trained else '**left out**'} | {m_mc:.4f} | {m_g:.4f} | {100 * dm:+.1f}% "
              f"| {e_mc:.4f} | {e_exact:.4f} | {e_g:.4f} | {100 * de:+.1f}% | {c_mc:.3f} | {c_g:.3f} "
              f"| {100 * (c_g / c_mc - 1):+.0f}% "
              f"| {x_mc:.3f} | {x_g:.3f} | {100 * (x_g / x_mc - 1):+.0f}% |")
        ok &= trained or (abs(dm) <= tol and abs(de) <= tol)
    print(f"left-out temperatures within {100 * tol:.0f}% of Monte Carlo: {'PASS' if ok else 'FAIL'}")
    return ok


def print_abs_m_histogram(run_dir: Path, train_h5: Path, test_h5: Path, t: float, n: int = 2000, seed: int = 1) -> None:
    """Fractions of the generated and the Monte Carlo lattices at temperature ``t`` in 10 bins of |m| on [0, 1]."""
    from physgen.data import load
    from physgen.physics.observables import magnetization
    from physgen.training import load_run

    ds = next((d for d in map(load, (train_h5, test_h5)) if np.isclose(d.conditions["temperature"], t).any()), None)
    if ds is None:
        raise SystemExit(f"--histograms {t:g}: no Monte Carlo lattices at that temperature")
    mc = ds.samples[np.isclose(ds.conditions["temperature"], t)]
    gen = load_run(run_dir).sample(n, seed=seed, condition={"temperature": t}).samples
    bins = np.linspace(0.0, 1.0, 11)
    print(f"|m| histogram at T = {t:g} (bins of 0.1 from 0 to 1)")
    for name, x in (("MC", mc), ("gen", gen)):
        h = np.histogram(np.abs(magnetization(x.astype(np.float64))), bins)[0] / len(x)
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in h) + " |")


# --- digits: VAE likelihoods and the course's vanilla GAN -------------------------------------------------
def digits_data(directory: Path, seed: int = 0) -> tuple[Path, Path, Path]:
    """scikit-learn's 8×8 digits: binarized (pixel/16 > 0.5) train/test split 1500/297, and float images."""
    from physgen.data import save
    from physgen.data.digits import load_digits

    directory.mkdir(parents=True, exist_ok=True)
    paths = directory / "digits_bin_train.h5", directory / "digits_bin_test.h5", directory / "digits.h5"
    if not all(p.exists() for p in paths):
        binary = load_digits(binarize=0.5)
        idx = np.random.default_rng(seed).permutation(len(binary))
        save(binary.subset(idx[:1500]), paths[0], overwrite=True)
        save(binary.subset(idx[1500:]), paths[1], overwrite=True)
        save(load_digits(), paths[2], overwrite=True)
    return paths


def digits(args) -> int:
    import h5py

    from physgen.cli import main as physgen

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    train_h5, test_h5, images_h5 = digits_data(out)
    vae = out / "vae"
    t0 = time.perf_counter()
    physgen(["train", "vae", "--data", str(train_h5), "--out", str(vae), "--overwrite", "--no-progress",
             "--epochs", str(args.vae_epochs), "--set", "model.latent=16", "--set", "model.hidden=[256,256]",
             "--set", "train.batch_size=100"])
    vae_time = time.perf_counter() - t0
    print(f"VAE (latent 16, MLP 64-256-256) on 1500 binarized digits, {args.vae_epochs} epochs, {vae_time:.0f} s")
    print("| data | ELBO (k=1) NLL | IWAE k=1000 NLL |\n|---|---|---|")
    for name, path in (("train", train_h5), ("test", test_h5)):
        nll = []
        for method, k in (("elbo", 1), ("iwae", 1000)):
            score = out / f"{name}_{method}.h5"
            physgen(["score", str(vae), "--data", str(path), "--method", method, "--k", str(k), "--out", str(score),
                     "--overwrite", "--seed", "1"])
            with h5py.File(score, "r") as f:
                nll.append(-float(np.mean(f["log_prob"][()])))
        print(f"| {name} | {nll[0]:.2f} | {nll[1]:.2f} |")
    gan = out / "gan"
    t0 = time.perf_counter()
    physgen(["train", "gan", "--data", str(images_h5), "--out", str(gan), "--overwrite", "--no-progress",
             "--epochs", str(args.gan_epochs)])
    print(f"vanilla GAN on 1797 digit images, {args.gan_epochs} epochs, {time.perf_counter() - t0:.0f} s; plots: "
          f"{gan / 'diagnostics' / 'losses.png'}, {gan / 'diagnostics' / 'samples.png'}")
    return 0


def _val(entry) -> str:
    if entry is None:
        return "n/a"
    if isinstance(entry, (int, float)):
        return f"{entry:.4f}"
    v = entry.get("value")
    err = entry.get("error")
    if v is None:
        return "n/a"
    return f"{v:.4f}" + (f" ± {err:.4f}" if isinstance(err, (int, float)) else "")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what")
    o = sub.add_parser("overhead", help="trainer vs hand-written loop (vanilla GAN)")
    o.add_argument("--steps", type=int, default=300)
    o.add_argument("--repeats", type=int, default=5, help="alternating (loop, trainer) pairs")
    o.add_argument("--n", type=int, default=60000, help="training set size (MNIST's; one epoch > the timed steps)")
    o.add_argument("--threads", type=int, default=1)
    t = sub.add_parser("ttbar", help="train on tt̄ and evaluate 10k generated events")
    t.add_argument("--model", default="wgan-gp")
    t.add_argument("--ttbar", type=Path, default=None,
                   help="text table of (s, t, y), e.g. the MadGraph LO file (default: 10k Pythia events)")
    t.add_argument("--max-time", type=float, default=300.0)
    t.add_argument("--steps", type=int, default=None)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
    t.add_argument("--out", default="bench-out/ttbar-run")
    t.add_argument("--set", nargs="*", default=[])
    t.add_argument("--eval-only", action="store_true", help="evaluate the existing run in --out")
    i = sub.add_parser("ising", help="temperature-conditioned model on L=16 Ising; <|m|>, <E> per temperature")
    i.add_argument("--model", default="dcgan")
    i.add_argument("--max-time", type=float, default=600.0)
    i.add_argument("--steps", type=int, default=None)
    i.add_argument("--seed", type=int, default=0)
    i.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
    i.add_argument("--out", default="bench-out/ising-run")
    i.add_argument("--set", nargs="*", default=[])
    i.add_argument("--train-samples", type=int, default=1000, help="Metropolis configurations per training T")
    i.add_argument("--thin", type=int, default=20, help="sweeps between the training configurations of a chain")
    i.add_argument("--train-temperatures", default=ISING_TRAIN_T,
                   help=f"comma-separated training temperatures (default {ISING_TRAIN_T}); 2.25 and 2.75 stay left out")
    i.add_argument("--test-samples", type=int, default=20000,
                   help="Monte Carlo configurations at each left-out temperature (the reference; thin 20)")
    i.add_argument("--eval-samples", type=int, default=8000, help="generated lattices per temperature in the table")
    i.add_argument("--eval-seed", type=int, default=1, help="sampling seed of the table")
    i.add_argument("--table-only", action="store_true", help="only evaluate an existing run in --out")
    i.add_argument("--histograms", default="", help="comma-separated temperatures: also print the |m| histograms "
                   "(10 bins on [0, 1], fractions) of the generated and Monte Carlo lattices there")
    i.add_argument("--resume", action="store_true", help="train the run in --out for another --max-time, then evaluate")
    d = sub.add_parser("digits", help="VAE ELBO/IWAE NLL on binarized digits; the course's vanilla GAN on digits")
    d.add_argument("--vae-epochs", type=int, default=300)
    d.add_argument("--gan-epochs", type=int, default=100)
    d.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
    d.add_argument("--out", default="bench-out/digits")
    args = p.parse_args(argv)
    if args.what == "digits":
        return digits(args)
    if args.what == "ttbar":
        return ttbar(args)
    if args.what == "ising":
        if args.table_only:
            out = Path(args.out)
            data = ising_data(out.parent, args.train_samples, args.thin, args.train_temperatures, args.test_samples)
            print_ising_table(ising_table(out, *data, args.eval_samples, args.eval_seed))
            for t in filter(None, args.histograms.split(",")):
                print_abs_m_histogram(out, *data, float(t), args.eval_samples, args.eval_seed)
            return 0
        return ising(args)
    return overhead(args if args.what else p.parse_args(["overhead"]))


if __name__ == "__main__":
    sys.exit(main())
