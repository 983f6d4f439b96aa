"""Speed of a trained network against the event generator it replaces, with the network's quality beside it.

One run, on one process (pp → tt̄ at √s = 13 TeV) and one feature set (default ``s,t,y``):

1. Pythia 8 through ``physgen data pythia``: a training file (``--n-train`` events, hard level), a
   held-out file (``--n-heldout`` events, another seed) and ``--n-hadron`` hadron-level events with
   anti-k_T jets (showers, multiparton interactions, hadronisation, clustering).  Rate = events / wall
   time of the command.
2. For each family (default ``wgan-gp,ddpm,vae``): ``physgen train FAMILY --data train.h5 --max-time S``
   run as a user runs it (a separate process, the family's defaults: ``data.transform=auto`` Gaussianises
   the features by their quantiles, and wgan-gp's generator has a linear output on continuous data;
   ``--transform NAME`` adds ``--set data.transform=NAME`` instead);
   then ``physgen sample RUN --n N`` (``ddpm``: ``--sampler ddim``, DDIM with its default number of steps)
   timed the same way, after one untimed warm-up command.
   With ``--reparametrize ttbar`` the networks learn the bounded (4 m_t²/s, −t/s, y) instead, and their
   samples are mapped back to (s, t, y) inside the timed interval.
3. Quality of each family's samples against the held-out Pythia events (:func:`physgen.metrics.evaluate`):
   mean per-feature KL(real ‖ fake) over 50-bin histograms and the classifier two-sample test's AUC, each
   beside its floor (the same metric between two disjoint halves of the held-out events).

Commands run in this process (``physgen.cli.main``) after a warm-up, so interpreter and import start-up
are not counted; each command's own start-up (Pythia's initialisation, loading the run) is.  Training
runs in a child process with ``OMP_NUM_THREADS`` = ``--threads``.  The aim recorded for physgen: a
network ≥ 100× Pythia's hadron-level rate at AUC ≤ 0.60 on the same features.

Writes ``OUT/results.json`` and ``OUT/results.md`` (a markdown table: rate, ratio to Pythia's
hadron-level rate, KL, AUC and their floors, then the exact commands) and prints the table.

    python benchmarks/generator_speed.py --out bench_speed [--n-train 20000] [--n-heldout 10000]
        [--n-hadron 200] [--max-time 300] [--families wgan-gp,ddpm,vae] [--threads 1]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

AIM_RATIO, AIM_AUC = 100.0, 0.60
SAMPLE_ARGS = {"ddpm": ["--sampler", "ddim"]}   # the fast sampler of the diffusion model


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, type=Path, help="directory for the data, runs and results")
    p.add_argument("--n-train", type=int, default=20_000, help="Pythia events to train on (hard level)")
    p.add_argument("--n-heldout", type=int, default=10_000,
                   help="held-out Pythia events for the quality metrics; also the number sampled per family")
    p.add_argument("--n-hadron", type=int, default=200, help="hadron-level events timed (≈ 100 per second on one core)")
    p.add_argument("--max-time", type=float, default=300.0, help="training budget per family in seconds")
    p.add_argument("--families", default="wgan-gp,ddpm,vae", help="comma-separated model families")
    p.add_argument("--features", default="s,t,y", help="hard-level features every family is trained on")
    p.add_argument("--transform", default="family",
                   help="'family' (default): each family's own defaults, no --set added (data.transform=auto, a "
                        "quantile Gaussianisation of continuous features); or a data.transform passed to every "
                        "training (auto|none|standardize|minmax|yeo-johnson|quantile)")
    p.add_argument("--reparametrize", choices=("none", "ttbar"), default="none",
                   help="ttbar (needs --features s,t,y): the networks learn the bounded (4 m_t²/s, −t/s, y) and "
                        "their samples are mapped back to (s, t, y) before the metrics, the mapping timed with "
                        "the sampling; use with --transform minmax")
    p.add_argument("--train-set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="extra --set for every training command (repeatable), e.g. train.epochs=100000 so that "
                        "--max-time is what stops training")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for training and sampling")
    p.add_argument("--device", default="cpu", help="device for training and sampling (Pythia runs on one core)")
    p.add_argument("--seed", type=int, default=0, help="seed of training and sampling (Pythia: seed+1..3)")
    p.add_argument("--n-boot", type=int, default=50, help="bootstrap resamples for the metrics' errors")
    p.add_argument("--overwrite", action="store_true", help="replace files and runs from an earlier run")
    a = p.parse_args(argv)
    a.families = [f.strip() for f in a.families.split(",") if f.strip()]
    for name in ("n_train", "n_heldout", "n_hadron", "threads"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')}: must be >= 1")
    if not a.max_time > 0 or not a.families:
        p.error("--max-time must be > 0 and --families non-empty")
    if a.reparametrize == "ttbar" and a.features != "s,t,y":
        p.error("--reparametrize ttbar: needs --features s,t,y")
    return a


# --- running physgen commands -----------------------------------------------------------------------
def show(argv: list[str]) -> str:
    """The shell form of a physgen command."""
    return "physgen " + " ".join(shlex.quote(str(a)) for a in argv)


def timed_cli(argv: list[str]) -> tuple[float, str]:
    """Run ``physgen ARGV`` in this process; returns (wall seconds, stdout).  Nonzero exit -> RuntimeError."""
    from physgen.cli import main

    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    seconds = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"{show(argv)} failed ({code}): {err.getvalue().strip()}")
    return seconds, out.getvalue().strip()


def rate_entry(name: str, argv: list[str], n: int, **extra) -> dict:
    seconds, stdout = timed_cli(argv)
    return {"name": name, "command": show(argv), "events": n, "seconds": seconds, "rate": n / seconds,
            "stdout": stdout, **extra}


# --- Pythia -----------------------------------------------------------------------------------------
def pythia_argv(a, n: int, seed: int, out: Path, level: str = "hard") -> list[str]:
    argv = ["data", "pythia", "--process", "ttbar", "--ecm", "13000", "--n", n, "--level", level,
            "--seed", seed, "--out", out]
    argv += ["--features", a.features] if level == "hard" else []
    return argv + (["--overwrite"] if a.overwrite else [])


def run_pythia(a) -> tuple[dict, dict, Path, Path]:
    """Warm up, then time the training file (hard level), the held-out file and the hadron-level events."""
    warm = a.out / "warmup.h5"
    for level in ("hard", "hadron"):          # imports (pythia8mc, fastjet) are not counted
        timed_cli(pythia_argv(a, 1, a.seed + 9, warm, level) + ([] if a.overwrite else ["--overwrite"]))
        warm.unlink()
    train, heldout = a.out / "pythia_train.h5", a.out / "pythia_heldout.h5"
    hard = rate_entry("Pythia 8, hard level", pythia_argv(a, a.n_train, a.seed + 1, train), a.n_train)
    timed_cli(pythia_argv(a, a.n_heldout, a.seed + 2, heldout))
    hadron = rate_entry("Pythia 8, hadron level + anti-kT jets",
                        pythia_argv(a, a.n_hadron, a.seed + 3, a.out / "pythia_hadron.h5", "hadron"), a.n_hadron)
    return hard, hadron, train, heldout


# --- networks ---------------------------------------------------------------------------------------
def train_argv(a, family: str, data: Path, run: Path) -> list[str]:
    argv = ["train", family, "--data", data, "--out", run, "--max-time", f"{a.max_time:g}", "--seed", a.seed,
            "--device", a.device, "--no-progress"]
    if a.transform != "family":
        argv += ["--set", f"data.transform={a.transform}"]
    for item in a.train_set:
        argv += ["--set", item]
    return argv + (["--overwrite"] if a.overwrite else [])


def train(a, family: str, data: Path) -> dict:
    """``physgen train`` in a child process, as a user runs it; returns the command and the run's summary."""
    run = a.out / "runs" / family
    argv = train_argv(a, family, data, run)
    env = {**os.environ, "OMP_NUM_THREADS": str(a.threads), "MKL_NUM_THREADS": str(a.threads)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "physgen", *map(str, argv)], env=env, capture_output=True,
                          text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{show(argv)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    summary = json.loads((run / "summary.json").read_text())
    return {"run": run, "command": show(argv), "wall_s": seconds, "steps": summary.get("steps"),
            "epoch": summary.get("epoch"), "train_s": summary.get("wall_time_s"), "status": summary.get("status")}


def sample_argv(a, family: str, run: Path, n: int, seed: int, out: Path) -> list[str]:
    return ["sample", run, "--n", n, "--seed", seed, "--device", a.device, "--out", out, "--overwrite",
            *SAMPLE_ARGS.get(family, [])]


def sample(a, family: str, run: Path) -> tuple[dict, Path]:
    """One untimed warm-up command, then ``physgen sample`` of ``--n-heldout`` events, timed (with the map
    back to (s, t, y) under ``--reparametrize ttbar``)."""
    warm = a.out / f"warmup_{family}.h5"
    timed_cli(sample_argv(a, family, run, 100, a.seed + 100, warm))
    warm.unlink()
    out = a.out / f"samples_{family}.h5"
    name = " ".join([f"{family} (physgen sample", *SAMPLE_ARGS.get(family, [])]) + ")"
    entry = rate_entry(name, sample_argv(a, family, run, a.n_heldout, a.seed + 1, out),
                       a.n_heldout)
    if a.reparametrize == "ttbar":
        start = time.perf_counter()
        out, entry["invalid_rows"] = from_bounded(out, a.out / f"samples_{family}_sty.h5")
        entry["seconds"] += time.perf_counter() - start
        entry["rate"] = entry["events"] / entry["seconds"]
    return entry, out


# --- the bounded tt̄ parametrisation -------------------------------------------------------------------
TOP_MASS = 173.0   # GeV, Pythia 8.317's pole mass


def to_bounded(src: Path, dst: Path) -> Path:
    """(s, t, y) -> (τ, r, y) = (4 m_t²/s, −t/s, y): τ ∈ (0, ~1.5], r = (1 − β cos θ*)/2 ∈ (0, 1)."""
    import numpy as np

    from physgen.data import Dataset, load, save

    s, t, y = load(src).samples.astype(np.float64).T
    x = np.stack([4 * TOP_MASS ** 2 / s, -t / s, y], axis=1).astype(np.float32)
    return save(Dataset(x, "continuous", attrs={"feature_names": ["tau", "r", "y"], "source": str(src)}), dst,
                overwrite=True)


def from_bounded(src: Path, dst: Path) -> tuple[Path, int]:
    """(τ, r, y) -> (s, t, y) in ``dst``; rows with τ ≤ 0 or non-finite values are left out and counted."""
    import numpy as np

    from physgen.data import Dataset, load, save

    tau, r, y = load(src).samples.astype(np.float64).T
    ok = (tau > 0) & np.isfinite(r) & np.isfinite(y)
    s = 4 * TOP_MASS ** 2 / tau[ok]
    x = np.stack([s, -r[ok] * s, y[ok]], axis=1).astype(np.float32)
    ok[ok] = np.isfinite(x).all(axis=1)
    x = x[np.isfinite(x).all(axis=1)]
    out = save(Dataset(x, "continuous", attrs={"feature_names": ["s", "t", "y"]}), dst, overwrite=True,
               compression=None)
    return out, int((~ok).sum())


def quality(heldout: Path, fake: Path, seed: int, n_boot: int) -> dict:
    """Mean per-feature KL and classifier AUC of ``fake`` against ``heldout``, with their floors.

    Generated rows with NaN/Inf (e.g. outside an inverse transform's domain) are counted and left out."""
    import numpy as np

    from physgen.data import Dataset, load
    from physgen.metrics import evaluate

    gen = load(fake)
    finite = np.isfinite(gen.samples.reshape(len(gen), -1)).all(axis=1)
    if not finite.all():
        gen = Dataset(gen.samples[finite], gen.kind, attrs=dict(gen.attrs))
    r = evaluate(load(heldout), gen, metrics=["kl", "c2st"], seed=seed, n_boot=n_boot,
                 names=("pythia", "network"), warn=lambda msg: print(f"warning: {msg}", file=sys.stderr))
    kl, auc = r["kl"], r["c2st_auc"]
    return {"kl": kl["value"], "kl_error": kl["error"], "kl_floor": kl["floor"],
            "kl_per_feature": {k: v["value"] for k, v in kl["per_feature"].items()},
            "auc": auc["value"], "auc_error": auc["error"], "auc_floor": auc["floor"],
            "n_per_side": r["_meta"]["n_per_side"], "nonfinite_rows": int((~finite).sum())}


# --- report -----------------------------------------------------------------------------------------
def _fmt(x, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def markdown(res: dict) -> str:
    """The results as a markdown table, the aim, and the exact commands."""
    hadron = res["pythia"]["hadron"]["rate"]
    lines = ["| generator | events | seconds | events/s | × Pythia hadron | KL (floor) | AUC (floor) | training |",
             "|---|---:|---:|---:|---:|---|---|---|"]
    for key in ("hard", "hadron"):
        e = res["pythia"][key]
        lines.append(f"| {e['name']} | {e['events']} | {e['seconds']:.2f} | {e['rate']:.4g} | "
                     f"{e['rate'] / hadron:.3g} | — | — | — |")
    for fam, e in res["networks"].items():
        q, t = e["quality"], e["train"]
        lines.append(f"| {e['name']} | {e['events']} | {e['seconds']:.2f} | {e['rate']:.4g} | {e['ratio_to_hadron']:.3g} | "
                     f"{_fmt(q['kl'], '.4f')} ({_fmt(q['kl_floor'], '.4f')}) | "
                     f"{_fmt(q['auc'], '.3f')} ({_fmt(q['auc_floor'], '.3f')}) | "
                     f"{t['steps']} steps, {_fmt(t['train_s'], '.0f')} s |")
    for fam, msg in res["failed"].items():
        lines.append(f"| {fam} | — | — | — | — | — | — | failed: {msg.splitlines()[0][:120]} |")
    bad = {fam: e["quality"]["nonfinite_rows"] + e.get("invalid_rows", 0) for fam, e in res["networks"].items()}
    notes = [f"{fam}: {n} of {res['networks'][fam]['events']} generated events were NaN/Inf (or τ ≤ 0) and left "
             "out of the metrics" for fam, n in bad.items() if n]
    early = [fam for fam, e in res["networks"].items()
             if e["train"]["train_s"] is not None and e["train"]["train_s"] < 0.9 * res["config"]["max_time"]]
    if early:
        notes.append(f"{', '.join(early)}: training ended by the family's epoch budget before --max-time "
                     "(pass --train-set train.epochs=N to train for the whole budget)")
    lines += [""] + notes if notes else []
    lines += ["", f"Aim: a network ≥ {AIM_RATIO:g}× Pythia's hadron-level rate at AUC ≤ {AIM_AUC}. "
              + "; ".join(f"{fam}: {'met' if e['meets_aim'] else 'not met'}" for fam, e in res["networks"].items()),
              "", f"Features `{res['config']['features']}`, tt̄ at √s = 13 TeV"
              + (", learnt as (4 m_t²/s, −t/s, y)" if res["config"]["reparametrize"] == "ttbar" else "")
              + (", each family's defaults (data.transform=auto)" if res["config"]["transform"] == "family"
                 else f", data.transform={res['config']['transform']}") + "; quality against "
              f"{res['config']['n_heldout']} held-out Pythia events (floors: two disjoint halves of them); "
              f"{res['config']['threads']} thread(s), device {res['config']['device']}, {res['machine']}.",
              "", "Commands:", "", "```"]
    lines += [res["pythia"]["hard"]["command"], res["pythia"]["heldout_command"], res["pythia"]["hadron"]["command"]]
    if res["config"]["reparametrize"] == "ttbar":
        lines.append("# pythia_train_bounded.h5 = (4 m_t²/s, −t/s, y) of pythia_train.h5, m_t = 173 GeV "
                     "(to_bounded in this script); samples mapped back by from_bounded")
    for e in res["networks"].values():
        lines += [e["train"]["command"], e["command"]]
    return "\n".join(lines + ["```", ""])


def network(a, family: str, train_file: Path, heldout: Path, hadron_rate: float) -> dict:
    """Train one family, time its sampling, measure its quality; the results entry."""
    t = train(a, family, train_file)
    entry, fake = sample(a, family, t.pop("run"))
    entry.update(train=t, quality=quality(heldout, fake, a.seed, a.n_boot), ratio_to_hadron=entry["rate"] / hadron_rate)
    auc = entry["quality"]["auc"]
    entry["meets_aim"] = bool(entry["ratio_to_hadron"] >= AIM_RATIO and auc is not None and auc <= AIM_AUC)
    return entry


def run(a) -> dict:
    a.out.mkdir(parents=True, exist_ok=True)
    import torch
    torch.set_num_threads(a.threads)
    hard, hadron, train_file, heldout = run_pythia(a)
    learn_file = to_bounded(train_file, a.out / "pythia_train_bounded.h5") if a.reparametrize == "ttbar" else train_file
    res = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()},
           "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                      f"torch {torch.__version__}",
           "aim": {"ratio_to_hadron": AIM_RATIO, "auc": AIM_AUC},
           "pythia": {"hard": hard, "hadron": hadron,
                      "heldout_command": show(pythia_argv(a, a.n_heldout, a.seed + 2, heldout))},
           "networks": {}, "failed": {}}
    for family in a.families:
        print(f"training {family} for up to {a.max_time:g} s ...", file=sys.stderr)
        try:
            res["networks"][family] = network(a, family, learn_file, heldout, hadron["rate"])
        except (RuntimeError, ValueError) as exc:   # one family's failure is recorded, the others still run
            print(f"{family}: {exc}", file=sys.stderr)
            res["failed"][family] = str(exc)
    return res


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    try:
        res = run(a)
    except RuntimeError as exc:                # a Pythia command failed (e.g. files exist: --overwrite)
        print(f"generator_speed: {exc}", file=sys.stderr)
        return 2
    table = markdown(res)
    from physgen.atomic import write_json, write_text
    write_json(a.out / "results.json", res)
    write_text(a.out / "results.md", table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
