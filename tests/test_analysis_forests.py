"""Tree ensembles: phase targets, the critical region, held-out protocol, OOB, bagging's variance reduction."""
import json
import math

import numpy as np
import pytest

from physgen.analysis import analyze_forest, bagging_variance, critical_mask, critical_temperature, phase_labels
from physgen.analysis.forests import make_target, split_rows
from physgen.data import Dataset
from physgen.errors import UserError

TC = 2.0 / math.log(1.0 + math.sqrt(2.0))


def _toy_phases(per_t=24, L=8, seed=0):
    """T < Tc: ordered lattices of random sign with 5% flipped spins; T >= Tc: independent random spins."""
    rng = np.random.default_rng(seed)
    temps = np.repeat(np.arange(1.0, 3.75, 0.25), per_t)
    x = np.where(rng.random((len(temps), L, L)) < 0.5, 1, -1)
    low = temps < TC
    sign = np.where(rng.random(low.sum()) < 0.5, 1, -1)[:, None, None]
    x[low] = sign * np.where(rng.random((low.sum(), L, L)) < 0.05, -1, 1)
    return Dataset(x.astype(np.int8), "spins", {"temperature": temps}, attrs={"J": 1.0})


def test_onsager_tc_and_phase_labels():
    assert critical_temperature() == pytest.approx(TC, rel=1e-12)
    assert critical_temperature(J=2.0) == pytest.approx(2 * TC, rel=1e-12)
    t = np.array([1.0, 2.2, TC, 2.5, 2.6])
    np.testing.assert_array_equal(phase_labels(t, TC), [1, 1, 0, 0, 0])
    np.testing.assert_array_equal(critical_mask(t, TC, 0.3), [False, True, True, True, False])


def test_critical_rows_are_held_out_of_training():
    t = np.repeat(np.arange(1.0, 3.75, 0.25), 10)
    y, crit = phase_labels(t, TC), critical_mask(t, TC)
    train, test = split_rows(y, crit, test_fraction=0.25, train_on_critical=False, seed=0)
    assert not crit[train].any() and crit[test].sum() == crit.sum()
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == len(t)
    train2, _ = split_rows(y, crit, test_fraction=0.25, train_on_critical=True, seed=0)
    assert crit[train2].any()


def test_forest_separates_toy_phases_away_from_tc():
    ds = _toy_phases()
    r = analyze_forest(ds, "phase", n_estimators=30, variance_repeats=0, n_boot=50, seed=0)
    out = r.to_json()
    json.dumps(out, allow_nan=False)
    assert out["noncritical_accuracy"] == 1.0 and out["oob_score"] == 1.0
    assert out["protocol"]["critical_region"] == "|T - Tc| < 0.3"
    assert out["protocol"]["tc"] == pytest.approx(TC)
    # critical rows are all in the test set: 2.0, 2.25 and 2.5 (|T - Tc| < 0.3), 24 each
    assert r.accuracy["random_forest"]["critical"]["n"] == 72
    assert set(out["per_temperature_accuracy"]) >= {"2", "2.25", "2.5"}
    assert r.importances.shape == (64,) and r.importances.sum() == pytest.approx(1.0)
    assert out["classes"] == [0, 1]


def test_label_target_on_blobs_without_temperature():
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1, 2], 40)
    x = (3.0 * np.eye(3, 6)[y] + rng.standard_normal((120, 6))).astype(np.float32)
    r = analyze_forest(Dataset(x, "continuous", labels=y), "label", n_estimators=40, variance_repeats=0,
                       n_boot=20)
    out = r.to_json()
    assert out["critical_accuracy"] is None and out["per_temperature_accuracy"] is None
    assert out["test_accuracy"] > 0.8 and out["classes"] == [0, 1, 2]
    # the most important features are the three informative ones
    assert set(np.argsort(r.importances)[-3:]) == {0, 1, 2}


def test_bagging_reduces_prediction_variance():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 400)
    x = y[:, None] * 0.8 + rng.standard_normal((400, 5))  # overlapping classes: single trees overfit
    v = bagging_variance(x[:300], y[:300], x[300:], y[300:], n_repeats=6, n_estimators=20, seed=0)
    assert v["bagging"]["prediction_variance"] < 0.5 * v["tree"]["prediction_variance"]
    assert v["bagging"]["accuracy_mean"] > v["tree"]["accuracy_mean"]
    assert len(v["tree"]["accuracies"]) == 6


def test_missing_targets_are_user_errors():
    spins = _toy_phases(per_t=2)
    with pytest.raises(UserError, match="target=label: the file has no /labels"):
        make_target(spins, "label")
    bare = Dataset(spins.samples, "spins")
    with pytest.raises(UserError, match="target=phase: the file has no /conditions/temperature"):
        make_target(bare, "phase")
    cold = Dataset(spins.samples, "spins", {"temperature": np.full(len(spins), 1.0)})
    with pytest.raises(UserError, match="only class 1"):
        analyze_forest(cold, "phase", variance_repeats=0)
