"""Semi-supervised GAN benchmarks: the classifier's test accuracy beside a supervised baseline (the same
network on the same labelled subset), scikit-learn's MLP and a random forest (on the same labelled subset).

``python benchmarks/sgan.py digits --labels-per-class 10 --seeds 0 1 2 3 4``  8×8 digits: a stratified
    75/25 train/test split (seeded), ``physgen train sgan`` on the training rows with that many labels per
    class (8,000 steps), then :func:`physgen.models.gan.sgan_classifiers.compare_classifiers` on the test rows;
    prints one row per seed and the mean over seeds with its standard error, and the SGAN − supervised gap.
``python benchmarks/sgan.py ising --size 16 --per-temperature 200``  Ising phases (1 = ordered, T < Tc):
    Metropolis lattices at 1.0..3.6, labels kept only far from Tc (T < 1.8 or T > 3.0) and
    ``--labels-per-class`` of them per phase; test lattices at every temperature; prints the accuracy per
    temperature through the critical region for the SGAN, the supervised baseline and the random forest
    (3,000 steps).

Both print markdown; nothing is written outside a temporary directory.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _train(train_ds, sets: list[str], seed: int, steps: int | None, workdir: str):
    """``physgen train sgan`` on ``train_ds`` through the Python API; returns the loaded run."""
    from physgen.data import save
    from physgen.training import load_run, train

    data = Path(workdir) / f"train_{seed}.h5"
    save(train_ds, data, overwrite=True)
    out = Path(workdir) / f"run_{seed}"
    sets = [*sets, "train.progress=false"]
    summary = train("sgan", data=data, out=out, sets=sets, seed=seed, steps=steps, overwrite=True)
    # the final checkpoint, as the example scores it
    return load_run(out, device="cpu", which="latest"), summary


def _model_space(run, ds):
    import torch

    from physgen.training.data import to_model_space

    return torch.from_numpy(to_model_space(ds.samples, ds.kind, run.transform))


def _split(n: int, y: np.ndarray, seed: int, test_fraction: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(np.arange(n), test_size=test_fraction, random_state=seed, stratify=y)
    return np.sort(train), np.sort(test)


def _fmt(acc: dict) -> str:
    return f"{100 * acc['value']:.1f} ± {100 * acc['error']:.1f}"


def _mean(values: list[float]) -> tuple[float, float]:
    """Mean and its standard error over seeds."""
    v = np.asarray(values, dtype=np.float64)
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.nan


def digits(args) -> int:
    from physgen.data.digits import load_digits
    from physgen.models.gan.sgan_classifiers import compare_classifiers

    ds = load_digits()
    rows = []
    print("| seed | SGAN % | supervised % | MLP % | random forest % | SGAN − supervised | SGAN − MLP | steps | train s |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        for seed in args.seeds:
            train, test = _split(len(ds), ds.labels, seed)
            sets = [f"model.labels_per_class={args.labels_per_class}", f"model.label_seed={seed}", *args.set]
            started = time.time()
            run, summary = _train(ds.subset(train), sets, seed, args.steps or None, work)
            wall = time.time() - started
            res = compare_classifiers(run.model, _model_space(run, ds.subset(test)), ds.labels[test], seed=seed)
            gap = res["sgan"]["value"] - res["supervised"]["value"]
            gap_mlp = res["sgan"]["value"] - res["mlp"]["value"]
            rows.append(res)
            print(f"| {seed} | {_fmt(res['sgan'])} | {_fmt(res['supervised'])} | {_fmt(res['mlp'])} "
                  f"| {_fmt(res['random_forest'])} | {100 * gap:+.1f} | {100 * gap_mlp:+.1f} | {summary['steps']} "
                  f"| {wall:.0f} |", flush=True)
    means = {k: _mean([r[k]["value"] for r in rows]) for k in ("sgan", "supervised", "mlp", "random_forest")}
    gap = _mean([r["sgan"]["value"] - r["supervised"]["value"] for r in rows])
    gap_mlp = _mean([r["sgan"]["value"] - r["mlp"]["value"] for r in rows])
    cell = lambda m: f"{100 * m[0]:.1f} ± {100 * m[1]:.1f}"  # noqa: E731
    print(f"| mean ± s.e. ({len(rows)} seeds) | {cell(means['sgan'])} | {cell(means['supervised'])} "
          f"| {cell(means['mlp'])} | {cell(means['random_forest'])} | {100 * gap[0]:+.1f} ± {100 * gap[1]:.1f} "
          f"| {100 * gap_mlp[0]:+.1f} ± {100 * gap_mlp[1]:.1f} | | |")
    if args.json:
        print(json.dumps({"per_seed": rows, "mean": means, "gap": gap, "gap_mlp": gap_mlp}))
    return 0


def _ising(args):
    """Training and test lattices at every temperature (Metropolis), ``phase`` labels."""
    from physgen.data.ising.simulate import simulate

    temps = np.round(np.arange(args.t_min, args.t_max + 1e-9, args.t_step), 3)
    return simulate(args.size, temps, args.per_temperature, burn_in=args.burn_in, thin=args.thin, seed=args.seed,
                    progress=False)


def ising(args) -> int:
    from physgen.analysis.forests import critical_temperature, phase_labels
    from physgen.data import Dataset
    from physgen.models.gan.sgan_classifiers import compare_classifiers

    started = time.time()
    ds = _ising(args)
    t = np.asarray(ds.conditions["temperature"], dtype=np.float64)
    tc = critical_temperature(float(ds.attrs.get("J", 1.0)))
    phase = phase_labels(t, tc)
    train, test = _split(len(ds), (t * 1000).astype(np.int64), args.seed)
    labels = np.where((t < args.low) | (t > args.high), phase, -1)  # unlabelled near Tc
    train_ds = Dataset(ds.samples[train], ds.kind, {"temperature": t[train]}, labels[train], dict(ds.attrs))
    print(f"simulated {len(ds)} lattices L={args.size} in {time.time() - started:.0f} s; labels only at "
          f"T < {args.low:g} or T > {args.high:g}, {args.labels_per_class} per phase; Tc = {tc:.3f}")
    with tempfile.TemporaryDirectory() as work:
        sets = [f"model.labels_per_class={args.labels_per_class}", f"model.label_seed={args.seed}", *args.set]
        run, summary = _train(train_ds, sets, args.seed, args.steps or None, work)
        res = compare_classifiers(run.model, _model_space(run, ds.subset(test)), phase[test],
                                  temperatures=t[test], seed=args.seed)
    print(f"SGAN {summary['steps']} steps in {summary['wall_time_s']:.0f} s\n")
    print("| T | SGAN | supervised | random forest |")
    print("|---|---|---|---|")
    for key, acc in res["per_temperature"].items():
        mark = " (Tc region)" if abs(float(key) - tc) < 0.3 else ""
        print(f"| {key}{mark} | {acc['sgan']:.3f} | {acc['supervised']:.3f} | {acc['random_forest']:.3f} |")
    print(f"| all | {_fmt(res['sgan'])} | {_fmt(res['supervised'])} | {_fmt(res['random_forest'])} |")
    if args.json:
        print(json.dumps(res))
    return 0


def main(argv=None) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.path.insert(0, str(ROOT / "src"))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    d = sub.add_parser("digits", help="8x8 digits: SGAN vs supervised vs random forest over seeds")
    d.add_argument("--labels-per-class", type=int, default=10)
    d.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    d.add_argument("--steps", type=int, default=8000, help="training steps (0: the family's time budget)")
    d.add_argument("--set", action="append", default=[], help="extra --set SECTION.KEY=VALUE for the SGAN")
    d.add_argument("--json", action="store_true")
    d.set_defaults(fn=digits)
    i = sub.add_parser("ising", help="Ising phases with labels far from Tc only, accuracy per temperature")
    i.add_argument("--size", type=int, default=16)
    i.add_argument("--per-temperature", type=int, default=200)
    i.add_argument("--t-min", type=float, default=1.0)
    i.add_argument("--t-max", type=float, default=3.6)
    i.add_argument("--t-step", type=float, default=0.2)
    i.add_argument("--low", type=float, default=1.8, help="labels kept below this temperature")
    i.add_argument("--high", type=float, default=3.0, help="labels kept above this temperature")
    i.add_argument("--labels-per-class", type=int, default=10)
    i.add_argument("--burn-in", type=int, default=1000)
    i.add_argument("--thin", type=int, default=40)
    i.add_argument("--steps", type=int, default=3000, help="training steps (0: the family's time budget)")
    i.add_argument("--seed", type=int, default=0)
    i.add_argument("--set", action="append", default=[])
    i.add_argument("--json", action="store_true")
    i.set_defaults(fn=ising)
    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
