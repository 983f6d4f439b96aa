"""The study's files besides the SQLite database: ``best.toml`` and ``trials.csv`` (atomic writes).

``best.toml`` is a run config (``model_name`` and ``[model]``/``[train]``/``[data]`` sections) holding
the best trial's searched values plus what every trial shared (``train.max_time`` = ``--trial-time`` with
``train.steps`` and ``train.epochs`` none — a time budget —, ``train.seed``, ``data.condition``), so
``physgen train MODEL --data FILE --out RUN --config best.toml`` repeats that trial's training on any data file;
flags still override it (e.g. ``--max-time``).
``trials.csv`` has one row per trial: ``number, state, value, seconds`` and one column per parameter;
``value`` is the objective of complete trials (empty for pruned and failed ones).
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from physgen import config as C
from physgen.atomic import write_text
from physgen.tune.space import Space, nested

BEST, TRIALS_CSV = "best.toml", "trials.csv"


def best_trial(study):
    """The complete trial with the lowest value, or None."""
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]
    return min(done, key=lambda t: (t.value, t.number)) if done else None


def best_config(study, space: Space, settings: dict[str, Any]) -> dict[str, Any] | None:
    """The nested config dict of the best trial (None before any trial completed)."""
    best = best_trial(study)
    if best is None:
        return None
    values = space.decode(best.params)
    values["train.max_time"] = float(settings["trial_time"])
    for key in ("train.steps", "train.epochs"):   # the trials' time budget, not the family's steps
        values.setdefault(key, None)
    values["train.seed"] = int(settings["seed"])
    if settings.get("condition"):
        values["data.condition"] = settings["condition"]
    sections = nested(values)
    return {"model_name": settings["model"], **{s: sections.get(s, {}) for s in C.SECTIONS}}


def write_best(path: str | Path, study, space: Space, settings: dict[str, Any]) -> Path | None:
    """Write ``best.toml``; returns its path (None when no trial has completed yet)."""
    cfg = best_config(study, space, settings)
    if cfg is None:
        return None
    best = best_trial(study)
    floor = best.user_attrs.get("floor")
    floor_text = f", held-out floor {floor:.4g}" if isinstance(floor, float) else ""
    header = (f"# physgen tune: best of {len(study.get_trials(deepcopy=False))} trials: trial {best.number}, "
              f"{settings['objective']} = {best.value:.6g}{floor_text}\n"
              f"# train with: physgen train {settings['model']} --data FILE --out RUN --config {Path(path).name}\n")
    return write_text(path, header + C.dumps_toml(cfg))


def trials_table(study, space: Space) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of ``trials.csv`` (one row per trial, in trial order)."""
    keys = space.keys
    rows = []
    for t in study.get_trials(deepcopy=False):
        seconds = t.duration.total_seconds() if t.duration is not None else None
        values = space.decode(t.params)
        value = t.value if t.state.name == "COMPLETE" else None  # a pruned trial's is a trainer score
        rows.append([t.number, t.state.name.lower(), value, None if seconds is None else round(seconds, 3),
                     *[_cell(values.get(k)) for k in keys]])
    return ["number", "state", "value", "seconds", *keys], rows


def write_trials_csv(path: str | Path, study, space: Space) -> Path:
    header, rows = trials_table(study, space)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return write_text(path, buf.getvalue())


def _cell(v: Any) -> Any:
    return json.dumps(list(v)) if isinstance(v, (list, tuple)) else v
