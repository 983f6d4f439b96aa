"""One trial: train ``MODEL`` with the trial's parameters for ``--trial-time`` seconds, then score it.

The trial trains through :func:`physgen.training.train` into ``DIR/trials/NNNN`` (a normal run
directory: ``physgen sample``/``evaluate`` work on it) on ``DIR/data/train.h5``, with the trial's values
as ``--set`` overrides and the :class:`~physgen.tune.pruning.QualityReporter` on the trainer's
``on_quality`` event; a pruned trial stops there.  A finished one is sampled as many times as the
held-out set has rows and scored by :mod:`physgen.tune.scoring`.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from physgen.data import Dataset
from physgen.tune.pruning import QualityReporter
from physgen.tune.scoring import sample_like, score
from physgen.tune.space import Space, to_sets


@dataclass
class TrialSetup:
    """What every trial of a study shares."""

    model: str
    space: Space
    train_data: Path
    heldout: Dataset
    directory: Path               # DIR/trials
    trial_time: float
    objective: str
    seed: int
    condition: str | None = None
    train: Callable[..., dict] | None = None     # physgen.training.train (replaceable in tests)
    load_run: Callable[..., Any] | None = None   # physgen.training.load_run

    def __post_init__(self) -> None:
        from physgen import training

        self.train = self.train or training.train
        self.load_run = self.load_run or training.load_run


def takes_callbacks(train: Callable[..., Any]) -> bool:
    """Whether ``train`` accepts ``callbacks=[(event, fn)]`` (needed for pruning)."""
    return "callbacks" in inspect.signature(train).parameters


def run_dir(setup: TrialSetup, number: int) -> Path:
    return setup.directory / f"{number:04d}"


def run_trial(trial, setup: TrialSetup) -> float:
    """Train, sample and score one Optuna ``trial``; returns the objective (lower is better).

    Raises ``optuna.TrialPruned`` when the median rule stopped the training; any
    :class:`~physgen.errors.UserError` (e.g. a diverged run) fails the trial."""
    import optuna

    values = setup.space.suggest(trial)
    out = run_dir(setup, trial.number)
    reporter = QualityReporter(trial)
    hooks = {"callbacks": reporter.callbacks()} if takes_callbacks(setup.train) else {}
    # each trial is a time budget of --trial-time seconds (no step budget): trials of every setting get equal time
    budget = [f"train.{k}=none" for k in ("steps", "epochs") if f"train.{k}" not in values]
    summary = setup.train(setup.model, data=setup.train_data, out=out, overwrite=True,
                          sets=[*to_sets(values), *budget], progress=False, max_time=setup.trial_time,
                          seed=setup.seed, condition=setup.condition, **hooks)
    trial.set_user_attr("steps", int(summary.get("steps", 0)))
    if reporter.pruned:
        raise optuna.TrialPruned(f"at report {reporter.reports} (score {reporter.last_score:.4g})")
    run = setup.load_run(out)
    fake = sample_like(run, setup.heldout, setup.condition, setup.seed)
    result = score(setup.objective, setup.heldout, fake, condition=setup.condition, seed=setup.seed)
    trial.set_user_attr("floor", result["floor"])
    return result["value"]
