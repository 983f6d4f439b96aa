"""Demo stages for the model families: train on the demo's Ising data conditioned on temperature,
sample at every trained temperature, and judge the samples with the evaluation suite."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Any

import numpy as np

from physgen.demo.ising_stage import plot_snapshots, thermodynamics_table
from physgen.demo.runner import StageContext

EVAL_METRICS = ("kl", "mmd", "c2st", "observables")
EPOCHS = 100_000


@dataclass(frozen=True)
class ModelPlan:
    """How the demo trains one family: CLI model name, config overrides, time budgets (s)."""

    model: str
    sets: tuple[str, ...] = ()
    quick_seconds: float = 12.0
    full_seconds: float = 60.0
    sample_options: tuple[tuple[str, object], ...] = ()  # passed to the model's sampler


def _train(plan: ModelPlan, ctx: StageContext, data: str):
    """Train (resuming an interrupted earlier attempt) and return the loaded run."""
    from physgen.training import load_run, train

    run_dir = ctx.path("run")
    seconds = plan.quick_seconds if ctx.quick else plan.full_seconds
    sets = (*plan.sets, "train.progress=false")
    if (run_dir / "checkpoints").is_dir():
        train(plan.model, data=data, out=run_dir, sets=sets, resume=True, max_time=seconds, device=ctx.device,
              epochs=EPOCHS)
    else:  # the wall-time budget ends training, not the epoch count
        train(plan.model, data=data, out=run_dir, sets=sets, overwrite=True, condition="temperature",
              max_time=seconds, seed=ctx.seed, device=ctx.device, epochs=EPOCHS)
    return load_run(run_dir, device=ctx.device)


def _sample_all(run, real, seed: int, options: dict):
    """As many samples per trained temperature as the real data has, in one Dataset."""
    from physgen.data import Dataset

    temps = real.conditions["temperature"]
    parts = [run.sample(int(np.sum(temps == t)), seed=seed + i, condition={"temperature": float(t)}, **options)
             for i, t in enumerate(np.unique(temps))]
    return Dataset(np.concatenate([p.samples for p in parts]), real.kind,
                   {"temperature": np.concatenate([p.conditions["temperature"] for p in parts])},
                   attrs={"J": real.attrs.get("J", 1.0), "h": real.attrs.get("h", 0.0)})


def sample_like(run, real, seed: int, options: dict | None = None):
    """Generated Dataset shaped like ``real`` for :func:`physgen.metrics.evaluate`: as many samples per
    trained temperature as ``real`` has when it carries ``/conditions/temperature`` (the demo's
    protocol), else ``len(real)`` unconditional samples.  ``options`` go to the model's sampler."""
    options = dict(options or {})
    if "temperature" in real.conditions:
        return _sample_all(run, real, seed, options)
    return run.sample(len(real), seed=seed, **options)


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
        fake = _sample_all(run, real, ctx.seed, dict(plan.sample_options))
        save(fake, ctx.path("samples.h5"), overwrite=True)
        result = evaluate(real, fake, list(EVAL_METRICS), seed=ctx.seed, n_boot=100)
        n_params = sum(p.numel() for p in run.model.parameters())
        ctx.report.text(f"physgen train {plan.model} --condition temperature "
                        f"{' '.join('--set ' + s for s in plan.sets)} (budget "
                        f"{plan.quick_seconds if ctx.quick else plan.full_seconds:g} s, {n_params:,} parameters, "
                        f"{run.step} steps); {len(fake)} samples at the trained temperatures.")
        ctx.report.table(["metric", "value", "error", "floor (real vs real)", "floor error", "value / floor"],
                         metrics_rows(result))
        ctx.report.figure(_loss_curve(ctx.path("run")), "training curve", ctx.path("loss.png"))
        ctx.report.figure(plot_snapshots(fake), "generated configurations", ctx.path("snapshots.png"))
        table = thermodynamics_table(fake, ctx.seed)
        return {"model": plan.model, "parameters": n_params, "steps": run.step,
                "metrics": {k: {f: v.get(f) for f in ("value", "error", "floor")}
                            for k, v in result.items() if not k.startswith("_")},
                "observables": {str(t): v for t, v in table.items()}}
    return stage
