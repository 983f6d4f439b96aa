"""k-means and hierarchical clustering wrappers: exact recovery of separated clusters, physics summaries."""
import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from physgen.analysis import LINKAGES, analyze_hierarchical, analyze_kmeans
from physgen.analysis.clustering import temperature_counts
from physgen.data import Dataset
from physgen.errors import UserError


def _blobs(sizes=(60, 40, 20), d=5, spread=0.3, seed=0):
    """Gaussian blobs at 10·e_0, 10·e_1, 10·e_2 (well separated: distance 14 vs spread 0.3)."""
    rng = np.random.default_rng(seed)
    centres = 10.0 * np.eye(3, d)
    truth = np.repeat(np.arange(3), sizes)
    x = centres[truth] + spread * rng.standard_normal((len(truth), d))
    return Dataset(x.astype(np.float32), "continuous"), truth


def _three_phases(n=90, L=8, flip=0.05, seed=0):
    """+ordered, −ordered (each spin flipped with probability ``flip``) and random lattices, n/3 each."""
    rng = np.random.default_rng(seed)
    sign = np.repeat([1, -1, 0], n // 3)
    x = np.where(rng.random((n, L, L)) < 0.5, 1, -1)
    ordered = sign != 0
    noise = np.where(rng.random((ordered.sum(), L, L)) < flip, -1, 1)
    x[ordered] = sign[ordered, None, None] * noise
    t = np.where(ordered, 1.5, 3.5)
    return Dataset(x.astype(np.int8), "spins", {"temperature": t}), sign


def test_kmeans_recovers_separated_blobs_and_orders_by_size():
    ds, truth = _blobs()
    r = analyze_kmeans(ds, 3, seed=1)
    assert adjusted_rand_score(truth, r.labels) == 1.0
    assert r.sizes() == [60, 40, 20]  # canonical order: decreasing size without magnetization
    np.testing.assert_allclose(r.centroids[:, :3], 10.0 * np.eye(3), atol=0.2)
    out = r.to_json()
    assert "cluster_magnetization" not in out and len(out["centroids"]) == 3


def test_kmeans_on_spins_finds_plus_minus_and_disordered():
    ds, sign = _three_phases()
    for on in ("raw", "pca"):
        r = analyze_kmeans(ds, 3, on=on, seed=0)
        out = r.to_json()
        # ordered by decreasing mean m: +(1 - 2 flip), ~0, -(1 - 2 flip)
        np.testing.assert_allclose(out["cluster_magnetization"], [0.9, 0.0, -0.9], atol=0.06)
        assert out["cluster_sizes"] == [30, 30, 30]
        assert out["cluster_mean_temperature"] == pytest.approx([1.5, 3.5, 1.5])
        assert adjusted_rand_score(sign, r.labels) == 1.0


def test_kmeans_k_bounds():
    ds, _ = _blobs()
    with pytest.raises(UserError, match="k = 121 must be between 1 and the number of samples"):
        analyze_kmeans(ds, 121)
    assert analyze_kmeans(ds, 1).sizes() == [120]
    assert sorted(analyze_kmeans(ds, 120, n_init=1).sizes()) == [1] * 120


@pytest.mark.parametrize("linkage", LINKAGES)
def test_every_linkage_recovers_separated_blobs(linkage):
    ds, truth = _blobs()
    r = analyze_hierarchical(ds, linkage, k=3)
    assert adjusted_rand_score(truth, r.labels) == 1.0
    z = r.extra["linkage_matrix"]
    assert z.shape == (119, 4) and np.all(np.diff(z[:, 2]) >= -1e-9)  # monotone merge heights
    assert z[-1, 3] == 120  # the root holds every point


@pytest.mark.parametrize("reduce", ["kmeans", "subsample"])
def test_large_data_is_reduced_before_linkage(reduce):
    ds, truth = _blobs(sizes=(300, 200, 100))
    r = analyze_hierarchical(ds, "ward", k=3, max_points=50, reduce=reduce, seed=2)
    assert r.extra["linkage_matrix"].shape == (49, 4)
    assert r.protocol["tree_points"] == 50 and reduce in r.protocol["reduction"]
    assert adjusted_rand_score(truth, r.labels) == 1.0  # every sample is labelled, not only the tree points


def test_cut_at_height_between_the_last_merges():
    ds, truth = _blobs()
    z = analyze_hierarchical(ds, "single", k=3).extra["linkage_matrix"]
    height = 0.5 * (z[-3, 2] + z[-2, 2])  # between the last within-blob merge and the first between-blob merge
    r = analyze_hierarchical(ds, "single", height=height)
    assert r.k == 3 and adjusted_rand_score(truth, r.labels) == 1.0
    assert analyze_hierarchical(ds, "single", height=z[-1, 2] + 1).k == 1


def test_hierarchical_on_spins_with_ward():
    ds, sign = _three_phases()
    out = analyze_hierarchical(ds, "ward", k=3).to_json()
    np.testing.assert_allclose(out["cluster_magnetization"], [0.9, 0.0, -0.9], atol=0.06)


def test_bad_linkage_and_reduction():
    ds, _ = _blobs()
    with pytest.raises(UserError, match="linkage: unknown linkage 'median'"):
        analyze_hierarchical(ds, "median")
    with pytest.raises(UserError, match="reduce: unknown reduction"):
        analyze_hierarchical(ds, "ward", max_points=10, reduce="magic")


def test_temperature_counts():
    labels = np.array([0, 1, 1, 2, 0])
    t = np.array([1.0, 1.0, 2.5, 2.5, 2.5])
    assert temperature_counts(labels, t, 3) == {"1": [1, 1, 0], "2.5": [1, 1, 1]}
