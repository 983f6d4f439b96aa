"""The course's Ising results on equilibrated configurations from the foundation engine.

Data: the temperature set of the Mehta et al. (2019) Ising data, L = 40, T = 0.25, 0.50, …, 4.00, 50 samples
per temperature (10 chains × 5 samples), Wolff cluster updates from random starts (Wolff equilibrates the
low temperatures, where single-spin Metropolis from a random start freezes into stripes, and samples both
ordered signs), 50 burn-in sweeps, thinning 5 sweeps (τ_int(|m|) ≈ 0.5 sweeps at every T).  One file per
test session, shared by the tests (≈ 20 s to generate on one core).
"""
import numpy as np
import pytest

from physgen.analysis import analyze_forest, analyze_kmeans, analyze_pca
from physgen.data import load, save
from physgen.data.ising import simulate

MEHTA_T = 0.25 * np.arange(1, 17)


def _generate(size, per_t, chains, seed):
    return simulate(size, MEHTA_T, per_t, chains=chains, burn_in=50, thin=5, algorithm="wolff",
                    start="random", seed=seed)


@pytest.fixture(scope="session")
def mehta_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("mehta") / "ising_L40_mehta.h5"
    save(_generate(40, 50, 10, seed=7), path)
    return path


@pytest.mark.slow
def test_pc1_carries_half_the_variance_and_is_the_magnetization(mehta_file):
    r = analyze_pca(load(mehta_file), n_components=5, seed=0)
    assert 0.5 < r.explained_variance_ratio[0] < 0.56  # ≈ 0.52 on this temperature set
    assert r.explained_variance_ratio[1] < 0.02  # nothing else is collective
    assert abs(r.pc1_magnetization["value"]) > 0.95
    L = 40  # PC1 is the uniform vector: all weights ≈ ±1/L with one sign
    assert np.all(np.sign(r.components[0]) == np.sign(r.components[0][0]))
    np.testing.assert_allclose(np.abs(r.components[0]), 1 / L, rtol=0.2)


@pytest.mark.slow
def test_kmeans_three_clusters_are_plus_minus_and_disordered(mehta_file):
    out = analyze_kmeans(load(mehta_file), 3, seed=0).to_json()
    m = out["cluster_magnetization"]  # ordered by decreasing m
    assert abs(m[0] - 0.95) < 0.05 and abs(m[2] + 0.95) < 0.05 and abs(m[1]) < 0.05
    # the disordered cluster holds the high temperatures, the ordered ones the low temperatures
    counts = out["cluster_temperature_counts"]
    assert counts["4"][1] == 50 and counts["0.25"][1] == 0


@pytest.mark.slow
def test_forest_separates_phases_away_from_tc(mehta_file):
    r = analyze_forest(load(mehta_file), "phase", n_estimators=50, variance_repeats=0, seed=0)
    out = r.to_json()
    assert out["noncritical_accuracy"] > 0.99
    assert out["critical_accuracy"] < out["noncritical_accuracy"]
    assert out["oob_score"] > 0.99  # trained only away from Tc
    assert out["protocol"]["critical_region"] == "|T - Tc| < 0.3"


def test_small_lattice_pca_and_kmeans_on_engine_data():
    """A quick version for the default suite: L = 16, 12 samples per temperature."""
    ds = _generate(16, 12, 4, seed=3)
    r = analyze_pca(ds, n_components=3, n_boot=50)
    assert r.explained_variance_ratio[0] > 0.5 and abs(r.pc1_magnetization["value"]) > 0.95
    m = analyze_kmeans(ds, 3, seed=0).to_json()["cluster_magnetization"]
    assert m[0] > 0.85 and m[2] < -0.85 and abs(m[1]) < 0.15
