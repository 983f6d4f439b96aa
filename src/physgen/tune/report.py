"""``report.html``: the study at a glance, self-contained (:class:`physgen.report.Report`).

Sections: a summary, the optimisation history (every trial's value and the best so far), the parameter
importances (Optuna's fANOVA evaluator, Hutter, Hoos & Leyton-Brown 2014: the share of the variance of
the objective each parameter explains, over the completed trials), the intermediate scores that drove
pruning, the best configuration and the trials table.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from physgen import config as C
from physgen.report import Report
from physgen.tune.outputs import best_config, best_trial, trials_table
from physgen.tune.space import Space


def importances(study, seed: int) -> dict[str, float]:
    """``{parameter: importance}`` (normalised to sum 1) over the completed trials; empty when they
    are too few (fewer than 2) or no parameter varies."""
    import optuna
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(done) < 2:
        return {}
    try:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
        return dict(optuna.importance.get_param_importances(study, evaluator=evaluator))
    except (RuntimeError, ValueError):  # e.g. every completed trial has the same parameters
        return {}


def history_figure(study, objective: str):
    """Every complete trial's value, the best so far, the held-out floor; pruned trials as marks on the axis."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from optuna.trial import TrialState

    fig, ax = plt.subplots(figsize=(7, 3.6))
    trials = study.get_trials(deepcopy=False)
    done = [(t.number, t.value) for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    pruned = [t.number for t in trials if t.state == TrialState.PRUNED]
    if done:
        n, v = map(np.asarray, zip(*done))
        ax.plot(n, v, "o", label="complete")
        ax.step(n, np.minimum.accumulate(v), where="post", color="C3", label="best so far")
    if pruned:  # their values are trainer scores, not the objective: marked on the axis only
        ax.plot(pruned, np.zeros(len(pruned)), "x", color="0.5", clip_on=False, transform=ax.get_xaxis_transform(),
                label="pruned")
    floors = [t.user_attrs.get("floor") for t in trials if t.user_attrs.get("floor") is not None]
    if floors:  # the same held-out halves and seed in every trial: one floor
        ax.axhline(floors[0], ls="--", color="0.4", lw=1, label="held-out floor")
    ax.set_xlabel("trial")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"{objective} (lower is better)")
    if done or pruned or floors:
        ax.legend(loc="best", fontsize=8)
    return fig


def importance_figure(values: dict[str, float]):
    import matplotlib.pyplot as plt

    names = list(values)[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.4 * len(names)))
    ax.barh(names, [values[k] for k in names], color="C0")
    ax.set_xlabel("importance (fANOVA, share of the objective's variance)")
    return fig


def intermediate_figure(study):
    """Reported scores per trial against the report ordinal k; None when no trial reported."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    curves = [t for t in study.get_trials(deepcopy=False) if t.intermediate_values]
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for t in curves:
        k = sorted(t.intermediate_values)
        ax.plot(k, [t.intermediate_values[i] for i in k], "-", lw=1,
                color="0.6" if t.state.name == "PRUNED" else "C0")
    ax.set_xlabel("quality report k")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("trainer's quality score (grey: pruned)")
    return fig


def write_report(path: str | Path, study, space: Space, settings: dict[str, Any]) -> Path:
    """Write ``report.html`` for ``study`` atomically."""
    rep = Report(f"physgen tune: {settings['model']}, objective {settings['objective']}")
    states: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        states[t.state.name.lower()] = states.get(t.state.name.lower(), 0) + 1
    best = best_trial(study)
    rows = [["model", settings["model"]], ["data", settings.get("data", "")],
            ["objective", settings["objective"]], ["trial time (s)", settings["trial_time"]],
            ["seed", settings["seed"]], ["trials", ", ".join(f"{v} {k}" for k, v in states.items()) or "none"]]
    if best is not None:
        floor = best.user_attrs.get("floor")
        rows += [["best trial", best.number], ["best value", best.value],
                 ["held-out floor", "" if floor is None else floor]]
    rep.section("Summary").table(["", ""], rows)
    rep.text("Lower is better. The floor is the same metric between two halves of the held-out data: "
             "values near it cannot be told apart from the data.", cls="note")
    rep.section("Optimisation history").figure(history_figure(study, settings["objective"]), "optimisation history")
    values = importances(study, int(settings["seed"]))
    rep.section("Parameter importances")
    if values:
        rep.figure(importance_figure(values), "parameter importances")
    else:
        rep.text("Not available: needs at least two completed trials with different parameters.", cls="note")
    fig = intermediate_figure(study)
    if fig is not None:
        rep.section("Scores during training (pruning)").figure(fig, "intermediate scores")
    cfg = best_config(study, space, settings)
    if cfg is not None:
        rep.section("Best configuration (best.toml)").code(C.dumps_toml(cfg))
    header, table = trials_table(study, space)
    rep.section("Trials").table(header, [["" if v is None else v for v in row] for row in table])
    rep.section("Search space").code("\n".join(f"{k}: {v}" for k, v in space.to_json().items()))
    return rep.write(path)
