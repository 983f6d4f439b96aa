"""Classifier two-sample test (Lopez-Paz & Oquab 2017, arXiv:1610.06545; CaloChallenge 2024 AUC).

A scikit-learn classifier is trained to tell real (label 0) from generated (label 1) samples on one
stratified split and scored on the other by the ROC AUC: 0.5 means indistinguishable, 1 perfectly
separable.  The AUC's standard error is DeLong's (DeLong, DeLong & Clarke-Pearson 1988, Biometrics
44:837), in the fast midrank form of Sun & Xu 2014 (IEEE SPL 21:1389); the interval is normal,
``AUC ± z_level · SE`` clipped to [0, 1].
"""
from __future__ import annotations

import numpy as np

from physgen.errors import UserError
from physgen.stats import Estimate

CLASSIFIERS = ("hgb", "forest")


def make_classifier(name: str = "hgb", seed: int = 0):
    """``"hgb"``: HistGradientBoostingClassifier (default); ``"forest"``: RandomForestClassifier(200 trees)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

    if name == "hgb":
        return HistGradientBoostingClassifier(max_iter=200, early_stopping=True, validation_fraction=0.2,
                                              n_iter_no_change=10, random_state=seed)
    if name == "forest":
        return RandomForestClassifier(n_estimators=200, min_samples_leaf=5, random_state=seed, n_jobs=1)
    raise UserError(f"unknown classifier {name!r} (choose {', '.join(CLASSIFIERS)})")


def delong(y_true: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """ROC AUC and its DeLong standard error for binary labels ``(N,)`` and scores ``(N,)``."""
    import scipy.stats  # imported where used: commands that never call this skip loading scipy.stats

    y_true = np.asarray(y_true).astype(bool)
    pos, neg = np.asarray(scores, float)[y_true], np.asarray(scores, float)[~y_true]
    m, n = len(pos), len(neg)
    if m < 1 or n < 1:
        raise UserError("AUC needs at least one sample of each class")
    ranks = scipy.stats.rankdata(np.concatenate([pos, neg]))
    v10 = (ranks[:m] - scipy.stats.rankdata(pos)) / n          # P(score_pos > score_neg) per positive
    v01 = 1.0 - (ranks[m:] - scipy.stats.rankdata(neg)) / m    # same per negative
    auc = float(v10.mean())
    var = (v10.var(ddof=1) / m if m > 1 else 0.0) + (v01.var(ddof=1) / n if n > 1 else 0.0)
    return auc, float(np.sqrt(var))


def c2st_auc(real, fake, *, seed: int = 0, test_fraction: float = 0.5, classifier: str = "hgb",
             level: float = 0.68) -> Estimate:
    """AUC of a classifier separating ``real (N, ...)`` from ``fake (M, ...)`` on a held-out split.

    Rows are flattened to features; the split is stratified and seeded (``seed``), and the same seed
    fixes the classifier's randomness.  Returns an :class:`~physgen.stats.Estimate` (DeLong error).
    """
    import scipy.stats
    from sklearn.model_selection import train_test_split

    real = np.asarray(real, dtype=np.float64).reshape(len(real), -1)
    fake = np.asarray(fake, dtype=np.float64).reshape(len(fake), -1)
    if real.shape[1] != fake.shape[1]:
        raise UserError(f"samples have different numbers of features ({real.shape[1]} and {fake.shape[1]})")
    if min(len(real), len(fake)) < 4:
        raise UserError(f"C2ST needs at least 4 samples per side, got {len(real)} and {len(fake)}")
    x = np.concatenate([real, fake])
    y = np.concatenate([np.zeros(len(real), int), np.ones(len(fake), int)])
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_fraction, stratify=y, random_state=seed)
    clf = make_classifier(classifier, seed).fit(xtr, ytr)
    auc, se = delong(yte, clf.predict_proba(xte)[:, 1])
    z = scipy.stats.norm.ppf(0.5 + level / 2)
    return Estimate(auc, se, float(max(0.0, auc - z * se)), float(min(1.0, auc + z * se)), level, 0)
