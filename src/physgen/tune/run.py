"""``tune(...)``: what ``physgen tune`` runs — check everything, split the data, run the trials, write.

Every check on user input happens before anything is written: the numbers, ``--out``, the model and
data, the objective for the data, the condition and the space (each range end and choice must give a
valid config).  Then the study is opened or continued (:mod:`.study`; other settings are refused), the
data is split once (:mod:`.split`) and trials run until the study holds ``trials`` finished ones;
``best.toml`` and ``trials.csv`` are rewritten after every trial and ``report.html`` at the end.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from physgen.data import load
from physgen.errors import UserError, as_written
from physgen.models import registry
from physgen.models.base import DataSpec
from physgen.runlock import LOCK_NAME, RunLock
from physgen.training.rundir import file_sha256
from physgen.tune import outputs, split, study as S
from physgen.tune.defaults import default_space, effective_config
from physgen.tune.report import write_report
from physgen.tune.scoring import check_objective
from physgen.tune.space import Space, check_space, load_space
from physgen.tune.trial import TrialSetup, run_trial, takes_callbacks

REPORT = "report.html"
MIN_SAMPLES = 10  # 2 held out at least, and a training set


def check_inputs(model: str, *, data, out, trials: int, trial_time: float, objective: str,
                 space_file=None, condition: str | None = None) -> Space:
    """Validate the request; returns the search space or raises UserError."""
    if not isinstance(trials, int) or trials < 1:
        raise UserError("must be an integer >= 1", key="trials", value=trials)
    if not trial_time > 0:
        raise UserError("must be > 0 seconds", key="trial_time", value=trial_time)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError("is a file, expected a directory", key="out", value=out)
    if out.is_dir() and any(p.name != LOCK_NAME for p in out.iterdir()) and not (out / S.STUDY_FILE).is_file():
        raise UserError(f"exists and holds no study ({S.STUDY_FILE}); use a new or empty directory", key="out", value=out)
    S.optuna_module()
    cls = registry.get(model)
    ds = load(data)
    if len(ds) < MIN_SAMPLES:
        raise UserError(f"{len(ds)} samples are too few to tune on (need >= {MIN_SAMPLES})", key="data", value=data)
    check_objective(objective, ds, condition)
    spec = DataSpec.from_dataset(ds, condition)
    if spec.kind not in cls.kinds:
        raise UserError(f"MODEL {model}: cannot model data of kind {spec.kind!r} (supported: {', '.join(cls.kinds)})")
    cls(effective_config(cls, spec).model, spec)  # the family's defaults build for this data
    n_train = len(ds) - int(round(split.HELDOUT_FRACTION * len(ds)))
    space = load_space(space_file, cls.config_class) if space_file else default_space(cls, spec, n_train)
    check_space(space, model, cls.config_class, cls.defaults(spec), str(space_file) if space_file else None)
    return space


def tune(model: str, *, data: str | Path, out: str | Path, trials: int, trial_time: float, objective: str = "kl",
         space_file: str | Path | None = None, seed: int = 0, condition: str | None = None,
         log: Callable[[str], None] = print, train: Callable[..., dict] | None = None,
         load_run: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Run (or continue) a study in ``out``; returns ``{"best": path | None, "best_trial", "best_value",
    "n_trials"}``.  ``train``/``load_run`` default to :mod:`physgen.training`'s."""
    from physgen import training

    train = train or training.train
    space = check_inputs(model, data=data, out=out, trials=trials, trial_time=trial_time,
                         objective=objective, space_file=space_file, condition=condition)
    with RunLock(out):  # one writer per study directory
        return _study(model, space, data=data, out=Path(out), trials=trials, trial_time=trial_time,
                      objective=objective, seed=seed, condition=condition, log=log, train=train, load_run=load_run)


def _study(model: str, space: Space, *, data, out: Path, trials: int, trial_time: float, objective: str, seed: int,
           condition: str | None, log: Callable[[str], None], train: Callable[..., dict],
           load_run: Callable[..., Any] | None) -> dict[str, Any]:
    """Open or continue the study in ``out`` (locked) and run trials until it holds ``trials`` finished ones."""
    settings = {"model": model, "data": str(Path(data).resolve()), "data_sha256": file_sha256(data),
                "objective": objective, "space": space.to_json(), "seed": seed, "trial_time": float(trial_time),
                "condition": condition}
    study = S.open_study(out, settings, seed=seed, n_trials=trials)  # refuses other settings before any write
    split.make_split(data, out / "data", seed=seed, condition=condition)
    if not takes_callbacks(train):
        log("note: this trainer reports no validation quality (no on_quality event): trials are not pruned")
    setup = TrialSetup(model, space, out / "data" / split.TRAIN, load(out / "data" / split.HELDOUT),
                       out / "trials", float(trial_time), objective, seed, condition, train, load_run)
    remaining = trials - len(S.finished(study))
    if remaining <= 0:
        log(f"the study in {out} already has {len(S.finished(study))} finished trials ({as_written('trials')} {trials})")
    for _ in range(max(0, remaining)):
        line = _one_trial(study, setup, trials)
        outputs.write_trials_csv(out / outputs.TRIALS_CSV, study, space)
        outputs.write_best(out / outputs.BEST, study, space, settings)
        log(line)
    write_report(out / REPORT, study, space, settings)
    return _summary(study, out, objective, log)


def _one_trial(study, setup: TrialSetup, total: int) -> str:
    """Ask, run and tell one trial; returns its one-line account."""
    from optuna import TrialPruned
    from optuna.trial import TrialState

    trial = study.ask()
    started = time.monotonic()
    note = ""
    try:
        value = run_trial(trial, setup)
    except TrialPruned as exc:
        study.tell(trial, state=TrialState.PRUNED)
        note = str(exc)
    except UserError as exc:  # a diverged run or a combination of values the model refuses
        trial.set_user_attr("error", str(exc))
        study.tell(trial, state=TrialState.FAIL)
        note = str(exc)
    except BaseException:
        study.tell(trial, state=TrialState.FAIL)
        raise
    else:
        study.tell(trial, value)
    frozen = study.get_trials(deepcopy=False)[trial.number]
    return _line(frozen, setup, total, time.monotonic() - started, note)


def _line(t, setup: TrialSetup, total: int, seconds: float, note: str) -> str:
    """``trial 3 (4/20): kl 0.1234  train.lr=0.001 model.n_hidden=64  (61.2 s)`` (a failed one adds why)."""
    values = setup.space.decode(t.params)
    params = " ".join(f"{k}={_short(v)}" for k, v in values.items())
    state = t.state.name.lower()
    result = f"{setup.objective} {t.value:.5g}" if state == "complete" else state
    line = f"trial {t.number} ({t.number + 1}/{total}): {result}  {params}  ({seconds:.1f} s)"
    return f"{line}  {note}" if note else line


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return ",".join(map(str, v))
    return str(v)


def _summary(study, out: Path, objective: str, log: Callable[[str], None]) -> dict[str, Any]:
    best = outputs.best_trial(study)
    n = len(study.get_trials(deepcopy=False))
    if best is None:
        log(f"no trial completed ({n} trials); see {out / outputs.TRIALS_CSV}")
        return {"best": None, "best_trial": None, "best_value": None, "n_trials": n}
    path = out / outputs.BEST
    log(f"best: trial {best.number} of {n}, {objective} {best.value:.5g} -> {path} "
        f"(run {out / 'trials' / f'{best.number:04d}'}; {out / REPORT})")
    return {"best": path, "best_trial": best.number, "best_value": best.value, "n_trials": n}
