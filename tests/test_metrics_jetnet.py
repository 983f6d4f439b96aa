"""JetNet's metrics (:mod:`physgen.metrics.jetnet`) against analytic values and independent implementations
on the same arrays: the jet mass of two particles, EFPs by explicit sums (and energyflow where installed), W1
of shifted Gaussians, the Fréchet distance by eigenvalues, the polynomial-kernel MMD² by explicit sums; and
``physgen evaluate`` on point clouds."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from physgen.data import save
from physgen.data.pointcloud import from_arrays
from physgen.metrics import jetnet as J


def _jets(n=300, p=20, shift=0.0, seed=0):
    rng = np.random.default_rng(seed)
    rel = np.zeros((n, p, 3))
    rel[..., 0] = rng.normal(shift, 0.1, (n, p))
    rel[..., 1] = rng.normal(0, 0.1, (n, p))
    rel[..., 2] = rng.exponential(size=(n, p))
    mask = np.arange(p)[None] < rng.integers(3, p + 1, n)[:, None]
    rel *= mask[..., None]
    rel[..., 2] /= rel[..., 2].sum(axis=1, keepdims=True)
    return rel, mask


def test_jet_mass_of_two_massless_particles():
    """m² = 2 p_T1 p_T2 (cosh Δη − cos Δφ) for massless particles."""
    rel = np.array([[[0.3, 0.1, 0.6], [-0.2, -0.25, 0.4], [0, 0, 0]]])
    mask = np.array([[1, 1, 0]], bool)
    expected = np.sqrt(2 * 0.6 * 0.4 * (np.cosh(0.5) - np.cos(0.35)))
    np.testing.assert_allclose(J.jet_mass(rel, mask), [expected], rtol=1e-12)


def test_graph_enumeration_counts():
    """Connected loop-free multigraphs with 1, 2, 3, 4 edges: 1, 2, 5, 12; all multigraphs with ≤ 4 edges
    (the empty one included): 36, JetNet's FPD set (Komiske et al. 2018, table 1)."""
    counts = np.bincount([len(g) for g in J.connected_graphs(4)])
    assert counts.tolist() == [0, 1, 2, 5, 12]
    assert len(J.efp_graphs(4)) == 36 and len(J.w1efp_graphs()) == 5


def test_efps_equal_explicit_sums():
    rel, mask = _jets(n=4, p=6)
    out = J.efps(rel, mask)
    conn = J.connected_graphs(4)
    for jet in range(4):
        z = rel[jet, :, 2] * mask[jet]
        th = np.hypot(rel[jet, :, None, 0] - rel[jet, None, :, 0], rel[jet, :, None, 1] - rel[jet, None, :, 1])
        for col, combo in enumerate(J.efp_graphs(4)):
            value = z.sum() if not combo else 1.0
            for i in combo:   # brute force over every vertex assignment
                g = conn[i]
                n = 1 + max(max(e) for e in g)
                grid = np.indices((6,) * n).reshape(n, -1).T
                value *= sum(np.prod(z[idx]) * np.prod([th[idx[a], idx[b]] for a, b in g]) for idx in grid)
            np.testing.assert_allclose(out[jet, col], value, rtol=1e-10, atol=1e-15)


def test_efps_match_energyflow():
    ef = pytest.importorskip("energyflow")
    rel, mask = _jets(n=20, p=15)
    mine = J.efps(rel, mask)
    for i, g in enumerate(J.connected_graphs(4)):
        efp = ef.EFP(list(g), measure="hadr", beta=1, normed=False, coords="ptyphim")
        theirs = [efp.compute(np.stack([r[m][:, 2], r[m][:, 0], r[m][:, 1]], axis=1)) for r, m in zip(rel, mask)]
        col = J.efp_graphs(4).index((i,))
        np.testing.assert_allclose(mine[:, col], theirs, rtol=1e-9)


def test_w1_of_shifted_gaussians_and_scipy():
    """Over seeds 1 + 1000 k (k = 0–19, one thread): |mean − 0.3| is 0.17 ± 0.17 of its tolerance 4σ + 0.02
    (largest 0.61; 4.8 sd inside)."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(20000, 1)), rng.normal(0.3, 1, size=(20000, 1))
    mean, std = J.w1_batches(x, y, n_eval=20000, n_batches=5, rng=2)
    assert abs(mean[0] - 0.3) < 4 * std[0] + 0.02
    assert abs(mean[0] - stats.wasserstein_distance(x[:, 0], y[:, 0])) < 4 * std[0] + 1e-3


def _fd_by_eigenvalues(a, b):
    m1, m2 = a.mean(0), b.mean(0)
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = np.sum(np.sqrt(np.clip(np.linalg.eigvals(c1 @ c2).real, 0, None)))
    return float(np.sum((m1 - m2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * root)


def test_fpd_analytic_gaussian_shift():
    """x ~ N(0, I₃), y ~ N(μ, I₃): after dividing by x's column maxima s, FD = Σ μ²/s² (+ 0 covariance term
    since both covariances scale alike); the extrapolated FPD agrees within 3 errors.  Over seeds 3 + 1000 k
    (k = 0–19, one thread): the deviation is 0.18 ± 0.18 of the tolerance 3σ + 10⁻⁴ (largest 0.70; 4.6 sd
    inside); the KPD of equal laws (test_kpd_batch_equals_explicit_unbiased_mmd) is 0.54 ± 0.54 of its error
    against 3 over seeds 6 + 1000 k (largest 2.0; 4.6 sd)."""
    from physgen.metrics.frechet import frechet_distance_samples

    rng = np.random.default_rng(3)
    x = rng.normal(size=(6000, 3))
    mu = np.array([0.2, 0.0, -0.1])
    y = rng.normal(size=(6000, 3)) + mu
    s = np.abs(x).max(axis=0)
    r = J.fpd_efp(x, y, n_batches=10, rng=4)
    assert abs(r["value"] - np.sum((mu / s) ** 2)) < 3 * r["error"] + 1e-4
    xs, ys = J.normalise(x, y)
    assert frechet_distance_samples(xs, ys) == pytest.approx(_fd_by_eigenvalues(xs, ys), rel=1e-6)
    assert r["sizes"][-1] <= 0.8 * 6000 and len(r["sizes"]) >= 5


def test_kpd_batch_equals_explicit_unbiased_mmd():
    import torch

    from physgen.metrics.mmd import kpd

    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(60, 4)), rng.normal(0.5, 1, size=(50, 4))
    k = lambda a, b: (a @ b.T / 4 + 1) ** 4  # noqa: E731
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    explicit = ((kxx.sum() - np.trace(kxx)) / (60 * 59) + (kyy.sum() - np.trace(kyy)) / (50 * 49) - 2 * kxy.mean())
    assert kpd(x, y, dtype=torch.float64) == pytest.approx(explicit, rel=1e-9)
    same = J.kpd_efp(rng.normal(size=(2000, 4)), rng.normal(size=(2000, 4)), batch_size=500, rng=6)
    assert abs(same["value"]) < 3 * same["error"] and same["batch_size"] == 500


def _write(path, shift, seed, n=400):
    rel, mask = _jets(n=n, shift=shift, seed=seed)
    save(from_arrays(rel, mask, names=list(J.RELATIVE)), path)


def test_evaluate_point_clouds(tmp_path, cli):
    _write(tmp_path / "r.h5", 0.0, 0)
    _write(tmp_path / "f.h5", 0.1, 1)
    code, out, err = cli("evaluate", "--real", tmp_path / "r.h5", "--fake", tmp_path / "f.h5", "--out",
                         tmp_path / "ev")
    assert code == 0, err
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert set(J.METRICS) <= set(m)
    for name in J.METRICS:
        assert m[name]["value"] is not None and m[name]["floor"] is not None and m[name]["error"] is not None
    assert set(m["w1p"]["per_feature"]) == set(J.RELATIVE)
    assert m["w1p"]["per_feature"]["eta_rel"]["value"] > 5 * m["w1p"]["per_feature"]["eta_rel"]["floor"]
    assert m["fpd"]["value"] > m["fpd"]["floor"]
    html = (tmp_path / "ev" / "report.html").read_text()
    assert "Particle and jet distributions" in html and "<img" in html
    code, _, err = cli("evaluate", "--real", tmp_path / "r.h5", "--fake", tmp_path / "f.h5", "--out",
                       tmp_path / "ev2", "--metrics", "kl")
    assert code == 2 and "for point clouds" in err and len(err.strip().splitlines()) == 1
