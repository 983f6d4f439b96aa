"""The trial's objective: sample as many events as the held-out set and score them (lower is better).

``kl``           mean over features of KL(held-out ‖ samples) on binned marginals (``metrics.json`` ``kl``);
``auc``          the classifier two-sample test's AUC, folded as max(AUC, 1 − AUC) so that 0.5 means
                 indistinguishable and either direction of separation counts (Lopez-Paz & Oquab 2017);
``observables``  χ²/dof of the Ising observables (⟨e⟩, ⟨|m|⟩, C, χ, U₄ per temperature) against the held-out
                 configurations, errors from 100 bootstrap resamples; spin data with temperatures only.

The numbers are :func:`physgen.metrics.evaluate.evaluate`'s, with one seed for every trial (common
random numbers: the same split, binning and classifier seed), so trials differ only by their models.
"""
from __future__ import annotations

import math

import numpy as np

from physgen.data import Dataset
from physgen.errors import UserError, as_written
from physgen.metrics.evaluate import evaluate

#: objective -> (evaluate's metric name, its entry in the result)
OBJECTIVES = {"kl": ("kl", "kl"), "auc": ("c2st", "c2st_auc"), "observables": ("observables", "observables")}
#: bootstrap resamples per objective: only the observables' χ² needs errors (z = Δ / error); the value
#: of the others does not depend on them
N_BOOT = {"kl": 0, "auc": 0, "observables": 100}


def check_objective(objective: str, ds: Dataset, condition: str | None) -> None:
    """Refuse an objective the data cannot give (``--objective`` names the problem)."""
    if objective not in OBJECTIVES:
        raise UserError(f"unknown (choose from {', '.join(OBJECTIVES)})", key="objective", value=objective)
    if objective != "observables":
        return
    if ds.kind != "spins":
        raise UserError(f"needs spin data, {as_written('data')} is of kind {ds.kind!r}", key="objective",
                        value="observables")
    temps = ds.conditions.get("temperature")
    if temps is None:
        raise UserError(f"needs /conditions/temperature in {as_written('data')}", key="objective", value="observables")
    if len(np.unique(temps)) > 1 and condition != "temperature":
        raise UserError(f"the data has several temperatures; pass {as_written('condition')} temperature",
                        key="objective", value="observables")


def sample_like(run, heldout: Dataset, condition: str | None, seed: int) -> Dataset:
    """``len(heldout)`` samples of ``run``; a conditioned run gives as many at each conditioning value as
    the held-out set has (one seeded call per value, seeds ``seed + i``)."""
    if condition is None:
        return run.sample(len(heldout), seed=seed)
    column = heldout.labels if condition == "labels" else heldout.conditions[condition]
    values, counts = np.unique(column, return_counts=True)
    cast = int if condition == "labels" else float
    parts = [run.sample(int(k), seed=seed + i, condition={condition: cast(v)})
             for i, (v, k) in enumerate(zip(values, counts))]
    return _concat(parts)


def _concat(parts: list[Dataset]) -> Dataset:
    first = parts[0]
    labels = None if first.labels is None else np.concatenate([p.labels for p in parts])
    conditions = {k: np.concatenate([p.conditions[k] for p in parts]) for k in first.conditions}
    mask = None if first.mask is None else np.concatenate([p.mask for p in parts])
    return Dataset(np.concatenate([p.samples for p in parts]), first.kind, conditions, labels, dict(first.attrs),
                   mask)


def reference(heldout: Dataset, condition: str | None) -> Dataset:
    """The held-out set as the metrics compare it: an unconditioned model is scored against the data
    pooled over its temperatures (the conditioning columns dropped)."""
    if condition == "temperature" or "temperature" not in heldout.conditions:
        return heldout
    if len(np.unique(heldout.conditions["temperature"])) == 1:
        return heldout
    kept = {k: v for k, v in heldout.conditions.items() if k != "temperature"}
    return Dataset(heldout.samples, heldout.kind, kept, heldout.labels, dict(heldout.attrs), heldout.mask)


def score(objective: str, heldout: Dataset, fake: Dataset, *, condition: str | None, seed: int) -> dict:
    """``{"value": float, "floor": float | None}``: the objective and its real-vs-real floor (the
    same metric between two halves of the held-out set: values near it cannot be told apart).
    A metric that cannot be computed raises UserError."""
    metric, name = OBJECTIVES[objective]
    real = reference(heldout, condition)
    if real is not heldout:
        fake = Dataset(fake.samples, fake.kind, {}, fake.labels, dict(fake.attrs), fake.mask)
    result = evaluate(real, fake, [metric], seed=seed, n_boot=N_BOOT[objective], names=("held-out", "samples"),
                      warn=lambda msg: None)[name]
    value, floor = result.get("value"), result.get("floor")
    if value is None or not math.isfinite(value):
        raise UserError(f"could not be computed ({result.get('skipped', 'no value')})", key="objective", value=objective)
    if objective == "auc":
        value = max(value, 1.0 - value)
        floor = None if floor is None else max(floor, 1.0 - floor)
    return {"value": float(value), "floor": None if floor is None else float(floor)}
