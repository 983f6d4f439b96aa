"""Classifier two-sample test: DeLong AUC and error, null ≈ 0.5 within errors, separated ≈ 1."""
import numpy as np
import pytest
import scipy.stats
from sklearn.metrics import roc_auc_score

from physgen.errors import UserError
from physgen.metrics import c2st_auc, delong


def test_delong_auc_matches_sklearn_and_bootstrap():
    """Measured over seeds 1000 k (k = 0–19, one thread): |DeLong SE / bootstrap SD − 1| = 0.017 ± 0.011 (largest
    0.041) against 0.1 (7.2 sd)."""
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(400, int), np.ones(300, int)]
    s = np.round(rng.normal(size=700) + 0.7 * y, 1)          # rounded: ties exercise the midranks
    auc, se = delong(y, s)
    assert auc == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    boot = [roc_auc_score(y[i], s[i]) for i in
            (np.r_[rng.choice(400, 400), 400 + rng.choice(300, 300)] for _ in range(1000))]
    assert se == pytest.approx(np.std(boot), rel=0.1)        # DeLong ≈ stratified bootstrap SE


def test_null_is_half_and_separated_is_one():
    """Same law: AUC consistent with 0.5 (Fisher p over 4 seeds > 0.01); 3σ apart: AUC > 0.95.  Power of
    the null check (benchmarks/power.py metrics, 20 repetitions): a 0.05σ shift of one feature is flagged
    0/20 (no shift: 1/20).  False-alarm rate 1% (the rule p > 0.01); over seeds s + 1000 k (k = 0–19, one
    thread) the combined p is 0.026–0.89 (0.23 at the test's seeds) and the separated AUC at least 0.9995."""
    pvals = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        est = c2st_auc(rng.normal(size=(600, 3)), rng.normal(size=(600, 3)), seed=seed)
        pvals.append(2 * scipy.stats.norm.sf(abs(est.value - 0.5) / est.error))
        assert est.ci_low <= est.value <= est.ci_high
    assert scipy.stats.combine_pvalues(pvals).pvalue > 0.01
    rng = np.random.default_rng(10)
    est = c2st_auc(rng.normal(size=(600, 3)), rng.normal(3.0, 1.0, size=(600, 3)), classifier="forest")
    assert est.value > 0.95 and est.ci_high <= 1.0


def test_same_seed_same_auc():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(300, 2)), rng.normal(0.5, 1.0, size=(300, 2))
    assert c2st_auc(a, b, seed=3).value == c2st_auc(a, b, seed=3).value


def test_bad_input():
    with pytest.raises(UserError, match="at least 4"):
        c2st_auc(np.zeros((2, 2)), np.zeros((9, 2)))
    with pytest.raises(UserError, match="unknown classifier"):
        c2st_auc(np.zeros((9, 2)), np.ones((9, 2)), classifier="svm")
    with pytest.raises(UserError, match="each class"):
        delong(np.zeros(5), np.arange(5.0))
