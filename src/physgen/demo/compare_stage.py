"""Demo stage: every model family side by side against Monte Carlo and Onsager, with the demo's checks."""
from __future__ import annotations

from typing import Any

from physgen.atomic import write_json
from physgen.demo.ising_stage import plot_observables
from physgen.demo.runner import StageContext

COLUMNS = (("kl", "KL(e,|m|)"), ("mmd", "MMD"), ("c2st_auc", "classifier AUC"), ("observables", "obs. χ²/dof"))
# the demo's check of every family at the lowest and highest trained temperature: |model / Monte Carlo − 1|
BOUNDS = {"energy": 0.10, "abs_magnetization": 0.15}
RESULTS = "results.json"  # OUT/results.json: each family's budget, its checks and its warnings


def _cell(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("value") is None:
        return "—"
    err = f" ± {entry['error']:.2g}" if entry.get("error") is not None else ""
    floor = f" (floor {entry['floor']:.3g})" if entry.get("floor") is not None else ""
    return f"{entry['value']:.3g}{err}{floor}"


def checks(model_obs: dict[float, dict[str, Any]], mc: dict[float, dict[str, Any]]) -> dict[str, Any]:
    """Relative errors of ⟨e⟩ and ⟨|m|⟩ against Monte Carlo at the lowest and highest temperature the model
    was trained at, each against its bound in :data:`BOUNDS`."""
    temps = sorted(model_obs)
    out = {}
    for t in (temps[0], temps[-1]):
        row = {}
        for key, bound in BOUNDS.items():
            value, ref = model_obs[t][key]["value"], mc[t][key]["value"]
            rel = abs(value / ref - 1.0)
            row[key] = {"model": value, "monte_carlo": ref, "relative_error": rel, "bound": bound,
                        "ok": bool(rel <= bound)}
        out[f"{t:g}"] = row
    return out


def compare_stage(ctx: StageContext) -> dict[str, Any]:
    models = {name: r["summary"] for name, r in ctx.results.items()
              if r.get("status") == "ok" and "model" in (r.get("summary") or {})}
    mc = {float(t): v for t, v in ctx.results["ising"]["summary"]["observables"].items()}
    tables = {"Monte Carlo": mc}
    tables.update({f"{s['model']} ({s.get('budget', '?')})": {float(t): v for t, v in s["observables"].items()}
                   for s in models.values()})
    ctx.report.text("Observables of every model's samples at the trained temperatures, beside Monte Carlo "
                    "(the training data) and Onsager's infinite-lattice solution; the legend gives each model's "
                    "training budget. Table: each metric's value with its bootstrap error and the real-vs-real "
                    "floor; a value near its floor is within the noise of the Monte Carlo data itself.")
    fig = plot_observables(tables)
    fig.suptitle("budgets: " + ", ".join(f"{s['model']} {s.get('budget', '?')}" for s in models.values()),
                 fontsize=9)
    fig.tight_layout()
    ctx.report.figure(fig, "observables of all models", ctx.path("observables.png"))
    rows, results = [], {}
    for name, s in models.items():
        seconds = ctx.results[name].get("seconds", 0.0)
        rows.append([s["model"], *(_cell(s["metrics"].get(key)) for key, _ in COLUMNS),
                     f"{s['parameters']:,}", s.get("budget", "?"), s["steps"], f"{seconds:.0f}"])
        found = checks({float(t): v for t, v in s["observables"].items()}, mc)
        warnings = list(s.get("warnings", []))
        passed = all(c["ok"] for row in found.values() for c in row.values()) and not warnings
        results[name] = {"model": s["model"], "budget": s.get("budget"), "budget_steps": s.get("budget_steps"),
                         "steps": s["steps"], "parameters": s["parameters"], "seconds": seconds,
                         "checks": found, "warnings": warnings, "passed": passed}
    ctx.report.table(["model", *(label for _, label in COLUMNS), "parameters", "budget", "steps", "stage s"], rows)
    ctx.report.text(f"Checks: ⟨e⟩ within {BOUNDS['energy']:.0%} and ⟨|m|⟩ within {BOUNDS['abs_magnetization']:.0%} "
                    "of Monte Carlo at the lowest and highest trained temperature, and no training warning "
                    f"(also in {RESULTS}).")
    check_rows = []
    for name, r in results.items():
        for t, row in r["checks"].items():
            check_rows.append([r["model"], t, *(f"{row[k]['relative_error']:.1%}" for k in BOUNDS),
                               "pass" if all(c["ok"] for c in row.values()) else "FAIL"])
        if r["warnings"]:
            check_rows.append([r["model"], "", "", "", f"FAIL: {len(r['warnings'])} warning(s)"])
    ctx.report.table(["model", "T", "⟨e⟩ error", "⟨|m|⟩ error", "check"], check_rows)
    summary = {"quick": ctx.quick, "bounds": BOUNDS, "families": results,
               "passed": bool(results) and all(r["passed"] for r in results.values())}
    write_json(ctx.out_dir / RESULTS, summary)
    return {"models": sorted(models), "passed": summary["passed"]}
