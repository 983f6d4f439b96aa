"""Built-in data: scikit-learn digits and the 2-D toys (samplers checked against their exact densities)."""
import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import ndtr

from physgen.data import load
from physgen.data.digits import load_digits
from physgen.data.toys import (CHECKER_SQUARES, TOYS, make_toy, sample_toy, toy_centers,
                               toy_log_density)
from physgen.errors import UserError


# --------------------------------------------------------------------------------------- digits
def test_digits_image_and_binary(cli, tmp_path):
    from sklearn.datasets import load_digits as sk

    ref = sk()
    ds = load_digits()
    assert ds.kind == "image" and ds.samples.shape == (1797, 8, 8) and ds.samples.dtype == np.float32
    np.testing.assert_array_equal(ds.samples, (ref.images / 16).astype(np.float32))
    assert ds.samples.min() == 0 and ds.samples.max() == 1
    np.testing.assert_array_equal(ds.labels, ref.target)
    code, stdout, err = cli("data", "digits", "--out", tmp_path / "d.h5", "--binarize", "0.25")
    assert code == 0, err
    binary = load(tmp_path / "d.h5")
    assert binary.kind == "binary" and binary.samples.dtype == np.uint8
    np.testing.assert_array_equal(binary.samples, (ref.images > 4).astype(np.uint8))  # 4/16 = 0.25, strict
    np.testing.assert_array_equal(binary.labels, ref.target)
    assert binary.attrs["source"] == "sklearn.datasets.load_digits" and "1797 digits" in stdout


# ------------------------------------------------------------------------------ toys: sampling
@pytest.mark.parametrize("name", TOYS)
def test_toys_are_seeded_and_shaped(name):
    a, b, c = make_toy(name, 500, seed=3), make_toy(name, 500, seed=3), make_toy(name, 500, seed=4)
    assert a.samples.shape == (500, 2) and a.samples.dtype == np.float32 and a.kind == "continuous"
    np.testing.assert_array_equal(a.samples, b.samples)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.samples, c.samples)
    assert a.attrs["toy"] == name and a.attrs["seed"] == 3


def _mixture_bin_probabilities(name, noise, edges):
    """Exact probability of each 2-D bin for an isotropic Gaussian mixture (product of normal CDFs)."""
    mu = toy_centers(name)
    px = ndtr((edges[None, 1:] - mu[:, :1]) / noise) - ndtr((edges[None, :-1] - mu[:, :1]) / noise)  # (K, B)
    py = ndtr((edges[None, 1:] - mu[:, 1:]) / noise) - ndtr((edges[None, :-1] - mu[:, 1:]) / noise)
    return np.einsum("ka,kb->ab", px, py) / len(mu)


def _chi2_pvalue(x, probs, edges):
    counts, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=[edges, edges])
    n, keep = len(x), probs.ravel() * len(x) >= 5
    f_obs = np.append(counts.ravel()[keep], n - counts.ravel()[keep].sum())
    f_exp = np.append(probs.ravel()[keep] * n, n - probs.ravel()[keep].sum() * n)
    return stats.chisquare(f_obs, f_exp).pvalue


@pytest.mark.parametrize("name,noise", [("ring", 0.1), ("grid", 0.05), ("ring", 0.3)])
def test_mixture_samples_follow_exact_bin_probabilities(name, noise):
    """Chi-square on bins one std wide, 3 seeds, Fisher-combined.  Power: noise 20% off is rejected.  False-alarm
    rate 10⁻³; over seeds s + 1000 k (k = 0–19, one thread) the combined p is 0.0068–0.98 (ring 0.1), 0.011–0.99
    (grid), 0.0071–1.0 (ring 0.3); the 20% wrong noise gives p = 0 (underflow) each time."""
    edges = np.linspace(-3.5, 3.5, int(round(7 / noise)) + 1)
    probs = _mixture_bin_probabilities(name, noise, edges)
    pvalues = [_chi2_pvalue(sample_toy(name, 20000, rng=np.random.default_rng(s), noise=noise)[0], probs, edges)
               for s in range(3)]
    assert stats.combine_pvalues(pvalues).pvalue > 1e-3
    wrong = sample_toy(name, 20000, rng=np.random.default_rng(9), noise=1.2 * noise)[0]
    assert _chi2_pvalue(wrong, probs, edges) < 1e-6


def test_checkerboard_samples_fill_only_even_squares_uniformly():
    """False-alarm rate 10⁻³; combined p over seeds 1000 k (k = 0–19, one thread) 0.015–0.96 (0.10 at seed 0)."""
    x, labels = sample_toy("checkerboard", 16000, rng=np.random.default_rng(0))
    cell = np.floor(x).astype(int)
    assert np.all((x >= -2) & (x < 2)) and np.all((cell.sum(1) % 2) == 0)
    np.testing.assert_array_equal(cell, CHECKER_SQUARES[labels].astype(int))
    counts = np.bincount(labels, minlength=8)
    pvalues = [stats.chisquare(counts).pvalue,
               stats.kstest(x[:, 0] - cell[:, 0], "uniform").pvalue,
               stats.kstest(x[:, 1] - cell[:, 1], "uniform").pvalue]
    assert stats.combine_pvalues(pvalues).pvalue > 1e-3


def test_moons_and_spiral_without_noise_lie_on_their_curves():
    x, y = sample_toy("moons", 400, rng=np.random.default_rng(0), noise=0.0)
    assert set(y.tolist()) == {0, 1}
    np.testing.assert_allclose(np.hypot(*x[y == 0].T), 1.0, atol=1e-12)            # upper moon: unit circle
    np.testing.assert_allclose(np.hypot(x[y == 1, 0] - 1, x[y == 1, 1] - 0.5), 1.0, atol=1e-12)
    x, arm = sample_toy("spiral", 400, rng=np.random.default_rng(0), noise=0.0)
    r = np.hypot(*x.T)
    assert r.max() <= 3 + 1e-12 and set(arm.tolist()) == {0, 1}
    # angle = pi * r (+ pi for the second arm), modulo 2 pi
    residual = np.angle(np.exp(1j * (np.arctan2(x[:, 1], x[:, 0]) - np.pi * r - np.pi * arm)))
    np.testing.assert_allclose(residual[r > 1e-6], 0.0, atol=1e-9)


# ------------------------------------------------------------------------------ toys: density
@pytest.mark.parametrize("name,noise", [("ring", 0.1), ("grid", 0.05), ("checkerboard", None), ("ring", 0.4)])
def test_log_density_is_normalised_and_matches_bin_probabilities(name, noise):
    h = 0.0125
    centers = np.arange(-4 + h / 2, 4, h)
    grid = np.stack(np.meshgrid(centers, centers, indexing="ij"), -1).reshape(-1, 2)
    p = np.exp(toy_log_density(name, grid, noise=noise)).reshape(len(centers), len(centers))
    assert p.sum() * h * h == pytest.approx(1.0, abs=2e-4)
    if name == "checkerboard":
        return
    edges = np.linspace(-4, 4, 9)  # unit bins; each holds 80 x 80 grid cells
    numeric = p.reshape(8, 80, 8, 80).sum(axis=(1, 3)) * h * h
    np.testing.assert_allclose(numeric, _mixture_bin_probabilities(name, noise, edges), atol=2e-4)


def test_log_density_values_and_torch_gradient():
    assert toy_log_density("checkerboard", [[-1.5, -1.5], [-1.5, -0.5], [2.5, 0.5]]).tolist() == \
        [-np.log(8), -np.inf, -np.inf]
    mu = toy_centers("ring")[0]  # (2, 0); the next mode is 1.53 away: its share is exp(-117)
    expected = -np.log(8) - np.log(2 * np.pi * 0.01)
    assert toy_log_density("ring", mu[None])[0] == pytest.approx(expected, rel=1e-12)
    x = torch.tensor([[2.05, -0.02], [1.9, 0.1]], dtype=torch.float64, requires_grad=True)
    logp = toy_log_density("ring", x)
    np.testing.assert_allclose(logp.detach().numpy(), toy_log_density("ring", x.detach().numpy()), rtol=1e-12)
    logp.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), -(x.detach().numpy() - mu) / 0.01, rtol=1e-9)  # score of N(mu, s^2)
    assert toy_log_density("grid", torch.zeros(3, 2, dtype=torch.float32)).dtype == torch.float32


def test_toy_argument_errors():
    with pytest.raises(UserError, match="unknown toy 'banana'"):
        make_toy("banana", 10)
    with pytest.raises(UserError, match="^n: number of samples must be >= 1"):
        make_toy("ring", 0)
    with pytest.raises(UserError, match="checkerboard' is uniform .* takes no noise"):
        make_toy("checkerboard", 10, noise=0.1)
    with pytest.raises(UserError, match="^noise: 0.0 must be finite and > 0"):
        make_toy("ring", 10, noise=0.0)
    with pytest.raises(UserError, match="'moons' has no analytic density"):
        toy_log_density("moons", np.zeros((1, 2)))
    with pytest.raises(UserError, match=r"shape \(N, 2\), got \(3,\)"):
        toy_log_density("ring", np.zeros(3))


def test_toy_cli(cli, tmp_path):
    code, _, err = cli("data", "toy", "grid", "--n", "50", "--seed", "7", "--noise", "0.2", "--out", tmp_path / "g.h5")
    assert code == 0, err
    ds = load(tmp_path / "g.h5")
    np.testing.assert_array_equal(ds.samples, make_toy("grid", 50, seed=7, noise=0.2).samples)
    assert ds.attrs["noise"] == 0.2 and ds.feature_names == ["x0", "x1"]
