"""Demo stages for the model families: train on the demo's Ising data conditioned on temperature,
sample at every trained temperature, and judge the samples with the evaluation suite."""
from __future__ import annotations

import csv
import shlex
from dataclasses import dataclass
from typing import Any

from physgen.demo.ising_stage import plot_snapshots, thermodynamics_table
from physgen.demo.runner import StageContext

EVAL_METRICS = ("kl", "mmd", "c2st", "observables")
BUDGET_S = {False: 60.0, True: 12.0}  # quick? -> default training budget of a model stage (seconds)


@dataclass(frozen=True)
class ModelPlan:
    """A model stage: the registered family, trained and sampled with its defaults (the budget is the
    demo's ``--max-time``, the same for every model stage)."""

    model: str


def budget(ctx: StageContext) -> float:
    """Seconds of training per model stage: ``physgen demo --max-time``, else 60 (``--quick``: 12)."""
    return ctx.max_time if ctx.max_time is not None else BUDGET_S[ctx.quick]


def train_command(plan: ModelPlan, ctx: StageContext, data: str) -> str:
    """The ``physgen train`` command a model stage runs (``--no-progress`` only keeps the log quiet)."""
    return shlex.join(["physgen", "train", plan.model, "--data", str(data), "--out", str(ctx.path("run")),
                       "--condition", "temperature", "--max-time", f"{budget(ctx):g}", "--seed", str(ctx.seed),
                       "--no-progress"])


def _train(plan: ModelPlan, ctx: StageContext, data: str):
    """Train with the family's defaults and the stage's time budget (resuming an interrupted earlier
    attempt from its checkpoint) and return the loaded run."""
    from physgen.training import load_run, train
    from physgen.training.checkpoint import latest

    run_dir = ctx.path("run")
    common = dict(sets=("train.progress=false",), max_time=budget(ctx), device=ctx.device)
    if latest(run_dir / "checkpoints") is not None:  # (killed before its first checkpoint: start again)
        train(plan.model, data=data, out=run_dir, resume=True, **common)
    else:
        train(plan.model, data=data, out=run_dir, overwrite=True, condition="temperature", seed=ctx.seed, **common)
    return load_run(run_dir, device=ctx.device)


def sample_like(run, real, seed: int):
    """``len(real)`` samples at the sampler's defaults (``physgen sample RUN --n len(real)``): a run
    conditioned on the temperature spreads them evenly over its trained temperatures, which is how the
    demo's real data is laid out (the same number of configurations at each temperature)."""
    return run.sample(len(real), seed=seed)


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


def model_stage(plan: ModelPlan):
    """A demo stage function for ``plan`` (needs the ``ising`` stage's data)."""
    def stage(ctx: StageContext) -> dict[str, Any]:
        from physgen.data import load, save
        from physgen.metrics import evaluate
        from physgen.report.evaluate_plots import metrics_rows

        data = ctx.results["ising"]["summary"]["model_data"]
        real = load(data)
        run = _train(plan, ctx, data)
        fake = sample_like(run, real, ctx.seed)
        save(fake, ctx.path("samples.h5"), overwrite=True)
        result = evaluate(real, fake, list(EVAL_METRICS), seed=ctx.seed, n_boot=100)
        n_params = sum(p.numel() for p in run.model.parameters())
        ctx.report.text(f"The family's defaults with a {budget(ctx):g} s budget ({n_params:,} parameters, "
                        f"{run.step} steps), then {len(fake)} samples at the sampler's defaults, spread over the "
                        "trained temperatures:")
        ctx.report.code(f"{train_command(plan, ctx, data)}\n"
                        f"physgen sample {shlex.quote(str(ctx.path('run')))} --n {len(fake)} "
                        f"--seed {ctx.seed} --out {shlex.quote(str(ctx.path('samples.h5')))}")
        ctx.report.table(["metric", "value", "error", "floor (real vs real)", "floor error", "value / floor"],
                         metrics_rows(result))
        ctx.report.figure(_loss_curve(ctx.path("run")), "training curve", ctx.path("loss.png"))
        ctx.report.figure(plot_snapshots(fake), "generated configurations", ctx.path("snapshots.png"))
        table = thermodynamics_table(fake, ctx.seed)
        return {"model": plan.model, "parameters": n_params, "steps": run.step, "budget_s": budget(ctx),
                "command": train_command(plan, ctx, data),
                "metrics": {k: {f: v.get(f) for f in ("value", "error", "floor")}
                            for k, v in result.items() if not k.startswith("_")},
                "observables": {str(t): v for t, v in table.items()}}
    return stage
