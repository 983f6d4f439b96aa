"""The jets targets at their published scale: Pythia gluon and top jets, both point-cloud families at their
defaults, every JetNet metric against its truth-vs-truth floor.

Stages, each a list of ``physgen`` commands run as a user types them (each skipped when its output exists, so an
interrupted protocol continues where it stopped; an unfinished training continues with ``--resume``):

1. ``data`` — ``physgen data jets`` for each type: ``--n`` training jets (seeds 21, 22) and ``--n`` held-out
   jets (seeds 31, 32), 30 particles; the training files merged (labels 0 gluon, 2 top);
2. ``train`` — ``physgen train FAMILY --data train.h5 --condition labels`` with the family's defaults and no
   budget flag, for ``epic-fm`` and ``epic-gan``;
3. ``sample`` — ``physgen sample RUN --n GEN --condition labels=L`` per type, timed (jets per second beside
   ``physgen data jets``' own rate, from its ``data`` log);
4. ``evaluate`` — ``physgen evaluate --real TYPE_test.h5 --fake F`` for F = the other Pythia sample
   (truth vs truth) and each family's jets; every metric comes with its error and its floor (two halves of the
   held-out jets);
5. ``table`` — the markdown table: value ± error, floor, value/floor and the targets **FPD ≤ 3× its floor
   and W1 of the jet mass ≤ 2× its floor** (a floor below its own standard error counts as that error:
   :func:`resolved_floor`).

    python benchmarks/jets_targets.py --dir DIR [--n 50000] [--gen-n 50000] [--families epic-fm,epic-gan]
                                      [--stages data,train,sample,evaluate,table] [--threads 1]

Every command is recorded with its wall time in ``DIR/jets_targets.json``; logs are in ``DIR/logs``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_runs import check, run_physgen  # noqa: E402
from conditions import load, machine  # noqa: E402

TYPES = {"gluon": (0, 21, 31), "top": (2, 22, 32)}   # type -> (label in the merged file, train seed, test seed)
FAMILIES = ("epic-fm", "epic-gan")
STAGES = ("data", "train", "sample", "evaluate", "table")
TARGETS = {"fpd": 3.0, "w1m": 2.0}                    # value <= factor x floor
METRICS = ("w1m", "w1p", "w1efp", "fpd", "kpd")


def _run(state: dict, key: str, args: list[str], opts, timeout: float | None = None) -> dict:
    """One command, unless ``state`` already holds it as done; its record (command, wall time, load) is kept."""
    if state.get(key, {}).get("rc") == 0:
        return state[key]
    before = load()
    result = run_physgen(args, cwd=opts.dir, threads=opts.threads, log=opts.dir / "logs" / f"{key}.log",
                         timeout=timeout)
    state[key] = {**result, "load": f"{before} → {load()}", "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    _save(state, opts)
    check(result)
    return state[key]


def _save(state: dict, opts) -> None:
    """Merge ``state`` into the file (two invocations with different --families may run side by side)."""
    path = opts.dir / "jets_targets.json"
    merged = {**(json.loads(path.read_text()) if path.is_file() else {}), **state}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(merged, indent=1))
    tmp.replace(path)


def data(state: dict, opts) -> None:
    for t, (_, train_seed, test_seed) in TYPES.items():
        for part, seed in (("train", train_seed), ("test", test_seed)):
            if (opts.dir / f"{t}_{part}.h5").is_file():   # made earlier (its rate is in that run's log)
                continue
            _run(state, f"data-{t}-{part}", ["data", "jets", "--type", t, "--n", opts.n, "--seed", seed,
                                             "--out", f"{t}_{part}.h5"], opts)
    if not (opts.dir / "train.h5").is_file():
        _run(state, "data-merge", ["data", "merge", *(f"{t}_train.h5" for t in TYPES), "--out", "train.h5"], opts)


def train(state: dict, opts) -> None:
    for family in opts.families:
        run = opts.dir / "runs" / family
        resume = ["--resume"] if (run / "summary.json").is_file() else []   # an interrupted run continues
        _run(state, f"train-{family}", ["train", family, "--data", "train.h5", "--condition", "labels",
                                        "--out", f"runs/{family}", "--no-progress", *resume], opts)


def sample(state: dict, opts) -> None:
    for family in opts.families:
        for t, (label, *_) in TYPES.items():
            _run(state, f"sample-{family}-{t}", ["sample", f"runs/{family}", "--n", opts.gen_n, "--condition",
                                                 f"labels={label}", "--seed", label + 1,
                                                 "--out", f"gen/{family}-{t}.h5"], opts)


def evaluate(state: dict, opts) -> None:
    for t in TYPES:
        fakes = {"truth": f"{t}_train.h5", **{f: f"gen/{f}-{t}.h5" for f in opts.families}}
        for name, fake in fakes.items():
            _run(state, f"evaluate-{name}-{t}", ["evaluate", "--real", f"{t}_test.h5", "--fake", fake, "--out",
                                                 f"eval/{name}-{t}", "--no-plots"], opts)


def resolved_floor(entry: dict) -> float:
    """The floor a target multiplies: the truth-vs-truth value, or its standard error where that is larger (an
    extrapolated FPD between two halves of the same sample is zero within its error, and can come out negative:
    the smallest distance the comparison resolves is then its error)."""
    return max(entry["floor"], entry.get("floor_error") or 0.0)


def table(state: dict, opts) -> str:
    """The markdown table of every metric (rows: type x source), with the targets' verdicts."""
    lines = ["| type | jets from | " + " | ".join(f"`{m}` (floor)" for m in METRICS) + " | W1-mass / floor "
             "| FPD / floor | targets |", "|---|---|" + "---|" * (len(METRICS) + 3)]
    for t in TYPES:
        for name in ("truth", *opts.families):
            path = opts.dir / "eval" / f"{name}-{t}" / "metrics.json"
            if not path.is_file():
                continue
            m = json.loads(path.read_text())
            cells = [f"{m[k]['value']:.3g} ± {m[k]['error']:.2g} ({m[k]['floor']:.2g})" for k in METRICS]
            ratio = {k: m[k]["value"] / resolved_floor(m[k]) for k in TARGETS}
            ok = all(ratio[k] <= f for k, f in TARGETS.items())
            lines.append(f"| {t} | {'Pythia' if name == 'truth' else name} | " + " | ".join(cells)
                         + f" | {ratio['w1m']:.2g} | {ratio['fpd']:.2g} | {'met' if ok else 'missed'} |")
    rates = [f"{k}: {v['wall_s']:.0f} s" for k, v in state.items() if k.startswith(("train-", "sample-"))]
    return "\n".join([f"{machine()}; {opts.threads} thread(s)", "", *lines, "", "; ".join(rates)])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", type=Path, required=True, help="working directory (data, runs, samples, evaluations)")
    p.add_argument("--n", type=int, default=50_000, help="training and held-out jets per type (default 50000)")
    p.add_argument("--gen-n", type=int, default=50_000, help="generated jets per type and family (default 50000)")
    p.add_argument("--families", default=",".join(FAMILIES), help="comma list (default: epic-fm,epic-gan)")
    p.add_argument("--stages", default=",".join(STAGES), help="comma list of " + ",".join(STAGES))
    p.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of every command (default 1)")
    opts = p.parse_args(argv)
    opts.families = [f for f in opts.families.split(",") if f]
    stages = [s for s in opts.stages.split(",") if s]
    unknown = [s for s in stages if s not in STAGES] + [f for f in opts.families if f not in FAMILIES]
    if unknown or opts.n < 10 or opts.gen_n < 10 or opts.threads < 1:
        print(f"jets_targets.py: bad --stages/--families {unknown}, or --n/--gen-n < 10, or --threads < 1",
              file=sys.stderr)
        return 2
    opts.dir.mkdir(parents=True, exist_ok=True)
    state_file = opts.dir / "jets_targets.json"
    state = json.loads(state_file.read_text()) if state_file.is_file() else {}
    for stage in stages:
        if stage == "table":
            print(table(state, opts))
        else:
            globals()[stage](state, opts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
