"""Demo stage: every model family side by side against Monte Carlo and Onsager."""
from __future__ import annotations

from typing import Any

from physgen.demo.ising_stage import plot_observables
from physgen.demo.runner import StageContext

COLUMNS = (("kl", "KL(e,|m|)"), ("mmd", "MMD"), ("c2st_auc", "classifier AUC"), ("observables", "obs. χ²/dof"))


def _cell(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("value") is None:
        return "—"
    err = f" ± {entry['error']:.2g}" if entry.get("error") is not None else ""
    floor = f" (floor {entry['floor']:.3g})" if entry.get("floor") is not None else ""
    return f"{entry['value']:.3g}{err}{floor}"


def compare_stage(ctx: StageContext) -> dict[str, Any]:
    models = {name: r["summary"] for name, r in ctx.results.items()
              if r.get("status") == "ok" and "model" in (r.get("summary") or {})}
    mc = {float(t): v for t, v in ctx.results["ising"]["summary"]["observables"].items()}
    tables = {"Monte Carlo": mc}
    tables.update({s["model"]: {float(t): v for t, v in s["observables"].items()} for s in models.values()})
    ctx.report.text("Observables of every model's samples at the trained temperatures, beside Monte Carlo "
                    "(the training data) and Onsager's infinite-lattice solution. Table: each metric's value "
                    "with its bootstrap error and the real-vs-real floor; a value near its floor is within "
                    "the noise of the Monte Carlo data itself.")
    ctx.report.figure(plot_observables(tables), "observables of all models", ctx.path("observables.png"))
    rows = []
    for name, s in models.items():
        seconds = ctx.results[name].get("seconds", 0.0)
        rows.append([s["model"], *(_cell(s["metrics"].get(key)) for key, _ in COLUMNS),
                     f"{s['parameters']:,}", s["steps"], f"{seconds:.0f}"])
    ctx.report.table(["model", *(label for _, label in COLUMNS), "parameters", "steps", "stage s"], rows)
    return {"models": sorted(models)}
