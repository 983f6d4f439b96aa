"""PCA wrapper: analytic eigen-spectra, the magnetization direction, any dataset kind."""
import numpy as np
import pytest

from physgen.analysis import analyze_pca
from physgen.analysis.pca import pearson
from physgen.data import Dataset


def _ordered_mixture(n, L, f, seed):
    """Fraction f of samples fully ordered (sign ±1 at random), the rest independent random spins.

    Population covariance (1 − f) I + f 11ᵀ: top eigenvalue (1 − f) + f L², trace L², so PC1 explains
    exactly f + (1 − f) / L² of the variance, along the uniform vector (the magnetization).
    """
    rng = np.random.default_rng(seed)
    x = np.where(rng.random((n, L, L)) < 0.5, 1, -1).astype(np.int8)
    ordered = rng.random(n) < f
    x[ordered] = np.where(rng.random(ordered.sum()) < 0.5, 1, -1).astype(np.int8)[:, None, None]
    return Dataset(x, "spins", {"temperature": np.where(ordered, 1.0, 4.0)})


def test_pc1_variance_matches_the_analytic_mixture_value():
    """Over seeds 1 + 1000 k (k = 0–19, one thread): |PC1 fraction − f − (1 − f)/L²| is 0.21 ± 0.14 of its
    tolerance 3 SE + 0.005 (largest 0.52; 5.6 sd inside); the largest other fraction 0.68 ± 0.01 of its bound
    (30 sd)."""
    L, f = 8, 0.5
    result = analyze_pca(_ordered_mixture(4000, L, f, seed=1), n_components=5, n_boot=50)
    expected = f + (1 - f) / L**2  # 0.5078
    ordered_fraction_noise = np.sqrt(f * (1 - f) / 4000)  # binomial spread of the realised f
    assert abs(result.explained_variance_ratio[0] - expected) < 3 * ordered_fraction_noise + 0.005
    # the remaining components share the isotropic (1 - f) noise: each near (1 - f) / L^2
    assert np.all(result.explained_variance_ratio[1:] < 2.0 * (1 - f) / L**2)
    w = result.components[0]
    np.testing.assert_allclose(np.abs(w), 1 / L, atol=0.02)  # uniform vector (1, ..., 1) / L
    assert result.pc1_magnetization["value"] > 0.999  # PC1 is oriented along +m
    assert result.pc1_magnetization["ci_low"] <= result.pc1_magnetization["value"] <= result.pc1_magnetization["ci_high"]


def test_projection_is_centred_data_times_components():
    ds = _ordered_mixture(300, 6, 0.3, seed=2)
    r = analyze_pca(ds, n_components=3, n_boot=0)
    x = ds.samples.reshape(300, -1).astype(np.float64)
    np.testing.assert_allclose(r.projections, (x - x.mean(0)) @ r.components.T, atol=1e-4)
    np.testing.assert_allclose(r.components @ r.components.T, np.eye(3), atol=1e-6)
    # PC1 projection = L * (m - <m>) up to sign for the uniform direction
    m = x.mean(1)
    assert abs(pearson(r.projections[:, 0], m)) > 0.99


def test_continuous_tabular_gaussian_spectrum_and_standardize():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((20000, 2)) * [3.0, 1.0]).astype(np.float32)  # variances 9 and 1
    ds = Dataset(x, "continuous", attrs={"feature_names": ["a", "b"]})
    r = analyze_pca(ds, n_components=5)
    np.testing.assert_allclose(r.explained_variance_ratio, [0.9, 0.1], atol=0.005)
    assert r.magnetization is None and "pc1_magnetization_correlation" not in r.to_json()
    std = analyze_pca(ds, standardize=True).explained_variance_ratio
    np.testing.assert_allclose(std, [0.5, 0.5], atol=0.02)  # independent unit-variance features


def test_json_has_per_temperature_pc1_and_is_serialisable():
    import json

    out = analyze_pca(_ordered_mixture(400, 6, 0.5, seed=4), n_components=2, n_boot=20).to_json()
    json.dumps(out, allow_nan=False)
    assert set(out["pc1_mean_abs_by_temperature"]) == {"1", "4"}
    # ordered samples sit at |PC1| ~ L·|m − <m>| ≈ 6, disordered ones near 0
    assert out["pc1_mean_abs_by_temperature"]["1"] > 4 * out["pc1_mean_abs_by_temperature"]["4"]
    assert out["cumulative_explained_variance"][-1] == pytest.approx(sum(out["explained_variance_ratio"]))


def test_pearson_edge_cases():
    a = np.arange(10.0)
    assert pearson(a, 2 * a + 1) == pytest.approx(1.0)
    assert pearson(a, -a) == pytest.approx(-1.0)
    assert pearson(a, np.ones(10)) == 0.0


def test_too_few_samples_is_a_user_error():
    from physgen.errors import UserError

    with pytest.raises(UserError, match="at least 2 samples"):
        analyze_pca(Dataset(np.ones((1, 4, 4), np.int8), "spins"))
