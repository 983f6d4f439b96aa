"""Hyperparameter search with Optuna: ``physgen tune MODEL --data F --trials N --trial-time S --out DIR``.

Each trial trains the model for a fixed wall time on a fixed split of the data, with values drawn by the
TPE sampler from a search space (:mod:`.space`, built in per family by :mod:`.defaults`), reports the
trainer's validation quality to a median pruner (:mod:`.pruning`), and is scored on held-out data with
physgen's own metrics (:mod:`.scoring`).  The study lives in SQLite inside ``DIR`` and continues when the
command is run again; ``best.toml``, ``trials.csv`` and ``report.html`` summarise it (docs/tune.md).

Modules: ``space`` (search space, TOML), ``defaults`` (built-in spaces), ``split`` (train/held-out
files), ``scoring`` (objectives), ``pruning`` (trainer callback), ``study`` (Optuna study),
``trial`` (one trial), ``outputs`` (best.toml, trials.csv), ``report`` (report.html), ``run`` (:func:`tune`).
Optuna is an optional dependency (``pip install 'physgen[tune]'``), imported on first use.
"""
from physgen.tune.defaults import default_space
from physgen.tune.run import tune
from physgen.tune.scoring import OBJECTIVES
from physgen.tune.space import Param, Space, load_space, parse_space

__all__ = ["OBJECTIVES", "Param", "Space", "default_space", "load_space", "parse_space", "tune"]
