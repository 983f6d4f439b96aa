"""The Optuna study: TPE sampler, median pruner, stored in SQLite inside the output directory.

``DIR/study.db`` holds every trial, so running the same command again continues the study up to
``--trials`` trials in all.  The settings that define the study (model, data, objective, space,
seed, trial time, condition) are stored with it; continuing with different ones is refused.

Sampler: the Tree-structured Parzen Estimator (Bergstra et al. 2011, NeurIPS) after
:func:`startup_trials` random trials, seeded from ``--seed`` and the number of trials already stored
(a continued study does not redraw its first random points).  Pruner: the median rule
(:mod:`physgen.tune.pruning`) after 5 completed trials, from the second report of a trial on.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from physgen.errors import UserError

STUDY_FILE = "study.db"
STUDY_NAME = "physgen-tune"
SETTINGS = "physgen_settings"
#: settings key -> the parameter of :func:`physgen.tune.tune` that sets it (named by the refusal)
PARAMETERS = {"model": "model", "data_sha256": "data", "objective": "objective", "space": "space_file",
              "seed": "seed", "trial_time": "trial_time", "condition": "condition"}


def optuna_module():
    """``optuna``, or a UserError telling how to install it."""
    try:
        import optuna
    except ImportError:
        raise UserError("physgen tune: needs optuna (pip install 'physgen[tune]')") from None
    optuna.logging.set_verbosity(logging.WARNING)
    return optuna


def startup_trials(n_trials: int) -> int:
    """Random trials before TPE models the history: a third of the budget, between 3 and 10."""
    return max(3, min(10, n_trials // 3))


def make_sampler(seed: int, n_trials: int, n_done: int):
    optuna = optuna_module()
    mixed = int(np.random.SeedSequence([seed, n_done]).generate_state(1)[0])
    return optuna.samplers.TPESampler(seed=mixed, n_startup_trials=startup_trials(n_trials))


def make_pruner():
    return optuna_module().pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2)


def open_study(directory: str | Path | None, settings: dict[str, Any], *, seed: int, n_trials: int):
    """Create or continue the study (in memory when ``directory`` is None); returns it.

    Trials left running by an interrupted command are marked failed."""
    optuna = optuna_module()
    if directory is None:
        storage = optuna.storages.InMemoryStorage()
    else:
        storage = optuna.storages.RDBStorage(f"sqlite:///{(Path(directory) / STUDY_FILE).resolve()}")
    probe = optuna.create_study(storage=storage, study_name=STUDY_NAME, direction="minimize", load_if_exists=True)
    stored = probe.user_attrs.get(SETTINGS)
    if stored is None:
        probe.set_user_attr(SETTINGS, settings)
    else:
        _check_same(stored, settings, directory)
    _fail_stale(probe)
    n_done = len(probe.get_trials(deepcopy=False))
    return optuna.load_study(study_name=STUDY_NAME, storage=storage, sampler=make_sampler(seed, n_trials, n_done),
                             pruner=make_pruner())


def _check_same(stored: dict, settings: dict, directory) -> None:
    for key, parameter in PARAMETERS.items():
        if stored.get(key) != settings.get(key):
            raise UserError(f"differs from the study in {directory} (stored: {stored.get(key)!r}); continue it "
                            "with the same settings or use another output directory", key=parameter)


def _fail_stale(study) -> None:
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(trial.number, state=TrialState.FAIL)


def finished(study) -> list:
    """Trials that count towards ``trials``: complete, pruned or failed."""
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL))
