"""Demo stages for the model families: train on the demo's Ising data conditioned on temperature,
sample at every trained temperature, and judge the samples with the evaluation suite.

The full demo trains each family with its own defaults (its default budget, or ``physgen demo --max-time``).
Quick mode trains each family for a fixed number of optimizer steps with settings sized for the quick
lattices (:class:`QuickPlan`): the same command and seed give the same models on any host; a time cap
(:data:`SAFETY_CAP_S`) only guards against a stalled machine, and the report says when it ended a run."""
from __future__ import annotations

import csv
import json
import shlex
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from physgen.demo.ising_stage import plot_snapshots, thermodynamics_table
from physgen.demo.runner import StageContext

EVAL_METRICS = ("kl", "mmd", "c2st", "observables")
SAFETY_CAP_S = 1800.0  # quick mode: seconds after which a model stage's training stops short of its steps
JUDGE_FACTOR = 3   # samples drawn per training configuration for the observables and the demo's checks
QUICK_SETS = ("data.val_fraction=0",)  # quick mode: no held-out split, no quality probes (the stage judges)


@dataclass(frozen=True)
class QuickPlan:
    """A family's quick-mode run: ``steps`` optimizer steps with the ``--set`` overrides ``sets`` (model size,
    learning-rate schedule, sampling steps) on top of the family's defaults."""

    steps: int
    sets: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelPlan:
    """A model stage: the registered family, trained with its defaults (full demo) or with ``quick``."""

    model: str
    quick: QuickPlan = field(default_factory=lambda: QuickPlan(1000))


@dataclass(frozen=True)
class Budget:
    """What a model stage trains for: ``steps`` (a step budget, with ``max_time`` as a safety cap),
    ``max_time`` alone (a time budget), or neither (the family's default budget); ``sets`` are --set items."""

    steps: int | None
    max_time: float | None
    sets: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.steps is not None:
            return f"{self.steps:,} steps"
        if self.max_time is not None:
            return f"{self.max_time:g} s"
        return "the family's default budget"


def budget(plan: ModelPlan, ctx: StageContext) -> Budget:
    """``physgen demo --max-time S``: S seconds (quick mode keeps its model settings); else quick mode's
    step budget of ``plan`` under :data:`SAFETY_CAP_S`, or the family's defaults in the full demo."""
    sets = (*QUICK_SETS, *plan.quick.sets) if ctx.quick else ()
    if ctx.max_time is not None:
        return Budget(None, ctx.max_time, sets)
    if ctx.quick:
        return Budget(plan.quick.steps, SAFETY_CAP_S, sets)
    return Budget(None, None)


def train_command(plan: ModelPlan, ctx: StageContext, data: str) -> str:
    """The ``physgen train`` command a model stage runs (``--no-progress`` only keeps the log quiet)."""
    b = budget(plan, ctx)
    args = ["physgen", "train", plan.model, "--data", str(data), "--out", str(ctx.path("run")),
            "--condition", "temperature"]
    if b.steps is not None:
        args += ["--steps", str(b.steps)]
    if b.max_time is not None:
        args += ["--max-time", f"{b.max_time:g}"]
    for item in b.sets:
        args += ["--set", item]
    return shlex.join([*args, "--seed", str(ctx.seed), "--no-progress"])


def sample_command(ctx: StageContext, n: int) -> str:
    """The ``physgen sample`` command of a model stage (the last checkpoint: the state after the budget)."""
    return shlex.join(["physgen", "sample", str(ctx.path("run")), "--n", str(n), "--checkpoint", "latest",
                       "--seed", str(ctx.seed), "--out", str(ctx.path("samples.h5"))])


def _train(plan: ModelPlan, ctx: StageContext, data: str):
    """Train with the stage's budget (resuming an interrupted earlier attempt from its checkpoint) and return
    the run loaded at its last checkpoint, which a step budget makes the same on every host."""
    from physgen.training import load_run, train
    from physgen.training.checkpoint import latest

    b = budget(plan, ctx)
    run_dir = ctx.path("run")
    common = dict(sets=tuple(b.sets), steps=b.steps, max_time=b.max_time, device=ctx.device, progress=False)
    if latest(run_dir / "checkpoints") is not None:  # (killed before its first checkpoint: start again)
        train(plan.model, data=data, out=run_dir, resume=True, **common)
    else:
        train(plan.model, data=data, out=run_dir, overwrite=True, condition="temperature", seed=ctx.seed, **common)
    return load_run(run_dir, device=ctx.device, which="latest")


def sample_like(run, real, seed: int, factor: int = 1):
    """``factor × len(real)`` samples at the sampler's defaults (``physgen sample RUN --n N``): a run
    conditioned on the temperature spreads them evenly over its trained temperatures, which is how the
    demo's real data is laid out (the same number of configurations at each temperature)."""
    return run.sample(factor * len(real), seed=seed)


def first_per_temperature(ds, k: int):
    """The first ``k`` configurations of each temperature of ``ds`` (in the file's order of temperatures)."""
    temps = ds.conditions["temperature"]
    rows = np.concatenate([np.flatnonzero(temps == t)[:k] for t in dict.fromkeys(temps.tolist())])
    return ds.subset(rows)


def _loss_curve(run_dir):
    """Figure of every logged loss column of metrics.csv against the step."""
    import matplotlib.pyplot as plt

    with open(run_dir / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    fig, ax = plt.subplots(figsize=(6, 3))
    cols = [c for c in (rows[0] if rows else {}) if "loss" in c]
    for col in cols:
        pts = [(float(r["step"]), float(r[col])) for r in rows if r.get(col) not in (None, "", "nan")]
        if pts:
            ax.plot(*zip(*pts), label=col)
    ax.set_xlabel("step")
    ax.legend(fontsize=8)
    return fig


def run_warnings(run_dir) -> list[str]:
    """The warnings a run's diagnostics recorded (``RUN/diagnostics/diagnostics.json``; GANs: mode collapse,
    a winning discriminator), as their messages."""
    path = run_dir / "diagnostics" / "diagnostics.json"
    try:
        found = json.loads(path.read_text(encoding="utf-8")).get("warnings", [])
    except (OSError, ValueError):
        return []
    return [str(w.get("message", w)) if isinstance(w, dict) else str(w) for w in found]


def _budget_sentence(plan: ModelPlan, ctx: StageContext, b: Budget, run, n_params: int, seconds: float) -> str:
    if b.steps is not None:
        reached = f"{run.step:,} steps" if run.step >= b.steps else \
            f"only {run.step:,} of {b.steps:,} steps: the {b.max_time:g} s safety cap ended it"
        head = (f"Quick mode: {b.describe()} of training ({reached}, {seconds:.0f} s), the family's defaults with "
                f"the settings below for the small lattices ({n_params:,} parameters)")
    elif b.max_time is not None:
        head = f"The family's defaults with a {b.describe()} budget ({n_params:,} parameters, {run.step:,} steps)"
    else:
        head = f"The family's defaults and default budget ({n_params:,} parameters, {run.step:,} steps, {seconds:.0f} s)"
    return head + ", then samples at the sampler's defaults, spread over the trained temperatures:"


def model_stage(plan: ModelPlan):
    """A demo stage function for ``plan`` (needs the ``ising`` stage's data)."""
    def stage(ctx: StageContext) -> dict[str, Any]:
        import time

        from physgen.data import load, save
        from physgen.metrics import evaluate
        from physgen.report.evaluate_plots import metrics_rows

        data = ctx.results["ising"]["summary"]["model_data"]
        real = load(data)
        b = budget(plan, ctx)
        start = time.perf_counter()
        run = _train(plan, ctx, data)
        seconds = time.perf_counter() - start
        judged = sample_like(run, real, ctx.seed, JUDGE_FACTOR)   # the observables' checks: less sampling noise
        save(judged, ctx.path("samples.h5"), overwrite=True)
        fake = first_per_temperature(judged, len(real) // len(np.unique(real.conditions["temperature"])))
        result = evaluate(real, fake, list(EVAL_METRICS), seed=ctx.seed, n_boot=50 if ctx.quick else 100)
        n_params = sum(p.numel() for p in run.model.parameters())
        warnings = run_warnings(ctx.path("run"))
        ctx.report.text(_budget_sentence(plan, ctx, b, run, n_params, seconds))
        ctx.report.code(f"{train_command(plan, ctx, data)}\n{sample_command(ctx, len(judged))}")
        for message in warnings:
            ctx.report.text(f"Training warning: {message}", cls="fail")
        ctx.report.table(["metric", "value", "error", "floor (real vs real)", "floor error", "value / floor"],
                         metrics_rows(result))
        ctx.report.figure(_loss_curve(ctx.path("run")), "training curve", ctx.path("loss.png"))
        ctx.report.figure(plot_snapshots(fake), "generated configurations", ctx.path("snapshots.png"))
        table = thermodynamics_table(judged, ctx.seed)
        return {"model": plan.model, "parameters": n_params, "steps": run.step, "budget": b.describe(),
                "budget_steps": b.steps, "budget_s": b.max_time, "sets": list(b.sets), "train_s": seconds,
                "command": train_command(plan, ctx, data), "warnings": warnings,
                "metrics": {k: {f: v.get(f) for f in ("value", "error", "floor")}
                            for k, v in result.items() if not k.startswith("_")},
                "observables": {str(t): v for t, v in table.items()}}
    return stage
