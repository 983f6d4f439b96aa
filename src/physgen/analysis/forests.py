"""Phase classification with decision-tree ensembles (scikit-learn): random forest, bagging, one tree.

Target ``phase``: ordered (1) when T < Tc, disordered (0) otherwise, with the Onsager temperature of
the square-lattice Ising model Tc = 2J / ln(1 + √2) ≈ 2.269 J.  Target ``label``: ``/labels``.
Following Mehta et al. 2019 (Phys. Rep. 810, §VIII.F, the 40×40 Ising phases), the *critical region*
|T − Tc| < ``critical_half_width`` (default 0.3) is by default kept out of training and tested
separately: away from Tc the phases are easy (accuracy ≈ 1), near Tc finite-size fluctuations blur them.

Bagging averages B trees fitted on bootstrap resamples of the training set, reducing the variance of
the prediction (Breiman 1996, "Bagging predictors"); a random forest also draws a random subset of
√d features at each split to decorrelate the trees (Breiman 2001, "Random forests").  Each tree's
out-of-bag rows give a free validation estimate, the OOB score.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.ensemble import BaggingClassifier, RandomForestClassifier
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

from physgen.analysis import features
from physgen.data import Dataset
from physgen.errors import UserError, as_written

CRITICAL_HALF_WIDTH = 0.3
MODELS = ("random_forest", "bagging", "tree")


def critical_temperature(J: float = 1.0) -> float:
    """Onsager's Tc = 2|J| / ln(1 + √2) of the 2D square-lattice Ising model (``physgen.physics.onsager.T_C``;
    for J < 0 the Néel temperature of the antiferromagnet, the same by sublattice symmetry)."""
    from physgen.physics.onsager import T_C

    return float(T_C) * abs(float(J))


def phase_labels(temperature: np.ndarray, tc: float) -> np.ndarray:
    """``(N,)`` int: 1 = ordered (T < Tc), 0 = disordered (T >= Tc)."""
    return (np.asarray(temperature) < tc).astype(np.int64)


def critical_mask(temperature: np.ndarray, tc: float, half_width: float = CRITICAL_HALF_WIDTH) -> np.ndarray:
    """``(N,)`` bool: the critical region |T − Tc| < ``half_width``."""
    return np.abs(np.asarray(temperature, dtype=np.float64) - tc) < half_width


@dataclass
class ForestResult:
    """Accuracies (overall, away from Tc, in the critical region), OOB scores and feature importances.

    ``importances`` ``(d,)`` is the random forest's mean decrease in impurity; ``per_temperature`` maps
    ``f"{T:g}"`` to each model's test accuracy; ``variance`` is the bagging-vs-tree study.
    """

    accuracy: dict[str, dict[str, Any]]
    oob: dict[str, float | None]
    importances: np.ndarray
    per_temperature: dict[str, dict[str, float]] | None
    protocol: dict[str, Any]
    variance: dict[str, Any] | None = None
    classes: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        rf = self.accuracy["random_forest"]
        return {"test_accuracy": rf["test"]["value"], "critical_accuracy": rf["critical"]["value"]
                if rf.get("critical") else None,
                "noncritical_accuracy": rf["noncritical"]["value"] if rf.get("noncritical") else None,
                "oob_score": self.oob["random_forest"], "models": self.accuracy, "oob_scores": self.oob,
                "classes": self.classes, "per_temperature_accuracy": self.per_temperature,
                "bagging_variance": self.variance, "protocol": self.protocol}


def make_target(ds: Dataset, target: Literal["phase", "label"], *, tc: float | None = None
                ) -> tuple[np.ndarray, float | None]:
    """Class vector ``(N,)`` and the Tc used (None for labels); one-line UserError if unavailable."""
    if target == "phase":
        t = features.temperature(ds)
        if t is None:
            raise UserError(f"the file has no /conditions/temperature (use {as_written('target')} label)",
                            key="target", value="phase")
        tc = critical_temperature(float(ds.attrs.get("J", 1.0))) if tc is None else float(tc)
        return phase_labels(t, tc), tc
    if target == "label":
        if ds.labels is None:
            raise UserError(f"the file has no /labels (use {as_written('target')} phase for Ising data)",
                            key="target", value="label")
        return np.asarray(ds.labels, dtype=np.int64), tc
    raise UserError(f"unknown target {target!r}, expected phase or label", key="target")


def build_models(n_estimators: int, seed: int) -> dict[str, Any]:
    """Unfitted random forest and bagged trees (both with OOB scoring) and a single decision tree."""
    return {"random_forest": RandomForestClassifier(n_estimators=n_estimators, oob_score=True, random_state=seed),
            "bagging": BaggingClassifier(DecisionTreeClassifier(), n_estimators=n_estimators, oob_score=True,
                                         random_state=seed),
            "tree": DecisionTreeClassifier(random_state=seed)}


def split_rows(y: np.ndarray, critical: np.ndarray | None, *, test_fraction: float, train_on_critical: bool,
               seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row indices: a stratified split; critical rows go to the test set unless trained on."""
    rows = np.arange(len(y))
    held = np.zeros(len(y), bool) if critical is None or train_on_critical else critical
    pool = rows[~held]
    if len(np.unique(y[pool])) < 2:
        raise UserError(f"forest: the training rows contain only class {int(y[pool][0])}; "
                        "need both phases (temperatures on both sides of Tc) or at least two labels")
    counts = np.bincount(y[pool] - y.min())
    stratify = y[pool] if counts[counts > 0].min() >= 2 else None
    train, test = train_test_split(pool, test_size=test_fraction, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(np.concatenate([test, rows[held]]))


def analyze_forest(ds: Dataset, target: Literal["phase", "label"] = "phase", *, n_estimators: int = 50,
                   test_fraction: float = 0.25, critical_half_width: float = CRITICAL_HALF_WIDTH,
                   train_on_critical: bool = False, tc: float | None = None, variance_repeats: int = 5,
                   variance_estimators: int = 10, n_boot: int = 200, seed: int = 0) -> ForestResult:
    """Fit the three classifiers on a training split and score them on the test split.

    Accuracies carry bootstrap 68% intervals over test rows (:func:`physgen.stats.bootstrap`).  With a
    temperature the test rows are also scored inside and outside the critical region.
    """
    features.require_rows(ds, 4, "forest", "the classifier")
    y, tc = make_target(ds, target, tc=tc)
    t = features.temperature(ds)
    crit = None if t is None or tc is None else critical_mask(t, tc, critical_half_width)
    train, test = split_rows(y, crit, test_fraction=test_fraction, train_on_critical=train_on_critical, seed=seed)
    x = features.design_matrix(ds)
    accuracy, oob, correct = {}, {}, {}
    models = build_models(n_estimators, seed)
    for name, model in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "some inputs do not have OOB scores"
            model.fit(x[train], y[train])
        correct[name] = model.predict(x[test]) == y[test]
        accuracy[name] = _scores(correct[name], None if crit is None else crit[test], n_boot, seed)
        score = getattr(model, "oob_score_", None)
        oob[name] = float(score) if score is not None and math.isfinite(score) else None
    per_t = None if t is None else {f"{v:g}": {n: float(c[t[test] == v].mean()) for n, c in correct.items()}
                                    for v in np.unique(t[test])}
    variance = None if variance_repeats < 2 else bagging_variance(
        x[train], y[train], x[test], y[test], n_repeats=variance_repeats, n_estimators=variance_estimators, seed=seed)
    protocol = {"target": target, "tc": tc, "critical_region": None if crit is None else
                f"|T - Tc| < {critical_half_width:g}", "critical_half_width": critical_half_width,
                "train_on_critical": bool(train_on_critical), "test_fraction": test_fraction,
                "n_train": int(len(train)), "n_test": int(len(test)), "n_estimators": int(n_estimators),
                "classifiers": {"random_forest": "sklearn RandomForestClassifier (max_features=sqrt)",
                                "bagging": "sklearn BaggingClassifier of DecisionTreeClassifier",
                                "tree": "sklearn DecisionTreeClassifier"},
                "intervals": f"bootstrap over test rows, 68%, {n_boot} resamples", "seed": int(seed)}
    return ForestResult(accuracy, oob, models["random_forest"].feature_importances_.astype(np.float64), per_t,
                        protocol, variance, [int(c) for c in np.unique(y)])


def _scores(correct: np.ndarray, crit: np.ndarray | None, n_boot: int, seed: int) -> dict[str, Any]:
    """Accuracy with bootstrap interval on all test rows and, if given, inside/outside the critical region."""
    out: dict[str, Any] = {"test": _accuracy(correct, n_boot, seed)}
    if crit is not None:
        out["critical"] = _accuracy(correct[crit], n_boot, seed) if crit.any() else None
        out["noncritical"] = _accuracy(correct[~crit], n_boot, seed) if (~crit).any() else None
    return out


def _accuracy(correct: np.ndarray, n_boot: int, seed: int) -> dict[str, Any]:
    from physgen.stats import bootstrap

    est = bootstrap(np.mean, correct.astype(np.float64), n_boot=n_boot, level=0.68, rng=seed).to_json()
    return {**est, "n": int(correct.size)}


def bagging_variance(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, *,
                     n_repeats: int = 5, n_estimators: int = 10, seed: int = 0) -> dict[str, Any]:
    """Variance reduction by bagging: refit a single tree and a bagged ensemble on ``n_repeats``
    bootstrap resamples of the training set (``(n, d)``, drawn with replacement) and measure, over the
    repeats, the variance of each test point's predicted class probabilities (summed over classes,
    averaged over test points) and the spread of the test accuracy.
    """
    rng = np.random.default_rng(seed)
    classes = np.unique(y_train)
    probs: dict[str, list[np.ndarray]] = {"tree": [], "bagging": []}
    accs: dict[str, list[float]] = {"tree": [], "bagging": []}
    for r in range(n_repeats):
        idx = rng.integers(0, len(y_train), size=len(y_train))
        fitted = {"tree": DecisionTreeClassifier(random_state=seed + r),
                  "bagging": BaggingClassifier(DecisionTreeClassifier(), n_estimators=n_estimators,
                                               random_state=seed + r)}
        for name, model in fitted.items():
            model.fit(x_train[idx], y_train[idx])
            probs[name].append(_proba(model, x_test, classes))
            accs[name].append(float(np.mean(model.predict(x_test) == y_test)))
    out: dict[str, Any] = {"n_repeats": n_repeats, "n_estimators": n_estimators}
    for name in probs:
        p = np.stack(probs[name])  # (repeats, n_test, classes)
        out[name] = {"prediction_variance": float(p.var(axis=0).sum(axis=1).mean()),
                     "accuracy_mean": float(np.mean(accs[name])), "accuracy_std": float(np.std(accs[name])),
                     "accuracies": accs[name]}
    return out


def _proba(model: Any, x: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Predicted probabilities ``(n, len(classes))`` aligned to ``classes`` (a resample may miss a class)."""
    p = model.predict_proba(x)
    full = np.zeros((len(x), len(classes)))
    full[:, np.searchsorted(classes, model.classes_)] = p
    return full
